"""
### retention — raw customer text purged per layer after N days, everything derived from it kept

Once a day, on the configured runtime (DuckDB locally, Databricks SQL in the cloud), replaces the raw text
of records older than each layer's `raw_text_days` in `include/retention.yaml` — bronze payloads, the silver
tables and `gold.fct_feedback` — with the PII-redacted text (or a marker). Rows, ids, labels, embeddings,
redacted text and gold aggregates stay, so reconciliation and traceability hold. Cutoffs count from the
run's logical date, so a re-run purges nothing more. Each run appends the rows purged per table to
`ops.retention_runs`. Logic lives in `feedback_ops.ops.retention`; this file only wires it.
A failed task alerts the operators.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from feedback_ops import pipeline
from feedback_ops.dag_defaults import START_DATE, dag_default_args

default_args = dag_default_args(retries=2)


@task
def apply_retention(logical_date=None):
    """Purge raw text past retention; record counts in ops.retention_runs."""
    return pipeline.apply_retention(as_of=logical_date)


@dag(
    dag_id="retention",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "retention", "batch"],
)
def retention():
    apply_retention()


retention()
