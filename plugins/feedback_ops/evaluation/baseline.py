"""Baselines and the regression gate: a backend's committed figures on the golden set, with tolerances.

``include/golden/baseline_<backend>.json`` holds what the backend scored when the baseline was last written
(``feedback-ops eval --backend <backend> --update-baseline``) and how far each figure may move the wrong way
before the gate fails. The gate fails on a drop beyond tolerance in urgent recall, in sentiment macro-F1 or in
the F1 of ANY category (a better average does not excuse a worse bug detection), on a rise beyond tolerance
in the urgent false-positive rate, and on any new PII leak. Category macro-F1 is shown, never gated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from feedback_ops.evaluation.golden import GOLDEN_DIR

DEFAULT_TOLERANCES: dict[str, float] = {
    "category_f1": 0.03,
    "urgent_recall": 0.03,
    "sentiment_macro_f1": 0.03,
    "urgent_false_positive_rate": 0.05,
    "pii_leaks": 0,
}
"""How far each gated figure may move the wrong way (absolute; ``pii_leaks`` counts rows)."""
LOWER_IS_BETTER = frozenset({"urgent_false_positive_rate", "pii_leaks"})
INFORMATIONAL = ("category_macro_f1",)
_EPSILON = 1e-9

Status = Literal["regressed", "improved", "unchanged", "within tolerance", "missing", "new", "info"]


class BaselineMismatchError(ValueError):
    """The baseline was computed on another golden set (or another backend): comparing would mislead."""


class RegressionError(AssertionError):
    """A figure moved the wrong way beyond its tolerance: names what regressed and shows what moved."""

    def __init__(self, regressions: list[str], table: str, context: str = "") -> None:
        message = f"golden-set regression in {', '.join(regressions)}{context}\n\n{table}"
        super().__init__(message)
        self.regressions = regressions

    @classmethod
    def from_comparison(cls, comparison: Comparison, context: str = "") -> RegressionError:
        """The error for a failed comparison."""
        return cls([change.metric for change in comparison.regressions], comparison.table(), context)


@dataclass(frozen=True)
class MetricChange:
    """One figure, then and now. ``tolerance`` is None for informational figures."""

    metric: str
    baseline: float | None
    now: float | None
    tolerance: float | None
    lower_is_better: bool = False

    @property
    def delta(self) -> float | None:
        """now - baseline (None when either is missing)."""
        if self.baseline is None or self.now is None:
            return None
        return round(self.now - self.baseline, 4)

    @property
    def status(self) -> Status:
        """regressed / improved / unchanged / within tolerance; missing or new; info when not gated."""
        delta = self.delta
        if self.tolerance is None:
            return "info"
        if self.now is None:
            return "missing"
        if self.baseline is None or delta is None:
            return "new"
        worse_by = delta if self.lower_is_better else -delta
        if worse_by > self.tolerance + _EPSILON:
            return "regressed"
        if worse_by < -_EPSILON:
            return "improved"
        return "unchanged" if abs(worse_by) <= _EPSILON else "within tolerance"


@dataclass(frozen=True)
class Comparison:
    """Every compared figure of a run against a baseline."""

    changes: tuple[MetricChange, ...]

    @property
    def regressions(self) -> list[MetricChange]:
        """Figures that moved the wrong way beyond tolerance, or that the run no longer has."""
        return [c for c in self.changes if c.status in ("regressed", "missing")]

    @property
    def passed(self) -> bool:
        """True when nothing regressed."""
        return not self.regressions

    HEADER = ("metric", "baseline", "now", "delta", "tolerance", "status")

    def rows(self, *, moved_only: bool = True) -> list[list[str]]:
        """The compared figures as text cells (``HEADER``), regressions first.

        Args:
            moved_only: leave out gated figures that did not move at all.
        """
        order = {"regressed": 0, "missing": 1, "within tolerance": 2, "improved": 3, "new": 4, "info": 5}
        shown = [c for c in self.changes if not moved_only or c.status != "unchanged"]
        shown.sort(key=lambda c: (order.get(c.status, 6), c.metric))
        return [
            [
                c.metric,
                _fmt(c.baseline),
                _fmt(c.now),
                _fmt(c.delta, signed=True),
                _fmt(c.tolerance),
                c.status.upper() if c.status in ("regressed", "missing") else c.status,
            ]
            for c in shown
        ]

    def table(self, *, moved_only: bool = True) -> str:
        """A Markdown table of what moved (``rows``), with the number of unchanged gated figures below it."""
        rows = self.rows(moved_only=moved_only)
        lines = [
            "| " + " | ".join(self.HEADER) + " |",
            "|---|---:|---:|---:|---:|---|",
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
        hidden = len(self.changes) - len(rows)
        if hidden:
            lines.append(f"\n{hidden} other gated figures unchanged.")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "passed": self.passed,
            "regressions": [c.metric for c in self.regressions],
            "changes": [
                {
                    "metric": c.metric,
                    "baseline": c.baseline,
                    "now": c.now,
                    "delta": c.delta,
                    "tolerance": c.tolerance,
                    "status": c.status,
                }
                for c in self.changes
            ],
        }


def _fmt(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    if float(value).is_integer() and not signed:
        return str(int(value))
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def baseline_path(backend: str, golden_dir: Path = GOLDEN_DIR) -> Path:
    """Where the baseline of ``backend`` is committed."""
    return Path(golden_dir) / f"baseline_{backend}.json"


def load_baseline(path: Path) -> dict[str, Any] | None:
    """The baseline at ``path``, or None when there is none yet."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def make_baseline(
    headline: Mapping[str, Any],
    *,
    golden_version: str,
    golden_sha256: str,
    backend: str,
    versions: Mapping[str, str],
    tolerances: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """A baseline document: what it was computed on, the tolerances and the headline figures."""
    return {
        "about": (
            "Figures of this backend on the golden set, compared by tests/test_golden_regression.py and "
            "`feedback-ops eval`. Regenerate deliberately: feedback-ops eval --backend "
            f"{backend} --update-baseline (include/golden/README.md)."
        ),
        "golden_version": golden_version,
        "golden_sha256": golden_sha256,
        "backend": backend,
        "versions": dict(versions),
        "tolerances": dict(tolerances or DEFAULT_TOLERANCES),
        "metrics": dict(headline),
    }


