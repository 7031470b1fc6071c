"""Airflow tasks of the Databricks bronze load: a landing sensor on ADLS Gen2, then ``COPY INTO`` + ``MERGE``.

Built only when ``runtime`` is ``databricks`` (``feedback_ops.pipeline.bronze_ingestion_tasks``), so the
providers are imported at DAG parse time only on a deployment that uses them. The task ids are the local
ones (``land``, ``load_bronze``) so the rest of the DAG, its gates and its tests are the same on both runtimes.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import Settings
from feedback_ops.ingest.databricks_copy_into import bronze_load_statements


def landing_sensor(settings: Settings, **operator_args: Any) -> Any:
    """``land``: wait until the landing prefix holds at least one blob (``WasbPrefixSensor`` of the
    microsoft-azure provider; an ADLS Gen2 account answers the Blob API). Reschedules instead of holding a
    worker slot, and gives up after ten minutes: the next scheduled run looks again."""
    from airflow.providers.microsoft.azure.sensors.wasb import WasbPrefixSensor

    databricks = settings.databricks
    return WasbPrefixSensor(
        task_id="land",
        container_name=databricks.landing_container,
        prefix=databricks.landing_prefix,
        wasb_conn_id=databricks.adls_conn_id,
        mode="reschedule",
        poke_interval=60,
        timeout=600,
        retries=0,
        doc_md="Landing files present in the ADLS Gen2 container (WasbPrefixSensor).",
        **operator_args,
    )


def copy_into_bronze(settings: Settings, **operator_args: Any) -> Any:
    """``load_bronze``: the idempotent ``COPY INTO`` + ``MERGE`` statements, run by ``DatabricksSqlOperator``
    in one session on the SQL warehouse of the Databricks connection."""
    from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator

    databricks = settings.databricks
    return DatabricksSqlOperator(
        task_id="load_bronze",
        databricks_conn_id=databricks.conn_id,
        http_path=databricks.http_path,
        catalog=databricks.catalog,
        sql=bronze_load_statements(settings),
        do_xcom_push=False,
        doc_md="COPY INTO bronze.landing_files / landing_csv_records, then MERGE into bronze.feedback_raw "
        "and bronze.file_manifest (feedback_ops.ingest.databricks_copy_into).",
        **operator_args,
    )


def databricks_ingestion_tasks(settings: Settings) -> list[Any]:
    """The two ingestion tasks of the Databricks runtime, in order (created inside the caller's DAG)."""
    return [landing_sensor(settings), copy_into_bronze(settings)]
