"""``LocalEnricher``: the local enrichment backend, in process and offline.

Per batch: redact PII -> detect language -> embed the redacted text (MiniLM) -> sentiment (logistic regression
on the embeddings and VADER lexicon scores, blended with a rating) -> category (logistic regression near its
training data, nearest taxonomy centroid elsewhere; ``feedback_ops.enrich.category``) -> urgency (rules) ->
confidence and ``needs_review``. The models are English: text identified as another language (or in a script
the language detector cannot place) is still classified, with halved confidence, always sent to review, and
says so in ``enrichment_notes`` ("language de not supported by the local models: ...").

The embeddings of the redacted text are returned with the results (``enrich_with_embeddings``) so the embed
stage can store them without embedding twice.

Reviewed examples (``use_reviewed_examples``, loaded by the runner from human review decisions): a record
nearly identical to a reviewed item takes the reviewer's labels (``feedback_ops.enrich.reviewed_examples``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.embed.base import Embedder
from feedback_ops.embed.factory import make_local_embedder
from feedback_ops.enrich import category as category_model
from feedback_ops.enrich.category import CategoryClassifier, CategoryPrediction, predict_all
from feedback_ops.enrich.language import detect_languages, latin_share
from feedback_ops.enrich.prompts import prompt_version
from feedback_ops.enrich.redact import Redaction, Redactor, load_redaction_config
from feedback_ops.enrich.schemas import (
    EnrichmentResult,
    FeedbackItem,
    cap_text,
    clip_to_contract,
    enrichment_version_of,
    lane_for,
    with_note,
)
from feedback_ops.enrich.sentiment import (
    SentimentModel,
    load_or_train,
    sentiment_label,
    sentiment_score,
    training_fingerprint,
)
from feedback_ops.enrich.taxonomy import load_taxonomy
from feedback_ops.enrich.urgency import UrgencyRules

if TYPE_CHECKING:
    import numpy

    from feedback_ops.enrich.reviewed_examples import ReviewedExamples, ReviewedMatch

MODEL_NAME = "local-minilm-logreg"
RULES_VERSION = "2"
"""Bump when the rules of this backend change (thresholds, urgency rules): it is part of the model version."""
REVIEW_BELOW = 0.5
TRUSTED_LANGUAGES = ("en", "und")
"""Languages the English models are trusted with; ``und`` is text too short or ambiguous to identify (mostly
English), when its letters are mostly Latin script."""
MIN_LATIN_SHARE = 0.5
"""Below this share of Latin letters the English models are not trusted, whatever the detected language."""
UNTRUSTED_LANGUAGE_FACTOR = 0.5
UNSUPPORTED_NOTE = (
    "language {language} not supported by the local models: labels are low-confidence, sent to review"
)
UNKNOWN_SCRIPT_NOTE = (
    "language not identified, mostly non-Latin script: the local models are English-only, labels are "
    "low-confidence, sent to review"
)


def with_reviewed_labels(row: dict[str, Any], match: ReviewedMatch | None) -> dict[str, Any]:
    """``row`` with the labels of the nearest reviewed example when there is one within the threshold.

    The confidence becomes the example's cosine similarity; the note says which decision the labels came from.
    """
    if match is None:
        return row
    notes = "; ".join(n for n in (row.get("enrichment_notes"), match.note) if n)
    return {
        **row,
        "category": match.category,
        "sentiment_label": match.sentiment_label,
        "urgency": match.urgency,
        "lane": lane_for(match.urgency),  # type: ignore[arg-type]
        "confidence": round(min(1.0, max(0.0, match.cosine)), 4),
        "needs_review": False,
        "enrichment_notes": notes,
    }


def local_model_version(
    embedder_version: str,
    sentiment_fingerprint: str,
    category_fingerprint: str,
    redactor_version: str,
    max_text_chars: int,
) -> str:
    """The local backend's model version: embedder, sentiment and category models (training fingerprints),
    rules and redaction versions, and the text cap (``Settings.max_text_chars``)."""
    sentiment = f"logreg-{sentiment_fingerprint[:12]}"
    categories = f"cat-logreg-{category_fingerprint[:12]}"
    rules = f"rules-{RULES_VERSION}.{redactor_version}+text{max_text_chars}"
    return f"{embedder_version}+{sentiment}+{categories}+{rules}"


def language_note(language: str, text: str) -> str | None:
    """Why the English models cannot be trusted with ``text`` (its detected ``language``), or None if they can."""
    if latin_share(text) < MIN_LATIN_SHARE:
        return UNKNOWN_SCRIPT_NOTE if language == "und" else UNSUPPORTED_NOTE.format(language=language)
    if language in TRUSTED_LANGUAGES:
        return None
    return UNSUPPORTED_NOTE.format(language=language)


class LocalEnricher:
    """Enriches feedback items with local models; versions derive from models, prompts and taxonomy.

    Args:
        settings: paths of the taxonomy, prompts, training data and model artifacts (process settings if None).
        embedder: the embedder (the local MiniLM in the configured runtime, ``make_local_embedder``, if
            None); its version is part of the model version.
        id_patterns: redaction patterns for business identifiers (those of ``settings.redaction_config_path``
            if None).
    """

    model_name = MODEL_NAME

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        id_patterns: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.embedder = embedder or make_local_embedder(self.settings)
        self.redactor = Redactor(id_patterns, load_redaction_config(self.settings.redaction_config_path))
        self.taxonomy = load_taxonomy(self.settings.taxonomy_path)
        self.urgency_rules = UrgencyRules(self.taxonomy)
        self.prompt_version = prompt_version(self.settings.prompts_dir)
        self.sentiment_fingerprint = training_fingerprint(self.settings.training_dir, self.embedder.version)
        self.category_fingerprint = category_model.training_fingerprint(
            self.settings.training_dir, self.taxonomy, self.embedder.version, self.redactor.version
        )
        self._sentiment: SentimentModel | None = None
        self._categories: CategoryClassifier | None = None
        self.reviewed_examples: ReviewedExamples | None = None

    def use_reviewed_examples(self, examples: ReviewedExamples | None) -> None:
        """Label records nearly identical to a reviewed item with the reviewer's labels (None: stop)."""
        self.reviewed_examples = examples

    @property
    def taxonomy_version(self) -> str:
        """Declared taxonomy version + content hash."""
        return self.taxonomy.version

    @property
    def model_version(self) -> str:
        """Embedder, sentiment and category models (training fingerprints), rules and redaction versions, and the
        text cap (``settings.max_text_chars``)."""
        return local_model_version(
            self.embedder.version,
            self.sentiment_fingerprint,
            self.category_fingerprint,
            self.redactor.version,
            self.settings.max_text_chars,
        )

    @property
    def enrichment_version(self) -> str:
        """Hash of model, prompt and taxonomy versions: one enrichment row per item and value of this."""
        return enrichment_version_of(self.model_version, self.prompt_version, self.taxonomy_version)

    def load(self) -> tuple[SentimentModel, CategoryClassifier]:
        """The models, loaded (or trained, the first time) on first call; ``enrich`` calls it."""
        if self._sentiment is None:
            self._sentiment = load_or_train(
                self.settings.training_dir, self.settings.models_dir, self.embedder
            )
        if self._categories is None:
            model = category_model.load_or_train(
                self.settings.training_dir,
                self.settings.models_dir,
                self.taxonomy,
                self.embedder,
                prepare=lambda text: self.redactor.redact(text).text,
                preparation_version=self.redactor.version,
            )
            self._categories = CategoryClassifier(self.taxonomy, self.embedder, model)
        return self._sentiment, self._categories

    def enrich(self, items: Sequence[FeedbackItem]) -> list[EnrichmentResult]:
        """Enrich a batch of items (results in the same order)."""
        return self.enrich_with_embeddings(items)[0]

    def enrich_with_embeddings(
        self, items: Sequence[FeedbackItem]
    ) -> tuple[list[EnrichmentResult], numpy.ndarray]:
        """Enrich a batch and also return the embeddings of the redacted texts (row i belongs to item i).

        ``latency_ms`` of each result is the batch's wall time divided by its size (model loading excluded). A
        text longer than ``settings.max_text_chars`` is cut first (``cap_text``) and its row says so.

        Raises:
            pydantic.ValidationError: a row breaks the ``EnrichmentResult`` contract even once clipped to it
                (the runner isolates and quarantines that record).
        """
        sentiment, categories = self.load()
        started = time.perf_counter()
        capped = [cap_text(item.text, self.settings.max_text_chars) for item in items]
        redactions = [self.redactor.redact(text) for text, _ in capped]
        languages = detect_languages([redaction.text for redaction in redactions])
        texts = [redaction.text for redaction in redactions]
        embeddings = self.embedder.embed(texts)
        probabilities = sentiment.positive_probability(embeddings, texts)
        scores = [
            sentiment_score(float(probability), item.rating, item.channel)
            for probability, item in zip(probabilities, items, strict=True)
        ]
        positive = [sentiment_label(score) == "positive" for score in scores]
        predictions = predict_all(categories, embeddings, positive)
        version = self.enrichment_version
        rows = [
            self._row(version, *parts)
            for parts in zip(items, redactions, languages, scores, predictions, strict=True)
        ]
        rows = [
            {**row, "enrichment_notes": with_note(row["enrichment_notes"], note)}
            for row, (_, note) in zip(rows, capped, strict=True)
        ]
        if self.reviewed_examples is not None and len(self.reviewed_examples):
            matches = self.reviewed_examples.nearest(embeddings)
            rows = [with_reviewed_labels(row, match) for row, match in zip(rows, matches, strict=True)]
        latency_ms = (time.perf_counter() - started) * 1000.0 / max(len(items), 1)
        context = {"taxonomy": self.taxonomy}
        results = [
            EnrichmentResult.model_validate(
                clip_to_contract(EnrichmentResult, {**row, "latency_ms": latency_ms}), context=context
            )
            for row in rows
        ]
        return results, embeddings

    def _row(
        self,
        enrichment_version: str,
        item: FeedbackItem,
        redaction: Redaction,
        language: tuple[str, float],
        score: float,
        prediction: CategoryPrediction,
    ) -> dict[str, Any]:
        """One result row (without ``latency_ms``) from the item's model outputs."""
        label = sentiment_label(score)
        category = self.taxonomy.get(prediction.category)
        urgency = self.urgency_rules.assess(redaction.text, category, (label, score), item.severity)
        note = language_note(language[0], redaction.text)
        trusted = note is None
        confidence = prediction.confidence * (1.0 if trusted else UNTRUSTED_LANGUAGE_FACTOR)
        return {
            "feedback_id": item.feedback_id,
            "enrichment_version": enrichment_version,
            "text_hash": item.text_hash,
            "redacted_text": redaction.text,
            "redaction_counts": redaction.counts,
            "language": language[0],
            "language_confidence": language[1],
            "category": category.id,
            "sentiment_label": label,
            "sentiment_score": round(max(-1.0, min(1.0, score)), 4),
            "urgency": urgency,
            "confidence": round(confidence, 4),
            "needs_review": confidence < REVIEW_BELOW or not trusted,
            "lane": lane_for(urgency),
            "model_name": MODEL_NAME,
            "model_version": self.model_version,
            "prompt_version": self.prompt_version,
            "taxonomy_version": self.taxonomy_version,
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": 0.0,
            "enrichment_notes": note,
        }