def write_baseline(path: Path, document: Mapping[str, Any]) -> Path:
    """Write a baseline document, keeping the tolerances of the one it replaces (they are a decision)."""
    path = Path(path)
    previous = load_baseline(path)
    document = dict(document)
    if previous and previous.get("tolerances"):
        document["tolerances"] = previous["tolerances"]
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def compare(baseline: Mapping[str, Any], headline: Mapping[str, Any], *, golden_sha256: str) -> Comparison:
    """Compare a run's headline figures with a baseline.

    Args:
        baseline: a baseline document (``make_baseline``).
        headline: the run's ``EvaluationMetrics.headline()``.
        golden_sha256: sha256 of the golden file the run used.

    Raises:
        BaselineMismatchError: the baseline was computed on another golden file.
    """
    if baseline.get("golden_sha256") != golden_sha256:
        raise BaselineMismatchError(
            f"the baseline was computed on golden set {baseline.get('golden_version')} "
            f"(sha256 {str(baseline.get('golden_sha256'))[:12]}…), not on this one ({golden_sha256[:12]}…): "
            "regenerate it with --update-baseline"
        )
    tolerances = {**DEFAULT_TOLERANCES, **baseline.get("tolerances", {})}
    before, now = baseline["metrics"], headline
    changes: list[MetricChange] = []
    categories = sorted(set(before.get("category_f1", {})) | set(now.get("category_f1", {})))
    for category in categories:
        changes.append(
            MetricChange(
                f"category_f1[{category}]",
                before.get("category_f1", {}).get(category),
                now.get("category_f1", {}).get(category),
                tolerances["category_f1"],
            )
        )
    for name in ("urgent_recall", "sentiment_macro_f1", "urgent_false_positive_rate", "pii_leaks"):
        changes.append(
            MetricChange(name, before.get(name), now.get(name), tolerances[name], name in LOWER_IS_BETTER)
        )
    changes.extend(MetricChange(name, before.get(name), now.get(name), None) for name in INFORMATIONAL)
    return Comparison(tuple(changes))
