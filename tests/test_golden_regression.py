"""The regression gate: the local backend on the golden set must hold its committed baseline.

``include/golden/baseline_local.json`` holds the local backend's figures and the tolerances. A drop beyond
tolerance in urgent recall, sentiment macro-F1 or ANY category's F1 (or a rise in the urgent false-positive
rate, or a PII leak) fails ``test_local_backend_holds_its_baseline`` with a table of what moved. After a
deliberate, reviewed change: ``feedback-ops eval --backend local --update-baseline`` and commit the file.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from feedback_ops.config import Settings
from feedback_ops.enrich.backends import make_enricher
from feedback_ops.enrich.taxonomy import load_taxonomy
from feedback_ops.evaluation.baseline import (
    BaselineMismatchError,
    RegressionError,
    baseline_path,
    compare,
    load_baseline,
)
from feedback_ops.evaluation.golden import load_golden
from feedback_ops.evaluation.runner import evaluate
from feedback_ops.evaluation.types import EvaluationRun

BASELINE = baseline_path("local")


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    document = load_baseline(BASELINE)
    assert document is not None, (
        f"no baseline at {BASELINE}: feedback-ops eval --backend local --update-baseline"
    )
    return document


@pytest.fixture(scope="module")
def local_run() -> EvaluationRun:
    """The local backend over the whole golden set (models from .local/models, trained there if absent)."""
    settings = Settings()
    categories = [category.id for category in load_taxonomy(settings.taxonomy_path).categories]
    golden = load_golden(categories=categories)
    run = evaluate(make_enricher(settings, "local"), golden, categories, backend="local")
    print(
        f"\ngolden run: model load {run.load_seconds:.1f} s, {len(golden)} records in {run.run_seconds:.1f} s"
    )
    return run


def test_local_backend_holds_its_baseline(local_run: EvaluationRun, baseline: dict[str, Any]) -> None:
    comparison = compare(baseline, local_run.metrics.headline(), golden_sha256=local_run.golden.sha256)
    print("\n" + comparison.table())
    if not comparison.passed:
        raise RegressionError.from_comparison(
            comparison,
            context=(
                " — if the change is intended and reviewed, rewrite the baseline: "
                "feedback-ops eval --backend local --update-baseline"
            ),
        )


def test_every_golden_record_got_an_answer(local_run: EvaluationRun) -> None:
    assert local_run.metrics.answered == len(local_run.golden)
    assert local_run.metrics.pii_leaks == 0, local_run.metrics.pii_leaked_ids


def _after(baseline: dict[str, Any], **category_deltas: float) -> dict[str, Any]:
    """A synthetic run: the baseline's figures with every category F1 moved by ``category_deltas`` (default
    +0.05) and the macro-F1 recomputed."""
    after = copy.deepcopy(baseline["metrics"])
    for category, f1 in after["category_f1"].items():
        after["category_f1"][category] = round(
            min(1.0, max(0.0, f1 + category_deltas.get(category, 0.05))), 4
        )
    values = list(after["category_f1"].values())
    after["category_macro_f1"] = round(sum(values) / len(values), 4)
    return after


def test_a_better_average_that_hurts_bug_detection_fails(baseline: dict[str, Any]) -> None:
    after = _after(baseline, bug=-0.10)
    assert after["category_macro_f1"] > baseline["metrics"]["category_macro_f1"]
    comparison = compare(baseline, after, golden_sha256=baseline["golden_sha256"])
    assert not comparison.passed
    assert [change.metric for change in comparison.regressions] == ["category_f1[bug]"]
    with pytest.raises(RegressionError, match=r"regression in category_f1\[bug\]") as error:
        raise RegressionError.from_comparison(comparison)
    table = str(error.value)
    assert "| metric | baseline | now | delta | tolerance | status |" in table
    bug_row = next(line for line in table.splitlines() if line.startswith("| category_f1[bug] "))
    assert "-0.1000" in bug_row and "REGRESSED" in bug_row
    assert "category_macro_f1" in table and "| info |" in table


def test_the_same_average_with_every_category_within_tolerance_passes(baseline: dict[str, Any]) -> None:
    after = _after(baseline, **dict.fromkeys(baseline["metrics"]["category_f1"], -0.02))
    comparison = compare(baseline, after, golden_sha256=baseline["golden_sha256"])
    assert comparison.passed, comparison.table()
    assert all(c.status in ("within tolerance", "unchanged", "info") for c in comparison.changes)


@pytest.mark.parametrize(
    ("metric", "delta"),
    [
        ("urgent_recall", -0.05),
        ("sentiment_macro_f1", -0.05),
        ("urgent_false_positive_rate", 0.08),
        ("pii_leaks", 1),
    ],
)
def test_urgency_sentiment_and_pii_regressions_fail(
    baseline: dict[str, Any], metric: str, delta: float
) -> None:
    after = copy.deepcopy(baseline["metrics"])
    after[metric] += delta
    comparison = compare(baseline, after, golden_sha256=baseline["golden_sha256"])
    assert [change.metric for change in comparison.regressions] == [metric]


def test_a_vanished_category_fails(baseline: dict[str, Any]) -> None:
    after = copy.deepcopy(baseline["metrics"])
    del after["category_f1"]["account_access"]
    comparison = compare(baseline, after, golden_sha256=baseline["golden_sha256"])
    assert [change.metric for change in comparison.regressions] == ["category_f1[account_access]"]


def test_a_baseline_of_another_golden_version_is_refused(baseline: dict[str, Any]) -> None:
    with pytest.raises(BaselineMismatchError, match="update-baseline"):
        compare(baseline, baseline["metrics"], golden_sha256="0" * 64)
