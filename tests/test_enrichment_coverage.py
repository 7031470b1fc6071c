"""The enrichment gate's coverage frame: enriched, quarantined and deferred items are accounted for; others are missing."""

from __future__ import annotations

import pandas as pd

from feedback_ops.quality.frames import COVERAGE_SQL
from feedback_ops.warehouse import open_warehouse


def test_quarantined_and_deferred_items_are_accounted_for_and_the_rest_is_missing(settings):
    with open_warehouse(settings) as warehouse:
        warehouse.execute("create schema if not exists silver")
        warehouse.execute(
            "create table silver.int_feedback_deduplicated (feedback_id varchar, text_hash varchar)"
        )
        warehouse.append(
            "silver.int_feedback_deduplicated",
            pd.DataFrame(
                {"feedback_id": ["done", "bad", "later", "lost"], "text_hash": ["h1", "h2", "h3", "h4"]}
            ),
        )
        warehouse.append(
            "enrichment.feedback_enrichment",
            pd.DataFrame({"feedback_id": ["done"], "enrichment_version": ["v"], "text_hash": ["h1"]}),
        )
        warehouse.append(
            "enrichment.enrichment_quarantine",
            pd.DataFrame(
                {
                    "feedback_id": ["bad"],
                    "enrichment_version": ["v"],
                    "text_hash": ["h2"],
                    "reason": ["invalid_output"],
                    "attempts": [3],
                    "quarantined_at": [pd.Timestamp("2026-11-22")],
                }
            ),
        )
        warehouse.append(
            "enrichment.enrichment_deferred",
            pd.DataFrame(
                {
                    "feedback_id": ["later"],
                    "enrichment_version": ["v"],
                    "reason": ["budget_exhausted"],
                    "deferred_at": [pd.Timestamp("2026-11-22")],
                }
            ),
        )
        coverage = warehouse.query_df(COVERAGE_SQL, ["v"] * 4).iloc[0]

    assert (
        coverage["silver_rows"],
        coverage["enriched_rows"],
        coverage["deferred_rows"],
        coverage["missing_rows"],
    ) == (
        4,
        1,
        1,
        1,
    )
