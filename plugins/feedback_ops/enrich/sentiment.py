"""Local sentiment model: logistic regression on MiniLM sentence embeddings plus VADER lexicon scores.

Features: the text's 384-dimensional MiniLM embedding and the four scores of the VADER lexicon
(``vaderSentiment``, MIT; negative, neutral and positive shares and the compound score) over the text's first
``LEXICON_CHARS`` characters, about the 128 word pieces the embedder reads. The lexicon knows intensity,
negation, emoji and slang that 3,000 review sentences cannot teach; the embedding knows what the lexicon
has no entry for.

Trained on the UCI Sentiment Labelled Sentences (``include/training/uci_sentiment``; 3,000 polar review
sentences). The artifact is a small ``.npz`` (weights + metadata, no pickle) under ``settings.models_dir``
whose name carries a fingerprint of the training files, the embedder version, the lexicon version and the
hyperparameters: changing any of them means a new artifact, trained automatically on first use (or with
``python -m feedback_ops.enrich.train``).

The model gives P(positive); the score is ``2p - 1`` in [-1, 1], optionally blended with a star rating or an
NPS score, and the label comes from a neutral band (the training data has no neutral class).

Measured on the 12,284 TweetEval test tweets (evaluation-only data, never trained on;
``bench/bench_enrich_local.py``): macro-recall 0.609, macro-F1 0.609, against 0.570 / 0.572 for the
embedding-only model (float32, 256 tokens, band -0.5 / 0.4). On the project's golden set,
sentiment macro-F1 0.650 (embedding-only: 0.607). Rejected, measured on TweetEval val: a 3-class model whose neutral class
came from permissive data (Banking77 / Bitext questions, or CFPB sentences without lexicon sentiment):
neutral recall 0.35-0.45, macro-recall at most 0.59, because those "neutral" texts are questions and
complaint narratives, nothing like a neutral statement; VADER alone: 0.57.

Alternatives measured against a 0.65 macro-recall target (each with its band chosen on TweetEval val; val /
test macro-recall): this model 0.616 / 0.605; the score averaged with VADER's compound (weights
0.25-1.0) 0.615-0.621 / 0.594-0.607; a 3-class regression with 1,500-3,000 Banking77 / Bitext questions as
neutral 0.610-0.619 / 0.601-0.610; TextBlob polarity and subjectivity as two more features 0.620 / 0.614
(and subjectivity as a neutral rule: 0.587 / 0.565); standardized features (C 0.01-0.1) 0.553-0.590 /
0.563-0.597; VADER features scaled x3 / x10 0.612-0.613 / 0.610-0.611; a strong VADER compound pulling an
item out of the neutral band 0.616 / 0.604. None reaches 0.65: the ceiling is the signal (MiniLM embeddings
and 3,000 review sentences, no permissively licensed tweets or neutral statements), not the classifier on
top.

Also measured (same protocol; val / test macro-recall): all-MiniLM-L6-v2 fine-tuned end to end on the
3,000 UCI sentences (binary head, 3 epochs, lr 3e-5, 64 tokens, label smoothing 0.1; about 20 CPU-minutes on
the shared 2 cores), then this module's regression (C 0.1) on its embeddings: 0.628 / 0.623 (neutral recall
0.36); its head alone 0.579 / 0.593; that score shrunk by VADER's neutral share (``s * (1 - 0.9 neu)``) 0.645
/ 0.630; averaged with the current model's score, then shrunk, 0.647 / 0.632 at best. Those need a second
encoder pass per record (about half the cheap-pass throughput) for +0.02, short of the target. Without a second
encoder: the neutral-share shrink on the current score 0.632 / 0.614, plus an intensity cue ("!", elongated
words, emoticons) 0.642 / 0.618, C 0.3 0.636 / 0.617: gains on val that mostly do not carry to test.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.embed.base import Embedder
from feedback_ops.enrich.schemas import SentimentLabel

if TYPE_CHECKING:
    import numpy

TRAINING_SUBDIR = "uci_sentiment"
TRAINING_GLOB = "*_labelled.txt"
REGULARIZATION_C = 1.0
"""On TweetEval val (3-class macro-recall, best band each) 0.3 scored 0.623 and 1.0 0.612; 1.0 is kept because
0.3 flattens the scores: the urgency rule for strongly negative incidents (``urgency.STRONG_NEGATIVE``) then
fired less and urgent recall on the golden set fell from 0.54 to 0.42 (TweetEval test: 0.610 vs 0.609)."""
CV_FOLDS = 5
LEXICON_CHARS = 600
FEATURES = "minilm+vader4"
"""Names the feature layout; part of the fingerprint."""
NEGATIVE_BELOW = -0.55
POSITIVE_ABOVE = 0.55
"""The neutral band, the only numbers fitted on labelled 3-class data: grid-searched (steps of 0.05) for
macro-recall on the 2,000 TweetEval **validation** tweets (evaluation-only data: used to pick these two
numbers and ``REGULARIZATION_C``, never trained on; no permissively licensed 3-class set has neutral
statements). The TweetEval test file is only ever used to report. The band is wide, which also keeps plain
support requests ("I want a refund") neutral rather than negative."""
RATING_WEIGHT = 0.5
"""Weight of an explicit rating against the text model when both are present."""


def _lexicon_version() -> str:
    from importlib.metadata import version

    return version("vaderSentiment")


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    """The VADER analyzer (its lexicon ships inside the ``vaderSentiment`` package; nothing is downloaded)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon_features(texts: Sequence[str]) -> numpy.ndarray:
    """VADER's negative, neutral and positive shares and compound score of each text's head: shape ``(n, 4)``."""
    import numpy

    analyzer = _analyzer()
    scores = (analyzer.polarity_scores(text[:LEXICON_CHARS]) for text in texts)
    rows = [(score["neg"], score["neu"], score["pos"], score["compound"]) for score in scores]
    return numpy.asarray(rows, dtype=numpy.float64).reshape(len(texts), 4)


