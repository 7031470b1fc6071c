"""
### feedback_pipeline — the whole path, land to act

Landing files → **bronze** → dbt **silver** → **enrich** (PII redaction first) → **embed and index** messages and
their sentences / turns → **emerging themes** → dbt **gold** → spike **alerts** → **report** → **Data Docs**. A Great
Expectations gate after every stage stops the run naming the contract and rows; a failed task alerts the
operators. Warehouse writers share the one-slot `warehouse` pool; logic lives in `feedback_ops.pipeline`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import chain, dag, task

from feedback_ops import pipeline
from feedback_ops.alerts.pipeline_health import on_task_failure

default_args = {
    "owner": "feedback-ops",
    "retries": 1,
    "retry_delay": timedelta(seconds=30),
    "pool": "warehouse",
    "on_failure_callback": on_task_failure,
}


@task(retries=0)
def land():
    """List landing files and which are new."""
    return pipeline.land()


@task
def load_bronze():
    """Append new files to bronze.feedback_raw."""
    return pipeline.load_bronze()


@task(retries=0)
def gate(stage: str):
    """Great Expectations gate for one stage."""
    return pipeline.check_gate(stage)


@task
def build_silver():
    """dbt build of staging + intermediate (silver)."""
    return pipeline.build_silver()


@task
def enrich():
    """PII redaction, language, sentiment, category, urgency."""
    return pipeline.enrich()


@task
def embed_and_index():
    """Embed redacted units and sync the search index."""
    return pipeline.embed_and_index()


@task
def detect_emerging_themes():
    """Cluster recent feedback the taxonomy covers badly; store the growing clusters."""
    return pipeline.detect_emerging_themes()


@task
def build_gold():
    """dbt build of the marts (gold)."""
    return pipeline.build_gold()


@task
def send_alerts(logical_date=None):
    """Open or update spike alerts; cooldowns use the run's logical date, not the wall clock."""
    return pipeline.send_alerts(as_of=logical_date)


@task
def write_report():
    """Insights report (HTML) and the daily / weekly summaries (Markdown)."""
    return pipeline.write_report()


@task
def publish_docs():
    """Great Expectations Data Docs and dbt docs."""
    return pipeline.publish_docs()


@task(retries=0)
def summarize():
    """Print the run summary."""
    print(text := pipeline.summarize())
    return text


@dag(
    dag_id="feedback_pipeline",
    doc_md=__doc__,
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    schedule="@hourly",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "micro-batch"],
)
def feedback_pipeline():
    chain(
        *(pipeline.bronze_ingestion_tasks() or [land(), load_bronze()]),  # local, or ADLS + COPY INTO
        gate.override(task_id="gate_bronze")("bronze"),
        build_silver(),
        gate.override(task_id="gate_silver")("silver"),
        enrich(),
        gate.override(task_id="gate_enrichment")("enrichment"),
        embed_and_index(),
        detect_emerging_themes(),
        build_gold(),
        gate.override(task_id="gate_gold")("gold"),
        send_alerts(),
        write_report(),
        publish_docs(),
        summarize(),
    )


feedback_pipeline()
