"""
### feedback_pipeline — the whole path, land to act

Landing files → **bronze** → dbt **silver** → **enrich** (PII redaction first) → **embed and index** messages and
their sentences / turns → **emerging themes** → dbt **gold** → spike **alerts** → **report** → **Data Docs**. A Great
Expectations gate after every stage stops the run naming the contract and rows; a failed task alerts the
operators. Warehouse writers share the one-slot `warehouse` pool. The tasks are `feedback_ops.pipeline.STAGES`,
in order (the list `feedback-ops run` runs too); the logic lives in `feedback_ops.pipeline`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import chain, dag, task

from feedback_ops import pipeline
from feedback_ops.dag_defaults import START_DATE, dag_default_args

default_args = dag_default_args(retry_delay=timedelta(seconds=30))


@task
def run_stage(name: str, logical_date=None):
    """One stage of feedback_ops.pipeline.STAGES; the task id is the stage's name."""
    return pipeline.run_stage(name, as_of=logical_date)


def stage_task(stage: pipeline.Stage):
    """The task of one stage: its name, its one-line doc, no retry where a retry cannot help (a gate)."""
    retries = {} if stage.retry else {"retries": 0}
    return run_stage.override(task_id=stage.name, doc_md=stage.doc, **retries)(stage.name)


@dag(
    dag_id="feedback_pipeline",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule="@hourly",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "micro-batch"],
)
def feedback_pipeline():
    ingestion = pipeline.bronze_ingestion_tasks()  # Databricks: the ADLS sensor + COPY INTO; locally None
    stages = [stage for stage in pipeline.STAGES if not (ingestion and stage.ingestion)]
    chain(*(ingestion or []), *(stage_task(stage) for stage in stages))


feedback_pipeline()
