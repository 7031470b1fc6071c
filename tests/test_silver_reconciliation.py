"""Silver on the fixture with planted bad rows and duplicates: every bronze row is accounted for.

Runs the real dbt project (``dbt build --select tag:silver``: models, data tests and unit tests) on a DuckDB
warehouse loaded from ``tests/fixtures/landing`` and checks ``bronze = silver + quarantined + duplicates``
row by row, with the reason each rejected record got.
"""

from __future__ import annotations

import pytest

from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse


@pytest.fixture
def silver(settings):
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    result = run_dbt("build", settings, select="tag:silver")
    with open_warehouse(settings) as warehouse:
        tables = {
            "bronze": warehouse.query_df("select * from bronze.feedback_raw"),
            "silver": warehouse.query_df("select * from silver.int_feedback_deduplicated"),
            "quarantined": warehouse.query_df("select * from silver.int_feedback_quarantined"),
            "duplicates": warehouse.query_df("select * from silver.int_feedback_duplicates"),
        }
    return result, tables


def test_dbt_silver_build_passes_its_tests(silver):
    result, _ = silver
    assert result.counts.get("pass", 0) > 0
    assert set(result.counts) <= {"pass", "success"}, result.counts


def test_bronze_equals_silver_plus_quarantined_plus_duplicates(silver):
    _, t = silver
    assert (len(t["bronze"]), len(t["silver"]), len(t["quarantined"]), len(t["duplicates"])) == (20, 10, 8, 2)
    accounted = (
        set(t["silver"]["bronze_row_id"])
        | set(t["quarantined"]["bronze_row_id"])
        | set(t["duplicates"]["bronze_row_id"])
    )
    assert accounted == set(t["bronze"]["bronze_row_id"])


def test_each_planted_problem_gets_its_reason(silver):
    _, t = silver
    reasons = sorted(r.split(":")[0] for r in t["quarantined"]["quarantine_reason"])
    assert reasons == sorted(
        [
            "malformed_record",  # tickets.csv: T-6 lost two fields
            "malformed_record",  # chats.jsonl: truncated line
            "malformed_record",  # chats.jsonl: a JSON array
            "missing_created_at",  # T-7
            "invalid_created_at",  # T-8
            "unknown_channel",  # T-9 (fax)
            "empty_text",  # T-10
            "missing_source_record_id",  # the chat without an id
        ]
    )
    assert sorted(t["silver"]["source_record_id"]) == sorted(
        ["T-1", "T-2", "T-3", "T-4", "T-5", "C-1", "C-2", "C-3", "C-4", "C-5"]
    )


def test_silver_text_is_normalized_and_keys_are_stable(silver):
    _, t = silver
    by_id = t["silver"].set_index("source_record_id")
    assert by_id.loc["T-2", "feedback_text"] == "I was charged twice for my order&I want a refund"
    assert by_id.loc["T-3", "feedback_text"] == "The app is slow to load my dashboard"
    assert by_id.loc["C-4", "channel"] == "chat"
    kept = t["duplicates"].merge(t["silver"], left_on="duplicate_of_bronze_row_id", right_on="bronze_row_id")
    assert sorted(kept["source_record_id_y"]) == ["C-2", "T-1"]
    assert t["silver"]["feedback_id"].is_unique
