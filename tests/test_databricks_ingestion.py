"""The Databricks bronze load: the SQL it sends (parsed as Databricks SQL), the operators the DAG gets on the
databricks runtime, and what they hand to the provider hooks (patched: no workspace, no storage account)."""

from __future__ import annotations

import dataclasses
from unittest import mock

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from feedback_ops.config import PROJECT_ROOT, DatabricksSettings, Settings, get_settings
from feedback_ops.ingest.bronze import bronze_row_id
from feedback_ops.ingest.databricks_copy_into import (
    bronze_load_statements,
    bronze_merge_statements,
    copy_into_statements,
    uuid5_sql,
)

LANDING_URL = "abfss://landing@feedbackopsprod.dfs.core.windows.net/feedback/"


@pytest.fixture
def cloud_settings() -> Settings:
    return dataclasses.replace(
        Settings(),
        runtime="databricks",
        databricks=DatabricksSettings(
            http_path="/sql/1.0/warehouses/abc123",
            catalog="feedback_prod",
            conn_id="databricks_feedback",
            adls_conn_id="adls_feedback",
            landing_account="feedbackopsprod",
            landing_container="landing",
            landing_prefix="feedback/",
        ),
    )


def test_every_statement_parses_as_databricks_sql(cloud_settings):
    statements = bronze_load_statements(cloud_settings)
    kinds = [type(sqlglot.parse_one(s, read="databricks")).__name__ for s in statements]
    assert kinds == ["Create"] * 6 + ["Copy", "Copy", "Merge", "Merge"]  # bronze tables incl. parked_files
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="databricks")
        # every warehouse table is three-part in the configured catalog (CTEs and the landing URL have no schema)
        tables = [t for t in tree.find_all(exp.Table) if t.db]
        assert tables and {(t.catalog, t.db) for t in tables} == {("feedback_prod", "bronze")}, statement[:80]


def test_copy_into_reads_the_landing_container_whole_files_and_csv_records(cloud_settings):
    whole, csv_records = copy_into_statements(cloud_settings)
    for statement in (whole, csv_records):
        copy = sqlglot.parse_one(statement, read="databricks")
        assert isinstance(copy, exp.Copy)
        assert f"'{LANDING_URL}'" in statement
        assert (
            "'force' = 'false'" in statement
        )  # a file COPY INTO loaded before is skipped: re-runs copy nothing
    assert "fileformat = text pattern = '*.{csv,json,jsonl,ndjson}'" in whole
    assert "'wholeText' = 'true'" in whole and "sha2(value, 256) as file_checksum" in whole
    assert "fileformat = csv pattern = '*.csv'" in csv_records and "'multiLine' = 'true'" in csv_records


def test_merges_only_insert_so_a_retry_writes_nothing_twice(cloud_settings):
    rows, manifest = (
        sqlglot.parse_one(s, read="databricks") for s in bronze_merge_statements(cloud_settings)
    )
    for merge, key in ((rows, "bronze_row_id"), (manifest, "file_checksum")):
        whens = merge.args["whens"].expressions
        assert len(whens) == 1 and not whens[0].args.get("matched"), "only WHEN NOT MATCHED THEN INSERT"
        assert merge.args["on"].sql() == f"target.{key} = source.{key}"
    merge_text = bronze_merge_statements(cloud_settings)[0]
    assert "not in (select file_checksum from feedback_prod.bronze.file_manifest)" in merge_text
    assert "partition by file_checksum order by source_path" in merge_text  # renamed copies load once


def test_bronze_row_id_sql_equals_the_local_loaders_uuid5():
    """The SQL expression, transpiled and run on DuckDB (Spark's conv / bitwise_* as macros), gives the ids
    the Python loader gives: a record has the same bronze_row_id on both runtimes."""
    query = "select c, n, " + uuid5_sql("concat(c, ':', cast(n as string))") + " as id from t"
    connection = duckdb.connect()
    connection.execute(
        "create macro bitwise_or(a, b) as a | b; create macro bitwise_and(a, b) as a & b; "
        "create macro conv(s, f, t) as cast(cast('0x' || s as integer) as varchar)"
    )
    connection.execute(
        "create table t as select sha256(cast(i as varchar)) as c, i as n from range(1, 300) r(i)"
    )
    rows = connection.execute(sqlglot.transpile(query, read="databricks", write="duckdb")[0]).fetchall()
    assert len(rows) == 299
    assert [r[2] for r in rows] == [bronze_row_id(c, n) for c, n, _ in rows]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"catalog": "prod; drop table x"}, "DATABRICKS_CATALOG"),
        ({"landing_account": "bad account"}, "landing URL"),
    ],
)
def test_bad_settings_are_clear_errors(cloud_settings, change, message):
    broken = dataclasses.replace(
        cloud_settings, databricks=dataclasses.replace(cloud_settings.databricks, **change)
    )
    with pytest.raises(ValueError, match=message):
        bronze_load_statements(broken)


def test_local_runtime_keeps_the_python_loader(settings):
    from feedback_ops.pipeline import bronze_ingestion_tasks

    assert bronze_ingestion_tasks(settings) is None


def test_databricks_operators_call_the_provider_hooks_with_the_generated_sql(cloud_settings):
    from airflow.providers.databricks.hooks.databricks_sql import DatabricksSqlHook
    from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook
    from airflow.providers.microsoft.azure.sensors.wasb import WasbPrefixSensor
    from airflow.sdk import DAG

    from feedback_ops.pipeline import bronze_ingestion_tasks

    with DAG("ingestion_probe", schedule=None):
        land, load = bronze_ingestion_tasks(cloud_settings)
    assert isinstance(land, WasbPrefixSensor) and isinstance(load, DatabricksSqlOperator)
    assert (land.task_id, load.task_id) == ("land", "load_bronze")
    assert (land.container_name, land.prefix, land.wasb_conn_id) == ("landing", "feedback/", "adls_feedback")
    assert land.mode == "reschedule"
    assert (load.databricks_conn_id, load.http_path, load.catalog) == (
        "databricks_feedback",
        "/sql/1.0/warehouses/abc123",
        "feedback_prod",
    )

    with mock.patch.object(WasbHook, "check_for_prefix", return_value=True) as check:
        assert land.poke(context={}) is True
    check.assert_called_once()
    assert check.call_args.args[:2] == ("landing", "feedback/")

    with mock.patch.object(DatabricksSqlHook, "run", return_value=None) as run:
        load.execute(context={})
    sent = run.call_args.kwargs["sql"]
    assert sent == bronze_load_statements(cloud_settings)
    assert all(sqlglot.parse(s, read="databricks") for s in sent)


def test_the_dag_picks_the_databricks_tasks_from_settings(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator

    monkeypatch.setenv("FEEDBACK_OPS_RUNTIME", "databricks")
    monkeypatch.setenv("FEEDBACK_OPS_ADLS_ACCOUNT", "feedbackopsprod")
    get_settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "feedback_pipeline.py"))
    finally:
        get_settings.cache_clear()
    assert bag.import_errors == {}
    dag = bag.dags["feedback_pipeline"]
    load = dag.get_task("load_bronze")
    assert isinstance(load, DatabricksSqlOperator) and load.pool == "warehouse"
    assert dag.get_task("land").downstream_task_ids == {"load_bronze"}
    assert dag.get_task("load_bronze").downstream_task_ids == {"gate_bronze"}
