"""
### batch_lane — daily reconciliation, backfills and cheap enrichment

Once a day (the batch lane's cadence, `FEEDBACK_OPS_LANE_BATCH_CADENCE`): **reconcile** — every silver record
must have a current enrichment (or quarantine row), an embedding and a search-index document — then process
what is missing in this lane: the enrichment backlog goes through **provider batch jobs** on Azure OpenAI
(JSONL upload, poll, parse, failed lines retried; half the price) or the local models locally, within the batch
lane's budget; embeddings and index documents through the embed-and-index stage. A final reconciliation
reports what is still missing (quarantined or deferred records say why).

**Backfill**: trigger with params `backfill_start` / `backfill_end` (ISO dates) to enrich only the records
created in that range. Claims keep this lane from enriching what the urgent or micro-batch lane is working on.
Logic lives in `feedback_ops.lanes.batch`; this file only wires it.
"""

from __future__ import annotations

from airflow.sdk import Param, chain, dag, task

from feedback_ops.config import get_settings
from feedback_ops.dag_defaults import START_DATE, dag_default_args
from feedback_ops.lanes import batch

default_args = dag_default_args()


@task(retries=0)
def reconcile_before():
    """What silver records lack: enrichment, embedding, index document."""
    return batch.reconcile().as_dict()


@task
def enrich_backlog(params=None):
    """Enrich the backlog (or the backfill range) in the batch lane."""
    params = params or {}
    return batch.enrich_backlog(
        backfill_start=params.get("backfill_start"), backfill_end=params.get("backfill_end")
    )


@task
def embed_and_index():
    """Embed missing units and push missing index documents."""
    return batch.embed_and_index()


@task(retries=0)
def reconcile_after():
    """What is still missing after the lane ran."""
    return batch.reconcile().as_dict()


@dag(
    dag_id="batch_lane",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule=get_settings().lanes.lane("batch").cadence,
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={
        "backfill_start": Param(None, type=["null", "string"], format="date", description="first day (ISO)"),
        "backfill_end": Param(None, type=["null", "string"], format="date", description="last day (ISO)"),
    },
    tags=["feedback-ops", "batch"],
)
def batch_lane():
    chain(reconcile_before(), enrich_backlog(), embed_and_index(), reconcile_after())


batch_lane()
