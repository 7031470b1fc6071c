"""Label drift between enrichment runs: total variation distance and the flag."""

from __future__ import annotations

import pytest

from feedback_ops.enrich.drift import total_variation


def test_total_variation_is_zero_for_same_shares_and_one_for_disjoint():
    assert total_variation({"bug": 10, "billing": 30}, {"bug": 1, "billing": 3}) == pytest.approx(0.0)
    assert total_variation({"bug": 5}, {"billing": 5}) == pytest.approx(1.0)
    assert total_variation({"bug": 50, "billing": 50}, {"bug": 80, "billing": 20}) == pytest.approx(0.3)


def _enrich_rows(warehouse, categories: dict[str, int], enriched_at: str, prefix: str) -> None:
    import pandas as pd

    rows = [
        {
            "feedback_id": f"{prefix}-{category}-{n}",
            "enrichment_version": "v1",
            "text_hash": f"h-{prefix}-{category}-{n}",
            "category": category,
            "sentiment_label": "negative",
            "urgency": "high",
            "enriched_at": pd.Timestamp(enriched_at),
        }
        for category, count in categories.items()
        for n in range(count)
    ]
    warehouse.append("enrichment.feedback_enrichment", pd.DataFrame(rows))


def test_a_run_whose_categories_shift_is_flagged(settings):
    from datetime import datetime

    from feedback_ops.enrich.drift import record_run_labels
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        _enrich_rows(warehouse, {"billing": 60, "bug": 40}, "2026-11-20 10:00:00", "a")
        first = record_run_labels(warehouse, "v1", datetime(2026, 11, 20, 9), run_id="run-1")
        _enrich_rows(warehouse, {"billing": 58, "bug": 42}, "2026-11-21 10:00:00", "b")
        steady = record_run_labels(warehouse, "v1", datetime(2026, 11, 21, 9), run_id="run-2")
        _enrich_rows(warehouse, {"billing": 10, "bug": 90}, "2026-11-22 10:00:00", "c")
        shifted = record_run_labels(warehouse, "v1", datetime(2026, 11, 22, 9), run_id="run-3")
        stored = warehouse.query_df(
            "select run_id, drift_flagged from enrichment.enrichment_runs order by run_id"
        )

    assert first.distance is None and not first.flagged
    assert steady.distance == pytest.approx(0.02) and not steady.flagged
    assert shifted.distance == pytest.approx(0.48) and shifted.flagged
    assert stored["drift_flagged"].tolist() == [False, False, True]
