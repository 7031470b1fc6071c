"""
### reindex — a new embedding model, rolled out without search ever going empty

Run it (trigger by hand, or let the weekly schedule catch up) after changing the embedding model or its
settings. It re-embeds only the months of feedback whose analysis units have no vector at the configured
embedding version, builds a complete new search index beside the active one, checks its document count
against the warehouse, and only then switches searches to it (`ACTIVE.json` under `.local/index/`) and removes
the old file. A failure at any step leaves the old index serving. When the active index is already current,
it only embeds what is missing and changes nothing else.

Shares the one-slot `warehouse` pool with `feedback_pipeline`, so a rebuild never races a pipeline run.
Logic lives in `feedback_ops.search.reindex`; this file only wires it. A failed task alerts the operators.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from feedback_ops.dag_defaults import START_DATE, dag_default_args

default_args = dag_default_args()


@task
def reindex_stale_partitions() -> dict:
    """Re-embed stale partitions; rebuild and switch the index when the embedding version changed."""
    from feedback_ops.search.reindex import reindex

    return reindex().as_dict()


@dag(
    dag_id="reindex",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule="@weekly",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "search", "batch"],
)
def reindex_dag():
    reindex_stale_partitions()


reindex_dag()
