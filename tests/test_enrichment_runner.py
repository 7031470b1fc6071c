"""The enrichment stage over silver: incremental, cached by text hash, vectors stored once."""

from __future__ import annotations

import json

from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse


def load_and_build_silver(settings) -> None:
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")


def test_enrichment_is_incremental_and_reuses_identical_texts(settings):
    load_and_build_silver(settings)
    with open_warehouse(settings) as warehouse:
        first = enrich_pending(warehouse, settings)
        second = enrich_pending(warehouse, settings)
        rows = warehouse.query_df("select * from enrichment.feedback_enrichment")
        vectors = warehouse.scalar("select count(*) from enrichment.embeddings")

    assert (first.pending, first.enriched) == (10, 10)
    assert (second.pending, second.enriched, second.reused_by_text_hash) == (0, 0, 0)
    assert len(rows) == 10 and vectors == 10
    assert rows["enrichment_version"].nunique() == 1
    t1 = rows[rows["redacted_text"].str.contains("Checkout fails")].iloc[0]
    assert "[EMAIL]" in t1["redacted_text"] and "@" not in t1["redacted_text"]
    assert json.loads(t1["redaction_counts"]).get("EMAIL") == 1

    (settings.landing_dir / "resent.jsonl").write_text(
        json.dumps(
            {
                "source_record_id": "R-1",
                "channel": "social",
                "text": "The app is slow to load my dashboard",
                "created_at": "2026-11-19T10:00:00Z",
            }
        )
        + "\n"
    )
    load_and_build_silver(settings)
    with open_warehouse(settings) as warehouse:
        third = enrich_pending(warehouse, settings)
        copied = warehouse.query_df(
            "select category, sentiment_score, text_hash from enrichment.feedback_enrichment "
            "where text_hash = (select text_hash from silver.int_feedback_deduplicated where source_record_id = 'R-1')"
        )
    assert (third.pending, third.reused_by_text_hash, third.enriched) == (1, 1, 0)
    assert len(copied) == 2 and copied["category"].nunique() == 1 and copied["sentiment_score"].nunique() == 1
