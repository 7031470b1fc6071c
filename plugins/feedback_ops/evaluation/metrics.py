"""Metrics of one backend run on the golden set, in plain Python (nothing heavy to import).

Conventions: a precision, recall or F1 whose denominator is zero is 0.0 (a class never predicted has
precision 0, not "undefined"); macro-F1 averages the classes that have gold support; percentiles use the
nearest-rank method. An item the backend returned no result for (quarantined or deferred) counts as
predicted ``NO_OUTPUT`` and is therefore wrong on every label.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from feedback_ops.evaluation.golden import URGENT_LEVELS, GoldenRecord, leaked_pii

NO_OUTPUT = "(no output)"
SENTIMENTS = ("negative", "neutral", "positive")
URGENCIES = ("low", "medium", "high", "critical")
DIGITS = 4


@dataclass(frozen=True)
class Prediction:
    """What a backend answered for one golden record (labels ``NO_OUTPUT`` when it answered nothing)."""

    id: str
    category: str
    sentiment: str
    urgency: str
    latency_ms: float | None = None
    cost_usd: float = 0.0
    redacted_text: str | None = None
    language: str | None = None
    confidence: float | None = None
    needs_review: bool | None = None
    status: str = "ok"

    @classmethod
    def missing(cls, record_id: str, status: str) -> Prediction:
        """The prediction of an item the backend quarantined or deferred."""
        return cls(record_id, NO_OUTPUT, NO_OUTPUT, NO_OUTPUT, status=status)


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class, with its gold support and how often it was predicted."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (gold, predicted) pairs: ``rows`` are gold labels, ``columns`` predicted labels."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: labels and the matrix as nested lists."""
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "counts": [list(r) for r in self.counts],
        }


@dataclass(frozen=True)
class UrgencyScores:
    """Urgent = high or critical: recall of urgent items, false-positive rate among non-urgent items."""

    recall: float
    false_positive_rate: float
    precision: float
    urgent_gold: int
    urgent_predicted: int
    critical_recall: float


@dataclass(frozen=True)
class GroupScores:
    """Headline figures on a subset of the golden set (one source data set, one language group)."""

    group: str
    rows: int
    category_accuracy: float
    category_macro_f1: float
    sentiment_macro_f1: float
    urgent_recall: float | None


@dataclass
class EvaluationMetrics:
    """Every figure of one run; ``headline`` is what baselines and the regression gate compare."""

    rows: int
    answered: int
    category: list[ClassScores]
    category_accuracy: float
    category_macro_f1: float
    category_confusion: ConfusionMatrix
    sentiment: list[ClassScores]
    sentiment_macro_f1: float
    sentiment_accuracy: float
    sentiment_confusion: ConfusionMatrix
    urgency: UrgencyScores
    urgency_accuracy: float
    urgency_confusion: ConfusionMatrix
    latency_ms_median: float | None
    latency_ms_p95: float | None
    cost_usd_total: float
    cost_per_1000_usd: float
    pii_rows: int
    pii_leaks: int
    """Rows with PII of which something survived redaction (an unanswered row leaks nothing)."""
    pii_leaked_ids: list[str] = field(default_factory=list)
    by_source: list[GroupScores] = field(default_factory=list)
    by_language: list[GroupScores] = field(default_factory=list)

    @property
    def category_f1(self) -> dict[str, float]:
        """F1 per category."""
        return {scores.label: scores.f1 for scores in self.category}

    def headline(self) -> dict[str, Any]:
        """The figures a baseline stores and the regression gate compares."""
        return {
            "category_f1": self.category_f1,
            "category_macro_f1": self.category_macro_f1,
            "urgent_recall": self.urgency.recall,
            "urgent_false_positive_rate": self.urgency.false_positive_rate,
            "sentiment_macro_f1": self.sentiment_macro_f1,
            "pii_leaks": self.pii_leaks,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form of every figure."""
        data = asdict(self)
        for name in ("category_confusion", "sentiment_confusion", "urgency_confusion"):
            data[name] = getattr(self, name).as_dict()
        return data


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, DIGITS) if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), DIGITS) if precision + recall else 0.0


def class_scores(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str]) -> list[ClassScores]:
    """Precision, recall, F1, support and predicted count per label, one-vs-rest."""
    pairs = list(zip(gold, predicted, strict=True))
    scores = []
    for label in labels:
        true_positive = sum(g == label and p == label for g, p in pairs)
        support = sum(g == label for g, _ in pairs)
        predicted_count = sum(p == label for _, p in pairs)
        precision = _ratio(true_positive, predicted_count)
        recall = _ratio(true_positive, support)
        scores.append(ClassScores(label, precision, recall, _f1(precision, recall), support, predicted_count))
    return scores


def macro_f1(scores: Sequence[ClassScores]) -> float:
    """Mean F1 over the classes with gold support."""
    supported = [s.f1 for s in scores if s.support]
    return round(sum(supported) / len(supported), DIGITS) if supported else 0.0


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of items whose predicted label equals the gold label."""
    return _ratio(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold))


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> ConfusionMatrix:
    """Rows = gold labels (``labels``), columns = ``labels`` plus any other predicted value (``NO_OUTPUT``)."""
    extra = sorted(set(predicted) - set(labels))
    columns = (*labels, *extra)
    pairs = Counter(zip(gold, predicted, strict=True))
    counts = tuple(tuple(pairs[(row, column)] for column in columns) for row in labels)
    return ConfusionMatrix(tuple(labels), columns, counts)