def model_features(embeddings: numpy.ndarray, texts: Sequence[str]) -> numpy.ndarray:
    """The model's input: each embedding followed by its text's lexicon features."""
    import numpy

    return numpy.hstack([embeddings.astype(numpy.float64), lexicon_features(texts)])


@dataclass(frozen=True)
class SentimentModel:
    """A trained logistic regression over embeddings and lexicon scores, with the metadata it was trained from."""

    coef: numpy.ndarray
    intercept: float
    fingerprint: str
    cv_accuracy: float
    n_train: int

    @property
    def version(self) -> str:
        """``logreg-<fingerprint12>``: changes with the training data, embedder and hyperparameters."""
        return f"logreg-{self.fingerprint[:12]}"

    def positive_probability(self, embeddings: numpy.ndarray, texts: Sequence[str]) -> numpy.ndarray:
        """P(positive) for each text, given its embedding (row i of ``embeddings`` belongs to ``texts[i]``)."""
        import numpy

        logits = model_features(embeddings, texts) @ self.coef + self.intercept
        return 1.0 / (1.0 + numpy.exp(-logits))

    def save(self, path: Path) -> None:
        """Write the model atomically (a concurrent reader never sees a half-written file)."""
        import numpy

        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            numpy.savez(
                handle,
                coef=self.coef,
                intercept=numpy.float64(self.intercept),
                fingerprint=numpy.str_(self.fingerprint),
                cv_accuracy=numpy.float64(self.cv_accuracy),
                n_train=numpy.int64(self.n_train),
            )
        os.replace(handle.name, path)

    @classmethod
    def load(cls, path: Path) -> SentimentModel:
        """Read a model written by ``save``."""
        import numpy

        with numpy.load(path, allow_pickle=False) as data:
            return cls(
                coef=data["coef"],
                intercept=float(data["intercept"]),
                fingerprint=str(data["fingerprint"]),
                cv_accuracy=float(data["cv_accuracy"]),
                n_train=int(data["n_train"]),
            )


