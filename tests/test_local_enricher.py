"""The local enrichment backend on real-looking feedback: labels, redaction, versions, schema.

The models are loaded (and the sentiment model trained into a temporary folder) once per session.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from feedback_ops.config import Settings
from feedback_ops.enrich.local import MODEL_NAME, LocalEnricher
from feedback_ops.enrich.schemas import EnrichmentResult, FeedbackItem

TEXTS = {
    "checkout": (
        "Checkout has been failing for two days, I was charged twice and still have no order. "
        "This is unacceptable! Contact me at angry.customer@example.com",
        "support_ticket",
    ),
    "praise": ("Absolutely love this app, the new update is fantastic and so easy to use!", "app_store"),
    "feature": ("It would be great if you could add an option to export my reports to PDF.", "survey"),
    "login": ("I can't log in since yesterday and the password reset email never arrives.", "chat"),
    "french": ("Je n'arrive pas à me connecter à mon compte depuis hier, c'est vraiment pénible.", "chat"),
}


@pytest.fixture(scope="session")
def enricher_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Project assets, but model artifacts in a temporary folder (nothing written under .local/)."""
    return dataclasses.replace(Settings(), models_dir=tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def enricher(enricher_settings: Settings) -> LocalEnricher:
    return LocalEnricher(enricher_settings)


@pytest.fixture(scope="session")
def enriched(enricher: LocalEnricher) -> tuple[dict[str, EnrichmentResult], np.ndarray]:
    items = [
        FeedbackItem(feedback_id=key, text_hash=f"h-{key}", text=text, channel=channel)
        for key, (text, channel) in TEXTS.items()
    ]
    results, vectors = enricher.enrich_with_embeddings(items)
    return {result.feedback_id: result for result in results}, vectors


def test_negative_checkout_failure_is_urgent(
    enriched: tuple[dict[str, EnrichmentResult], np.ndarray],
) -> None:
    result = enriched[0]["checkout"]
    assert result.sentiment_label == "negative"
    assert result.sentiment_score < -0.5
    assert result.category in ("bug", "billing")
    assert result.urgency in ("high", "critical")
    assert result.lane == "urgent"


def test_praise_is_positive_praise(enriched: tuple[dict[str, EnrichmentResult], np.ndarray]) -> None:
    result = enriched[0]["praise"]
    assert (result.sentiment_label, result.category, result.urgency) == ("positive", "praise", "low")
    assert result.lane == "micro_batch"
    assert not result.needs_review


def test_feature_request(enriched: tuple[dict[str, EnrichmentResult], np.ndarray]) -> None:
    result = enriched[0]["feature"]
    assert result.category == "feature_request"
    assert result.urgency == "low"


def test_login_failure_is_account_access_and_urgent(
    enriched: tuple[dict[str, EnrichmentResult], np.ndarray],
) -> None:
    result = enriched[0]["login"]
    assert result.category == "account_access"
    assert result.urgency == "critical"


def test_redacted_text_has_no_email(enriched: tuple[dict[str, EnrichmentResult], np.ndarray]) -> None:
    result = enriched[0]["checkout"]
    assert "@" not in result.redacted_text
    assert result.redacted_text.endswith("Contact me at [EMAIL]")
    assert result.redaction_counts == {"EMAIL": 1}
    assert json.loads(result.model_dump()["redaction_counts"]) == {"EMAIL": 1}


def test_non_english_is_classified_but_sent_to_review(
    enriched: tuple[dict[str, EnrichmentResult], np.ndarray],
) -> None:
    french, login = enriched[0]["french"], enriched[0]["login"]
    assert french.language == "fr"
    assert french.needs_review
    assert french.confidence < 0.5
    assert login.language == "en"
    assert french.enrichment_notes == (
        "language fr not supported by the local models: labels are low-confidence, sent to review"
    )
    assert french.model_dump()["enrichment_notes"] == french.enrichment_notes
    assert all(r.enrichment_notes is None for key, r in enriched[0].items() if key != "french")


def test_local_stamps(
    enricher: LocalEnricher, enriched: tuple[dict[str, EnrichmentResult], np.ndarray]
) -> None:
    for result in enriched[0].values():
        assert result.model_name == MODEL_NAME
        assert (result.tokens_in, result.tokens_out, result.cost_usd) == (0, 0, 0.0)
        assert result.latency_ms > 0
        assert result.enrichment_version == enricher.enrichment_version
        assert result.taxonomy_version == enricher.taxonomy_version
        assert result.model_version.startswith(f"{enricher.embedder.version}+logreg-")
        assert result.model_version.startswith("all-MiniLM-L6-v2@gt-0.1.0+t128-")


def test_embeddings_of_the_redacted_text_are_returned(
    enricher: LocalEnricher, enriched: tuple[dict[str, EnrichmentResult], np.ndarray]
) -> None:
    results, vectors = enriched
    assert vectors.shape == (len(TEXTS), 384)
    alone, raw = enricher.embedder.embed([results["checkout"].redacted_text, TEXTS["checkout"][0]])
    # Embedded alone rather than in the batch: the same vector up to the rounding of bfloat16 products.
    assert float(vectors[0] @ alone) > 0.9999
    assert float(vectors[0] @ raw) < float(vectors[0] @ alone)


def test_results_validate_against_the_schema(
    enricher: LocalEnricher, enriched: tuple[dict[str, EnrichmentResult], np.ndarray]
) -> None:
    context = {"taxonomy": enricher.taxonomy}
    row = enriched[0]["praise"].model_dump()
    assert EnrichmentResult.model_validate(row, context=context) == enriched[0]["praise"]
    with pytest.raises(ValidationError, match="not in taxonomy"):
        EnrichmentResult.model_validate({**row, "category": "weather"}, context=context)
    with pytest.raises(ValidationError):
        EnrichmentResult.model_validate({**row, "sentiment_score": 1.5}, context=context)
    with pytest.raises(ValidationError):
        EnrichmentResult.model_validate({**row, "urgency": "whenever"}, context=context)


def test_sentiment_artifact_is_written_to_the_settings_models_dir(
    enricher_settings: Settings, enriched: tuple[dict[str, EnrichmentResult], np.ndarray]
) -> None:
    artifacts = list(enricher_settings.models_dir.glob("sentiment-logreg-*.npz"))
    assert len(artifacts) == 1
    fingerprint = artifacts[0].stem.removeprefix("sentiment-logreg-")
    assert f"logreg-{fingerprint}" in enriched[0]["praise"].model_version


def test_version_changes_when_the_taxonomy_changes(
    enricher_settings: Settings, enricher: LocalEnricher, tmp_path: Path
) -> None:
    edited = tmp_path / "taxonomy.yaml"
    text = enricher_settings.taxonomy_path.read_text(encoding="utf-8")
    edited.write_text(text.replace("- Could you add support for Apple Pay?", "- Please add Google Pay."))
    other = LocalEnricher(dataclasses.replace(enricher_settings, taxonomy_path=edited))
    assert other.taxonomy_version != enricher.taxonomy_version
    assert other.enrichment_version != enricher.enrichment_version
    # The taxonomy is training data of the category model (not of the sentiment model).
    assert other.category_fingerprint != enricher.category_fingerprint
    assert other.sentiment_fingerprint == enricher.sentiment_fingerprint
    assert other.model_version != enricher.model_version


def test_version_changes_when_a_prompt_changes(
    enricher_settings: Settings, enricher: LocalEnricher, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(enricher_settings.prompts_dir, prompts)
    classify = prompts / "classify.md"
    classify.write_text(classify.read_text(encoding="utf-8") + "\nBe concise.\n", encoding="utf-8")
    other = LocalEnricher(dataclasses.replace(enricher_settings, prompts_dir=prompts))
    assert other.prompt_version != enricher.prompt_version
    assert other.enrichment_version != enricher.enrichment_version


def test_version_changes_with_the_redaction_patterns(
    enricher_settings: Settings, enricher: LocalEnricher
) -> None:
    other = LocalEnricher(enricher_settings, id_patterns={"TICKET_ID": r"\bTCK-\d{5}\b"})
    assert other.enrichment_version != enricher.enrichment_version


def test_version_changes_with_the_redaction_config_file(
    enricher_settings: Settings, enricher: LocalEnricher, tmp_path: Path
) -> None:
    shutil.copytree(enricher_settings.redaction_config_path.parent / "redaction", tmp_path / "redaction")
    edited = tmp_path / "redaction.yaml"
    text = enricher_settings.redaction_config_path.read_text(encoding="utf-8")
    edited.write_text(text.replace("id_patterns:\n", "id_patterns:\n  TICKET_ID: ['\\bTCK-\\d{5}\\b']\n", 1))
    other = LocalEnricher(dataclasses.replace(enricher_settings, redaction_config_path=edited))
    assert other.enrichment_version != enricher.enrichment_version
    assert other.redactor.redact("see TCK-12345").text == "see [TICKET_ID]"


CLEAR_SENTIMENT = {
    "negative": "This is the worst service I have ever had, I am furious and want my money back.",
    "neutral": "I moved last month, how do I update the delivery address on my account?",
    "positive": "Thank you so much, the support team was wonderful and fixed everything!",
}


def test_clear_sentiment_examples(enricher: LocalEnricher) -> None:
    items = [
        FeedbackItem(feedback_id=label, text_hash=label, text=text, channel="chat")
        for label, text in CLEAR_SENTIMENT.items()
    ]
    assert {r.feedback_id: r.sentiment_label for r in enricher.enrich(items)} == {
        label: label for label in CLEAR_SENTIMENT
    }


def test_lexicon_features_are_vader_scores_of_the_text_head() -> None:
    from feedback_ops.enrich.sentiment import LEXICON_CHARS, lexicon_features

    features = lexicon_features(["I love it!", "It is broken and awful.", "x" * LEXICON_CHARS + " terrible"])
    assert features.shape == (3, 4)
    assert features[0, 3] > 0.5 > -0.5 > features[1, 3]
    assert features[2, 3] == 0.0


def test_category_artifact_is_written_and_stamped_in_the_model_version(
    enricher_settings: Settings,
    enricher: LocalEnricher,
    enriched: tuple[dict[str, EnrichmentResult], np.ndarray],
) -> None:
    from feedback_ops.enrich.category import CategoryModel

    artifacts = list(enricher_settings.models_dir.glob("category-logreg-gated-*.npz"))
    assert len(artifacts) == 1
    fingerprint = artifacts[0].stem.removeprefix("category-logreg-gated-")
    assert f"+cat-logreg-{fingerprint}+" in enriched[0]["praise"].model_version
    loaded = CategoryModel.load(artifacts[0])
    trained = enricher.load()[1].model
    assert trained is not None and loaded.classes == trained.classes
    vectors = enriched[1]
    assert np.allclose(loaded.probabilities(vectors), trained.probabilities(vectors))
    # Neighbours are stored as float16: the gate's similarities move by rounding only.
    assert np.allclose(loaded.nearest_similarity(vectors), trained.nearest_similarity(vectors), atol=2e-3)


GATE_TEXTS = {
    # A BANKING77-style query: training texts are near, the trained model decides.
    "card": ("My new card still hasn't arrived after two weeks, where is it?", "delivery"),
    "cancel": ("i want help to cancel purchase 113542617735902", "other"),
    # Product reviews: nothing like them in BANKING77 or Bitext, the taxonomy centroids decide.
    "battery": ("The battery on this phone barely lasts an hour, it drains constantly.", "performance"),
    "idea": ("It would be nice if the app let me sort my reports by date.", "feature_request"),
}


def test_trained_model_decides_near_its_data_and_centroids_elsewhere(enricher: LocalEnricher) -> None:
    from feedback_ops.enrich.category import CategoryClassifier, predict_all

    _, categories = enricher.load()
    texts = [text for text, _ in GATE_TEXTS.values()]
    vectors = enricher.embedder.embed([enricher.redactor.redact(text).text for text in texts])
    scores = categories.scores(vectors)
    assert scores.trained.tolist() == [True, True, False, False]
    predicted = [p.category for p in predict_all(categories, vectors, [False] * len(texts))]
    assert predicted == [expected for _, expected in GATE_TEXTS.values()]
    centroids_only = CategoryClassifier(enricher.taxonomy, enricher.embedder)
    alone = predict_all(centroids_only, vectors, [False] * len(texts))
    # Where the gate is closed the answer and confidence are exactly the centroids'.
    assert [p.category for p in alone[2:]] == predicted[2:]
    assert np.allclose(scores.probabilities[2:], centroids_only.scores(vectors).probabilities[2:])
    assert np.allclose(scores.probabilities.sum(axis=1), 1.0)


def test_category_training_data_rejects_unknown_intents_and_missing_files(
    enricher_settings: Settings, tmp_path: Path
) -> None:
    from feedback_ops.enrich.category import (
        BANKING77_TRAINING,
        BITEXT_TRAINING,
        load_training_data,
        training_fingerprint,
    )
    from feedback_ops.enrich.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(enricher_settings.taxonomy_path)
    training = tmp_path / "training"
    for relative in (BANKING77_TRAINING, BITEXT_TRAINING):
        (training / relative).parent.mkdir(parents=True)
        shutil.copy(enricher_settings.training_dir / relative, training / relative)
    data = load_training_data(training, taxonomy)
    assert len(data.texts) == len(data.labels) == len(data.weights) > 12_000
    assert set(data.labels) == set(taxonomy.category_ids)
    before = training_fingerprint(training, taxonomy, "embedder-1", "prep-1")
    assert training_fingerprint(training, taxonomy, "embedder-2", "prep-1") != before

    bitext = training / BITEXT_TRAINING
    with bitext.open("a", encoding="utf-8") as handle:
        handle.write("what will the weather be tomorrow,weather_report,WEATHER,BL\n")
    assert training_fingerprint(training, taxonomy, "embedder-1", "prep-1") != before
    with pytest.raises(ValueError, match=r"intents without a taxonomy mapping: \['weather_report'\]"):
        load_training_data(training, taxonomy)
    bitext.unlink()
    with pytest.raises(FileNotFoundError, match="bitext_train.csv"):
        load_training_data(training, taxonomy)


def test_bitext_split_is_seeded_stratified_and_leaves_out_excluded_texts(
    enricher_settings: Settings, tmp_path: Path
) -> None:
    import csv
    from collections import Counter

    from feedback_ops.enrich.category import BITEXT_TRAINING
    from feedback_ops.enrich.train import write_bitext_split

    with (enricher_settings.training_dir / BITEXT_TRAINING).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    source = tmp_path / "bitext.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "response"])
        writer.writeheader()
        writer.writerows({**row, "response": "An agent's long answer."} for row in rows)
    excluded = {rows[0]["instruction"], rows[500]["instruction"]}
    first, second = tmp_path / "a" / "split.csv", tmp_path / "b" / "split.csv"
    assert write_bitext_split(source, first, excluded) == ((len(rows) - 2) // 2, len(rows))
    write_bitext_split(source, second, excluded)
    assert first.read_bytes() == second.read_bytes()
    with first.open(encoding="utf-8", newline="") as handle:
        chosen = list(csv.DictReader(handle))
    assert list(chosen[0]) == ["instruction", "intent", "category", "tags"]
    assert not excluded & {row["instruction"] for row in chosen}
    per_intent, total = Counter(row["intent"] for row in chosen), Counter(row["intent"] for row in rows)
    assert all(abs(per_intent[intent] - total[intent] / 2) <= 1.5 for intent in total)

    source.write_text("instruction,intent,category,tags\nhello,say_hello,GREETING,B\n", encoding="utf-8")
    with pytest.raises(ValueError, match="say_hello"):
        write_bitext_split(source, tmp_path / "c.csv", set())
