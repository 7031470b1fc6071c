"""The result of measuring one enrichment backend on one golden set: built by ``evaluation.runner``, compared
with its baseline there, and rendered by ``evaluation.reports``."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedback_ops.evaluation.baseline import Comparison
from feedback_ops.evaluation.golden import GoldenSet
from feedback_ops.evaluation.metrics import EvaluationMetrics, Prediction


@dataclass
class EvaluationRun:
    """One backend measured on one golden set."""

    golden: GoldenSet
    backend: str
    versions: dict[str, str]
    predictions: dict[str, Prediction]
    metrics: EvaluationMetrics
    started_at: str
    load_seconds: float
    run_seconds: float
    batch_size: int
    comparison: Comparison | None = None
    baseline_file: str | None = None
    notes: list[str] = field(default_factory=list)