def urgency_scores(gold: Sequence[str], predicted: Sequence[str]) -> UrgencyScores:
    """Urgent recall, false-positive rate and precision; recall of ``critical`` as urgent."""
    pairs = list(zip(gold, predicted, strict=True))
    urgent_gold = sum(g in URGENT_LEVELS for g, _ in pairs)
    caught = sum(g in URGENT_LEVELS and p in URGENT_LEVELS for g, p in pairs)
    false_alarms = sum(g not in URGENT_LEVELS and p in URGENT_LEVELS for g, p in pairs)
    urgent_predicted = sum(p in URGENT_LEVELS for _, p in pairs)
    critical = [p for g, p in pairs if g == "critical"]
    return UrgencyScores(
        recall=_ratio(caught, urgent_gold),
        false_positive_rate=_ratio(false_alarms, len(pairs) - urgent_gold),
        precision=_ratio(caught, urgent_predicted),
        urgent_gold=urgent_gold,
        urgent_predicted=urgent_predicted,
        critical_recall=_ratio(sum(p in URGENT_LEVELS for p in critical), len(critical)),
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in (0, 1]) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1], 3)


def _group_scores(
    group: str,
    records: Sequence[GoldenRecord],
    predictions: Mapping[str, Prediction],
    categories: Sequence[str],
) -> GroupScores:
    gold_categories = [r.category for r in records]
    predicted_categories = [predictions[r.id].category for r in records]
    sentiment_gold = [r.sentiment for r in records]
    sentiment_predicted = [predictions[r.id].sentiment for r in records]
    urgent = urgency_scores([r.urgency for r in records], [predictions[r.id].urgency for r in records])
    return GroupScores(
        group=group,
        rows=len(records),
        category_accuracy=accuracy(gold_categories, predicted_categories),
        category_macro_f1=macro_f1(class_scores(gold_categories, predicted_categories, categories)),
        sentiment_macro_f1=macro_f1(class_scores(sentiment_gold, sentiment_predicted, SENTIMENTS)),
        urgent_recall=urgent.recall if urgent.urgent_gold else None,
    )


def grouped_scores(
    records: Sequence[GoldenRecord],
    predictions: Mapping[str, Prediction],
    categories: Sequence[str],
    key: str,
) -> list[GroupScores]:
    """Headline figures per value of ``key`` (``source_dataset`` or ``language``; English vs the rest)."""
    groups: dict[str, list[GoldenRecord]] = {}
    for record in records:
        value = str(getattr(record, key))
        if key == "language":
            value = "English" if value == "en" else "other languages"
        groups.setdefault(value, []).append(record)
    return [_group_scores(name, rows, predictions, categories) for name, rows in sorted(groups.items())]


def compute_metrics(
    records: Sequence[GoldenRecord],
    predictions: Mapping[str, Prediction],
    categories: Sequence[str],
    *,
    spent_usd: float | None = None,
) -> EvaluationMetrics:
    """Every figure of a run from the gold records and the backend's predictions (keyed by record id).

    Args:
        records: the golden records, in order.
        predictions: one prediction per record id (``Prediction.missing`` for items without a result).
        categories: the taxonomy's category ids, in display order.
        spent_usd: what the run cost including retries, when the backend reports it (else the results' sum).
    """
    gold_categories = [r.category for r in records]
    predicted = [predictions[r.id] for r in records]
    category = class_scores(gold_categories, [p.category for p in predicted], categories)
    sentiment_gold, sentiment_predicted = [r.sentiment for r in records], [p.sentiment for p in predicted]
    sentiment = class_scores(sentiment_gold, sentiment_predicted, SENTIMENTS)
    urgency_gold, urgency_predicted = [r.urgency for r in records], [p.urgency for p in predicted]
    latencies = [p.latency_ms for p in predicted if p.latency_ms is not None]
    cost = max(spent_usd or 0.0, sum(p.cost_usd for p in predicted))
    leaked = [r.id for r, p in zip(records, predicted, strict=True) if leaked_pii(r, p.redacted_text or "")]
    return EvaluationMetrics(
        rows=len(records),
        answered=sum(p.status == "ok" for p in predicted),
        category=category,
        category_accuracy=accuracy(gold_categories, [p.category for p in predicted]),
        category_macro_f1=macro_f1(category),
        category_confusion=confusion_matrix(gold_categories, [p.category for p in predicted], categories),
        sentiment=sentiment,
        sentiment_macro_f1=macro_f1(sentiment),
        sentiment_accuracy=accuracy(sentiment_gold, sentiment_predicted),
        sentiment_confusion=confusion_matrix(sentiment_gold, sentiment_predicted, SENTIMENTS),
        urgency=urgency_scores(urgency_gold, urgency_predicted),
        urgency_accuracy=accuracy(urgency_gold, urgency_predicted),
        urgency_confusion=confusion_matrix(urgency_gold, urgency_predicted, URGENCIES),
        latency_ms_median=percentile(latencies, 0.5),
        latency_ms_p95=percentile(latencies, 0.95),
        cost_usd_total=round(cost, 6),
        cost_per_1000_usd=round(cost / len(records) * 1000, 6) if records else 0.0,
        pii_rows=sum(bool(r.pii) for r in records),
        pii_leaks=len(leaked),
        pii_leaked_ids=leaked,
        by_source=grouped_scores(records, predictions, categories, "source_dataset"),
        by_language=grouped_scores(records, predictions, categories, "language"),
    )
