"""
### reindex — a new embedding model, rolled out without search ever going empty

Run it (trigger by hand, or let the weekly schedule catch up) after changing the embedding model or its
settings. It re-embeds only the months of feedback whose analysis units have no vector at the configured
embedding version, builds a complete new search index beside the active one, checks its document count
against the warehouse, and only then switches searches to it (`ACTIVE.json` under `.local/index/`) and removes
the old file. A failure at any step leaves the old index serving. When the active index is already current,
it only embeds what is missing and changes nothing else.

Shares the one-slot `warehouse` pool with `feedback_pipeline`, so a rebuild never races a pipeline run.
Logic lives in `feedback_ops.search.reindex`; this file only wires it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

default_args = {
    "owner": "feedback-ops",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "pool": "warehouse",
}


@task
def reindex_stale_partitions() -> dict:
    """Re-embed stale partitions; rebuild and switch the index when the embedding version changed."""
    from feedback_ops.search.reindex import reindex

    return reindex().as_dict()


@dag(
    dag_id="reindex",
    doc_md=__doc__,
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    schedule="@weekly",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "search", "batch"],
)
def reindex_dag():
    reindex_stale_partitions()


reindex_dag()