def training_files(training_dir: Path) -> list[Path]:
    """The labelled-sentence files of the training set, in a stable order."""
    files = sorted((Path(training_dir) / TRAINING_SUBDIR).glob(TRAINING_GLOB))
    if not files:
        raise FileNotFoundError(f"no {TRAINING_GLOB} files under {Path(training_dir) / TRAINING_SUBDIR}")
    return files


def load_training_data(training_dir: Path) -> tuple[list[str], list[int]]:
    """Sentences and labels (1 = positive) from ``sentence<TAB>label`` lines."""
    sentences: list[str] = []
    labels: list[int] = []
    for path in training_files(training_dir):
        for line in path.read_text(encoding="utf-8").splitlines():
            sentence, _, label = line.rpartition("\t")
            if sentence.strip() and label.strip() in ("0", "1"):
                sentences.append(sentence.strip())
                labels.append(int(label))
    return sentences, labels


def training_fingerprint(training_dir: Path, embedder_version: str) -> str:
    """sha256 over the training files, the embedder and lexicon versions and the hyperparameters."""
    parameters = (
        f"{embedder_version}|C={REGULARIZATION_C}|{FEATURES}|vader-{_lexicon_version()}|{LEXICON_CHARS}"
    )
    digest = hashlib.sha256(f"{parameters}\n".encode())
    for path in training_files(training_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def artifact_path(models_dir: Path, fingerprint: str) -> Path:
    """Where the model trained with ``fingerprint`` is stored."""
    return Path(models_dir) / f"sentiment-logreg-{fingerprint[:12]}.npz"


def train_sentiment_model(training_dir: Path, embedder: Embedder) -> SentimentModel:
    """Featurize the training sentences, report stratified 5-fold CV accuracy, fit on everything."""
    import numpy
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    sentences, labels = load_training_data(training_dir)
    features = model_features(embedder.embed(sentences), sentences)
    targets = numpy.asarray(labels)
    classifier = LogisticRegression(C=REGULARIZATION_C, max_iter=2000)
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=0)
    cv_accuracy = float(cross_val_score(classifier, features, targets, cv=folds).mean())
    classifier.fit(features, targets)
    return SentimentModel(
        coef=classifier.coef_[0].astype(numpy.float64),
        intercept=float(classifier.intercept_[0]),
        fingerprint=training_fingerprint(training_dir, embedder.version),
        cv_accuracy=cv_accuracy,
        n_train=len(labels),
    )


def load_or_train(training_dir: Path, models_dir: Path, embedder: Embedder) -> SentimentModel:
    """The model for the current training data and embedder: loaded if its artifact exists, else trained and saved."""
    path = artifact_path(models_dir, training_fingerprint(training_dir, embedder.version))
    if path.exists():
        return SentimentModel.load(path)
    model = train_sentiment_model(training_dir, embedder)
    model.save(path)
    return model


def rating_score(rating: float | None, channel: str) -> float | None:
    """A rating as a sentiment score in [-1, 1]: NPS 0-6 / 7-8 / 9-10, or 1-5 stars linearly; None if absent.

    NPS is recognized by the ``nps`` channel or by a value above 5.
    """
    if rating is None:
        return None
    if channel == "nps" or rating > 5:
        return -1.0 if rating <= 6 else (0.0 if rating <= 8 else 1.0)
    return max(-1.0, min(1.0, (rating - 3.0) / 2.0))


def sentiment_score(
    positive_probability: float, rating: float | None = None, channel: str = "other"
) -> float:
    """Score in [-1, 1]: ``2p - 1`` from the text, blended with the rating when there is one."""
    text_score = 2.0 * positive_probability - 1.0
    from_rating = rating_score(rating, channel)
    if from_rating is None:
        return text_score
    return (1.0 - RATING_WEIGHT) * text_score + RATING_WEIGHT * from_rating


def sentiment_label(score: float) -> SentimentLabel:
    """negative below ``NEGATIVE_BELOW``, positive above ``POSITIVE_ABOVE``, neutral between."""
    if score < NEGATIVE_BELOW:
        return "negative"
    return "positive" if score > POSITIVE_ABOVE else "neutral"
