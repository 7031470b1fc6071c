"""The Databricks warehouse against the protocol, over a fake connector connection (tests/fakes/databricks_sql.py).

The fake records every statement as the connector would send it and runs it on DuckDB after parsing it as
Databricks SQL, so these tests check both what reaches the SQL warehouse (statements, named parameters,
batching under the 256-parameter limit, MERGE for upserts) and that the writes do what they claim.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from unittest import mock

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from fakes.databricks_sql import FakeDatabricksConnection
from feedback_ops.config import DatabricksSettings
from feedback_ops.warehouse.databricks_warehouse import (
    MAX_STATEMENT_PARAMETERS,
    DatabricksWarehouse,
    merge_sql,
    to_databricks_ddl,
)
from feedback_ops.warehouse.schema import DDL

ENRICHMENT_KEYS = ["feedback_id", "enrichment_version"]


@pytest.fixture
def connection() -> FakeDatabricksConnection:
    return FakeDatabricksConnection()


@pytest.fixture
def warehouse(connection: FakeDatabricksConnection) -> DatabricksWarehouse:
    wh = DatabricksWarehouse(connection, write_batch_rows=200)
    wh.ensure_schema()
    connection.statements.clear()
    return wh


def enrichment_rows(count: int, category: str = "bug") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "feedback_id": f"fb{i:04d}",
                "enrichment_version": "v1",
                "text_hash": f"h{i}",
                "redacted_text": f"checkout failed for [PERSON] #{i}",
                "redaction_counts": '{"PERSON": 1}',
                "language": "en",
                "language_confidence": 0.99,
                "category": category,
                "sentiment_label": "negative",
                "sentiment_score": -0.7,
                "urgency": "high",
                "confidence": 0.8 if i % 2 else float("nan"),
                "needs_review": bool(i % 3 == 0),
                "lane": "micro_batch",
                "model_name": "local",
                "model_version": "1",
                "prompt_version": "p1",
                "taxonomy_version": "t1",
                "tokens_in": 0,
                "tokens_out": 0,
                "cost_usd": 0.0,
                "latency_ms": 1.5,
                "enriched_at": datetime(2026, 11, 20, 10, 0, i % 60),
                "enrichment_notes": None,
            }
            for i in range(count)
        ]
    )


def test_ddl_becomes_databricks_sql_that_parses():
    converted = [to_databricks_ddl(statement) for statement in DDL]
    statements = [s for s in converted if s]
    assert len(statements) == len([s for s in DDL if not s.strip().lower().startswith("alter")])
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="databricks")
        assert not list(tree.find_all(exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)), statement
    embeddings = next(s for s in statements if "enrichment.embeddings" in s)
    assert (
        "vector ARRAY<FLOAT>" in embeddings and "TIMESTAMP_NTZ" in embeddings and "VARCHAR" not in embeddings
    )
    manifest = next(s for s in statements if "bronze.file_manifest" in s)
    assert "file_checksum STRING NOT NULL" in manifest


def test_upsert_is_a_batched_parameterized_merge(warehouse, connection):
    frame = enrichment_rows(45)
    assert warehouse.upsert("enrichment.feedback_enrichment", frame, keys=ENRICHMENT_KEYS) == 45

    writes = connection.writes()
    per_statement = MAX_STATEMENT_PARAMETERS // len(frame.columns)  # 24 columns -> 10 rows a statement
    assert len(writes) == -(-45 // per_statement) == 5
    for statement in writes:
        tree = sqlglot.parse_one(statement.sql, read="databricks")
        assert isinstance(tree, exp.Merge)
        assert tree.this.sql(dialect="databricks").startswith("enrichment.feedback_enrichment")
        assert "fb00" not in statement.sql, "values must travel as parameters, never inside the SQL text"
        assert (
            isinstance(statement.parameters, dict) and len(statement.parameters) <= MAX_STATEMENT_PARAMETERS
        )
        placeholders = {p.name for p in tree.find_all(exp.Placeholder)}
        assert placeholders == set(statement.parameters)
    first = writes[0]
    assert first.parameters["r0_c0"] == "fb0000" and first.parameters["r0_c11"] is None  # NaN -> NULL
    assert first.parameters["r0_c22"].value == datetime(2026, 11, 20, 10, 0, 0)  # naive -> TIMESTAMP_NTZ
    assert type(first.parameters["r0_c22"]).__name__ == "TimestampNTZParameter"

    stored = warehouse.query_df(
        "select count(*) as n, count(confidence) as c from enrichment.feedback_enrichment"
    )
    assert stored.to_dict("records") == [{"n": 45, "c": 22}]


def test_upsert_again_updates_matched_keys_instead_of_duplicating(warehouse):
    warehouse.upsert("enrichment.feedback_enrichment", enrichment_rows(12), keys=ENRICHMENT_KEYS)
    warehouse.upsert(
        "enrichment.feedback_enrichment", enrichment_rows(15, category="billing"), keys=ENRICHMENT_KEYS
    )
    counts = warehouse.query_df(
        "select category, count(*) as n from enrichment.feedback_enrichment group by category order by category"
    )
    assert counts.to_dict("records") == [{"category": "billing", "n": 15}]


def test_upsert_refuses_duplicate_keys_and_unknown_columns(warehouse, connection):
    frame = pd.concat([enrichment_rows(2), enrichment_rows(1)])
    with pytest.raises(ValueError, match="several rows share the key"):
        warehouse.upsert("enrichment.feedback_enrichment", frame, keys=ENRICHMENT_KEYS)
    with pytest.raises(ValueError, match="not a plain table or column name"):
        warehouse.upsert(
            "enrichment.feedback_enrichment; drop table x", enrichment_rows(1), keys=ENRICHMENT_KEYS
        )
    with pytest.raises(ValueError, match="must be columns"):
        merge_sql("enrichment.feedback_enrichment", ["a"], ["b"], "(:r0_c0)")
    assert connection.writes() == []


def test_embeddings_upsert_binds_vectors_as_arrays(warehouse, connection):
    frame = pd.DataFrame(
        [
            {
                "unit_id": f"u{i}",
                "feedback_id": f"fb{i}",
                "text_hash": f"h{i}",
                "embedding_model": "all-MiniLM-L6-v2",
                "embedding_version": "e1",
                "vector": [0.25 * i] * 384,
                "embedded_at": datetime(2026, 11, 21),
            }
            for i in range(3)
        ]
    )
    warehouse.upsert("enrichment.embeddings", frame, keys=["unit_id", "embedding_version"])
    (statement,) = connection.writes()
    assert statement.parameters["r2_c5"] == [0.5] * 384
    stored = warehouse.query_df(
        "select unit_id, len(vector) as dims, vector[1] as first from enrichment.embeddings order by unit_id"
    )
    assert stored.to_dict("records") == [
        {"unit_id": "u0", "dims": 384, "first": 0.0},
        {"unit_id": "u1", "dims": 384, "first": 0.25},
        {"unit_id": "u2", "dims": 384, "first": 0.5},
    ]


def test_review_decision_goes_through_the_protocol(warehouse, connection, settings):
    from feedback_ops.review.decisions import ReviewedLabels, record_decision

    warehouse.upsert("enrichment.feedback_enrichment", enrichment_rows(3), keys=ENRICHMENT_KEYS)
    connection.statements.clear()
    decision = record_decision(
        warehouse,
        settings,
        "fb0001",
        "correct",
        "ann",
        ReviewedLabels(category="billing"),
        decided_at=datetime(2026, 11, 22, 9, 30),
    )
    (insert,) = connection.writes()
    assert isinstance(sqlglot.parse_one(insert.sql, read="databricks"), exp.Insert)
    assert insert.sql.startswith("insert into enrichment.review_decisions (decision_id, feedback_id,")
    assert insert.parameters["r0_c1"] == "fb0001"
    stored = warehouse.query_df(
        "select feedback_id, category, model_category, reviewer from enrichment.review_decisions"
    )
    assert stored.to_dict("records") == [
        {"feedback_id": "fb0001", "category": "billing", "model_category": "bug", "reviewer": "ann"}
    ]
    assert decision.category == "billing"
    # positional ``?`` parameters of the shared SQL reach the connector as a list
    read = next(s for s in connection.statements if "from enrichment.feedback_enrichment" in s.sql)
    assert read.parameters == ["fb0001", None, None]


def test_reads_batches_and_table_exists(warehouse):
    warehouse.upsert("enrichment.feedback_enrichment", enrichment_rows(25), keys=ENRICHMENT_KEYS)
    batches = list(
        warehouse.iter_batches(
            "select feedback_id from enrichment.feedback_enrichment order by feedback_id", batch_size=10
        )
    )
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert batches[2].column("feedback_id").to_pylist()[-1] == "fb0024"
    assert (
        warehouse.scalar("select count(*) from enrichment.feedback_enrichment where category = ?", ["bug"])
        == 25
    )
    assert warehouse.table_exists("enrichment.feedback_enrichment")
    assert not warehouse.table_exists("enrichment.nothing_here")


def test_open_warehouse_selects_databricks_by_runtime(settings):
    from feedback_ops.warehouse import open_warehouse

    fake = FakeDatabricksConnection()
    configured = dataclasses.replace(
        settings,
        runtime="databricks",
        databricks=DatabricksSettings(
            host="https://adb-1.azuredatabricks.net",
            http_path="/sql/1.0/warehouses/abc",
            token="t0k",
            catalog="fo",
        ),
    )
    with mock.patch("databricks.sql.connect", return_value=fake) as connect:
        with open_warehouse(configured) as warehouse:
            assert isinstance(warehouse, DatabricksWarehouse)
            assert warehouse.table_exists("bronze.feedback_raw")
    connect.assert_called_once_with(
        server_hostname="adb-1.azuredatabricks.net",
        http_path="/sql/1.0/warehouses/abc",
        access_token="t0k",
        catalog="fo",
    )
    assert fake.closed


def test_without_a_token_the_airflow_connection_is_used(settings):
    from feedback_ops.warehouse.databricks_warehouse import connect

    configured = dataclasses.replace(
        settings, runtime="databricks", databricks=DatabricksSettings(conn_id="dbx", catalog="fo")
    )
    fake = FakeDatabricksConnection()
    with mock.patch(
        "airflow.providers.databricks.hooks.databricks_sql.DatabricksSqlHook.get_conn", return_value=fake
    ) as get_conn:
        assert connect(configured) is fake
    get_conn.assert_called_once()


def test_unknown_runtime_is_a_clear_error(settings):
    from feedback_ops.warehouse import open_warehouse

    with pytest.raises(ValueError, match="unknown runtime 'cloud'"):
        with open_warehouse(dataclasses.replace(settings, runtime="cloud")):
            pass


def test_dbt_profile_environment_from_settings_or_the_airflow_connection(settings, monkeypatch):
    from feedback_ops.transform.dbt_runner import dbt_environment

    explicit = dataclasses.replace(
        settings,
        runtime="databricks",
        dbt_target="databricks",
        databricks=DatabricksSettings(
            host="https://adb-2.azuredatabricks.net",
            http_path="/sql/1.0/warehouses/e",
            token="env-token",
            catalog="c1",
        ),
    )
    environment = dbt_environment(explicit)
    assert environment["DATABRICKS_HOST"] == "adb-2.azuredatabricks.net"
    assert (environment["DATABRICKS_TOKEN"], environment["DATABRICKS_CATALOG"]) == ("env-token", "c1")

    monkeypatch.setenv(
        "AIRFLOW_CONN_DBX_TEST",
        '{"conn_type": "databricks", "host": "https://adb-3.azuredatabricks.net", "password": "conn-token", '
        '"extra": {"http_path": "/sql/1.0/warehouses/from-conn"}}',
    )
    from_connection = dataclasses.replace(
        explicit, databricks=DatabricksSettings(conn_id="dbx_test", catalog="c2")
    )
    environment = dbt_environment(from_connection)
    assert environment["DATABRICKS_HOST"] == "adb-3.azuredatabricks.net"
    assert environment["DATABRICKS_HTTP_PATH"] == "/sql/1.0/warehouses/from-conn"
    assert environment["DATABRICKS_TOKEN"] == "conn-token"

    monkeypatch.setenv(
        "AIRFLOW_CONN_DBX_EMPTY", '{"conn_type": "databricks", "host": "adb-4.azuredatabricks.net"}'
    )
    with pytest.raises(ValueError, match="needs token, http_path"):
        dbt_environment(dataclasses.replace(explicit, databricks=DatabricksSettings(conn_id="dbx_empty")))


def test_runtime_databricks_selects_the_databricks_dbt_target(monkeypatch):
    from feedback_ops.config import Settings

    monkeypatch.delenv("FEEDBACK_OPS_DBT_TARGET", raising=False)
    monkeypatch.setenv("FEEDBACK_OPS_RUNTIME", "databricks")
    assert Settings.from_env().dbt_target == "databricks"
    monkeypatch.setenv("FEEDBACK_OPS_DBT_TARGET", "local")
    assert Settings.from_env().dbt_target == "local"
