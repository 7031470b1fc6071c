"""Retention on a real DuckDB warehouse: the fixture landing area loaded by the real loader, silver built by
dbt, items enriched with the real redactor, ``gold.fct_feedback`` built by dbt. The tickets file is made
120 days old; with 90 days of retention its raw text must be gone from bronze, silver and gold while the chats
(new) keep theirs, redacted text / enrichment / row counts stay, counts are recorded, and a second run purges
nothing. A Databricks run over the fake connector checks the same purge in Databricks SQL.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlglot

from feedback_ops.enrich.redact import redact
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.ops.retention import (
    PURGED_KEY,
    RetentionPolicyError,
    apply_retention,
    load_policy,
)
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse

RAW_EMAIL = "jane.doe@example.com"  # in ticket T-1's text
VERSION = "retention-test-v1"


def _enrichment_rows(silver: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "feedback_id": row.feedback_id,
                "enrichment_version": VERSION,
                "text_hash": row.text_hash,
                "redacted_text": redact(row.feedback_text).text,
                "category": "bug",
                "sentiment_label": "negative",
                "urgency": "high",
                "confidence": 0.9,
                "needs_review": False,
                "model_name": "local",
                "enriched_at": datetime(2026, 11, 22),
            }
            for row in silver.itertuples()
        ]
    )


@pytest.fixture
def warehouse_with_history(settings):
    """Bronze, silver, enrichment and gold on the fixture; tickets.csv ingested 120 days before ``as_of``."""
    as_of = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
        warehouse.execute(
            "update bronze.feedback_raw set ingested_at = ? where source_file = 'tickets.csv'",
            [as_of - timedelta(days=120)],
        )
    # the tickets' load is moved 120 days back, before they were written: silver's future_created_at check
    # (created_at more than the tolerance after the load) is widened so they stay the old, kept records they
    # stand for
    run_dbt("build", settings, select="tag:silver", dbt_vars={"future_created_at_tolerance_hours": 24 * 365})
    with open_warehouse(settings) as warehouse:
        silver = warehouse.query_df(
            "select feedback_id, text_hash, feedback_text from silver.int_feedback_deduplicated"
        )
        warehouse.append("enrichment.feedback_enrichment", _enrichment_rows(silver))
    run_dbt("run", settings, select="+fct_feedback", dbt_vars={"enrichment_version": VERSION})
    return settings, as_of


def _snapshot(warehouse) -> dict[str, pd.DataFrame]:
    return {
        "bronze": warehouse.query_df("select * from bronze.feedback_raw order by bronze_row_id"),
        "silver": warehouse.query_df("select * from silver.int_feedback_deduplicated order by feedback_id"),
        "quarantined": warehouse.query_df(
            "select * from silver.int_feedback_quarantined order by bronze_row_id"
        ),
        "gold": warehouse.query_df("select * from gold.fct_feedback order by feedback_id"),
        "enrichment": warehouse.query_df("select * from enrichment.feedback_enrichment order by feedback_id"),
    }


def test_old_raw_text_is_purged_everywhere_and_derived_data_stays(warehouse_with_history):
    settings, as_of = warehouse_with_history
    with open_warehouse(settings) as warehouse:
        before = _snapshot(warehouse)
        run = apply_retention(warehouse, settings, as_of)
        after = _snapshot(warehouse)
        recorded = warehouse.query_df(
            "select table_name, rows_purged from ops.retention_runs order by table_name"
        )

    # bronze: the 11 ticket rows lost their raw text, the 9 chat rows are untouched
    old = before["bronze"]["source_file"] == "tickets.csv"
    assert len(after["bronze"]) == len(before["bronze"]) == 20
    assert after["bronze"]["bronze_row_id"].tolist() == before["bronze"]["bronze_row_id"].tolist()
    assert after["bronze"].loc[~old, "payload"].tolist() == before["bronze"].loc[~old, "payload"].tolist()
    redacted_by_record = {}
    for payload, error in zip(
        after["bronze"].loc[old, "payload"], after["bronze"].loc[old, "parse_error"], strict=True
    ):
        if isinstance(error, str):  # the malformed CSV row: its raw line is redacted and marked
            assert payload.startswith("[raw text purged ")
            continue
        record = json.loads(payload)
        assert PURGED_KEY in record
        redacted_by_record[record["source_record_id"]] = record["text"]
    assert RAW_EMAIL not in "".join(after["bronze"]["payload"])
    assert (
        redacted_by_record["T-1"]
        == after["enrichment"]
        .set_index("redacted_text")
        .index[after["enrichment"]["redacted_text"].str.contains("[EMAIL]", regex=False)][0]
    )

    # silver and gold: same rows, old items now carry the redacted text; enrichment is unchanged
    for name in ("silver", "gold"):
        assert len(after[name]) == len(before[name]) == 10
        assert RAW_EMAIL not in "".join(after[name]["feedback_text"])
        new_items = after[name]["source_record_id"].str.startswith("C-")
        assert (
            after[name].loc[new_items, "feedback_text"].tolist()
            == before[name].loc[new_items, "feedback_text"].tolist()
        )
    gold = after["gold"].set_index("source_record_id")
    assert gold.loc["T-1", "feedback_text"] == gold.loc["T-1", "redacted_text"]
    assert gold["category"].tolist() == before["gold"]["category"].tolist()
    pd.testing.assert_frame_equal(after["enrichment"], before["enrichment"])
    quarantined_old = after["quarantined"]["source_file"] == "tickets.csv"
    purged_mark = after["quarantined"]["payload"].str.contains(PURGED_KEY, regex=False) | after[
        "quarantined"
    ]["payload"].str.startswith("[raw text purged ")
    assert (
        purged_mark == quarantined_old
    ).all()  # old quarantined records carry the purged payload, new ones not

    expected = {
        "bronze.feedback_raw": 11,  # every ticket row, the duplicate and the malformed one included
        # T-1..T-5 are old, but only T-1 held PII: the others' text equals their redacted text, so only T-1's
        # silver / gold row changes (a row counts when its stored text changed)
        "silver.int_feedback_deduplicated": 1,
        "silver.int_feedback_quarantined": 5,  # T-6..T-10: their payload copies now carry the purge mark
        "gold.fct_feedback": 1,
    }
    assert run.purged == expected
    assert dict(zip(recorded["table_name"], recorded["rows_purged"], strict=True)) == expected


def test_a_second_run_purges_nothing_more_and_a_rebuild_keeps_it_purged(warehouse_with_history):
    settings, as_of = warehouse_with_history
    with open_warehouse(settings) as warehouse:
        apply_retention(warehouse, settings, as_of)
        purged = _snapshot(warehouse)
        second = apply_retention(warehouse, settings, as_of + timedelta(hours=1))
        again = _snapshot(warehouse)
        runs = warehouse.query_df(
            "select count(distinct run_id) as runs, count(*) as rows from ops.retention_runs"
        )
    assert set(second.purged.values()) == {0}
    for name in purged:
        pd.testing.assert_frame_equal(again[name], purged[name])
    assert runs.to_dict("records") == [{"runs": 2, "rows": 8}]

    # dbt rebuilds silver from the purged bronze: the raw text does not come back, and bronze still reconciles
    run_dbt("build", settings, select="tag:silver")
    with open_warehouse(settings) as warehouse:
        rebuilt = warehouse.query_df(
            "select source_record_id, feedback_text from silver.int_feedback_deduplicated"
        )
        counts = [
            int(warehouse.scalar(f"select count(*) from {t}"))
            for t in (
                "bronze.feedback_raw",
                "silver.int_feedback_deduplicated",
                "silver.int_feedback_quarantined",
                "silver.int_feedback_duplicates",
            )
        ]
    assert RAW_EMAIL not in "".join(rebuilt["feedback_text"])
    assert counts == [20, 10, 8, 2]


def _write_policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "retention.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("layers: {bronze: {raw_text_days: 90}, silver: {raw_text_days: 30}}", "shorter than bronze"),
        ("layers: {bronze: {raw_text_days: 0}}", "whole number of days"),
        ("layers: {platinum: {raw_text_days: 5}}", "unknown layers"),
        ("raw_fields: [title]\nlayers: {bronze: {raw_text_days: 5}}", "must include 'text'"),
    ],
)
def test_a_policy_that_cannot_be_applied_is_refused(tmp_path, body, message):
    with pytest.raises(RetentionPolicyError, match=message):
        load_policy(_write_policy(tmp_path, body))


def test_the_shipped_policy_loads():
    from feedback_ops.config import PROJECT_ROOT

    policy = load_policy(PROJECT_ROOT / "include" / "retention.yaml")
    assert policy.days == {"bronze": 90, "silver": 90, "gold": 90}
    assert policy.version.startswith("1-")


def test_databricks_runtime_purges_with_databricks_sql(settings, tmp_path):
    from fakes.databricks_sql import FakeDatabricksConnection
    from feedback_ops.warehouse.databricks_warehouse import DatabricksWarehouse

    connection = FakeDatabricksConnection()
    warehouse = DatabricksWarehouse(connection)
    warehouse.ensure_schema()
    old, new = datetime(2026, 1, 1), datetime(2026, 11, 20)
    rows = [
        ("r1", json.dumps({"source_record_id": "A", "text": f"mail {RAW_EMAIL}", "title": "Hi"}), None, old),
        ("r2", "{broken", "invalid_json", old),
        ("r3", json.dumps({"source_record_id": "B", "text": "fresh"}), None, new),
    ]
    warehouse.append(
        "bronze.feedback_raw",
        pd.DataFrame(
            [
                {
                    "bronze_row_id": rid,
                    "batch_id": "b",
                    "source_file": "f.jsonl",
                    "file_checksum": "c",
                    "source_format": "jsonl",
                    "line_number": n,
                    "payload": payload,
                    "parse_error": error,
                    "ingested_at": at,
                }
                for n, (rid, payload, error, at) in enumerate(rows, start=1)
            ]
        ),
    )
    connection.duckdb.execute(
        "create schema silver; create table silver.int_feedback_deduplicated as "
        f"select 'r1' as bronze_row_id, 'A' as source_record_id, 'mail {RAW_EMAIL}' as feedback_text, "
        "'Hi' as title, timestamp '2026-01-01' as ingested_at"
    )
    configured = dataclasses.replace(settings, runtime="databricks")
    policy = load_policy(
        _write_policy(tmp_path, "layers: {bronze: {raw_text_days: 90}, silver: {raw_text_days: 90}}")
    )
    connection.statements.clear()

    run = apply_retention(warehouse, configured, datetime(2026, 11, 22), policy=policy)

    assert run.purged == {"bronze.feedback_raw": 2, "silver.int_feedback_deduplicated": 1}
    for statement in connection.statements:
        sqlglot.parse(statement.sql, read="databricks")  # the fake also refuses anything else
    sent = " ".join(s.sql for s in connection.statements)
    assert "get_json_object(payload, '$.text')" in sent and "merge into bronze.feedback_raw" in sent
    payloads = dict(
        connection.duckdb.execute("select bronze_row_id, payload from bronze.feedback_raw").fetchall()
    )
    assert json.loads(payloads["r1"])["text"] == "mail [EMAIL]"  # not enriched: redacted by the redactor
    assert payloads["r2"].startswith("[raw text purged 2026-11-22] ")
    assert json.loads(payloads["r3"])["text"] == "fresh"
    silver_text = connection.duckdb.execute(
        "select feedback_text, title from silver.int_feedback_deduplicated"
    ).fetchall()
    assert silver_text == [("mail [EMAIL]", "Hi")]
