"""
### urgent_lane — new feedback to an alert in a minute

Event-driven: scheduled on the `feedback_landing` asset, whose watcher runs in the triggerer and fires when
export files land (locally a trigger polling the landing folder; with `FEEDBACK_OPS_URGENT_TRIGGER=service_bus`
the microsoft-azure provider's Service Bus queue trigger). The run loads **just the arrived files** into bronze,
rebuilds silver, **screens just their records** (cheap pass, the urgent lane's budget and batch size, strong
tier only), runs the rich pass on the items routed to it, and raises **one alert per urgent item** (urgency
high / critical) through the alert machinery (log + routed destinations, deduplicated per item).

Claims in the warehouse keep this lane and the hourly `feedback_pipeline` from enriching a record twice; the
main DAG skips what this lane enriched. Logic lives in `feedback_ops.lanes.urgent`; this file only wires it.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, AssetWatcher, chain, dag, task

from feedback_ops.config import get_settings
from feedback_ops.dag_defaults import START_DATE, dag_default_args
from feedback_ops.lanes import urgent
from feedback_ops.lanes.triggers import urgent_lane_trigger

landing = Asset(
    name="feedback_landing",
    uri=get_settings().landing_dir.as_uri(),
    watchers=[AssetWatcher(name="feedback_landing_watcher", trigger=urgent_lane_trigger())],
)

default_args = dag_default_args(retry_delay=timedelta(seconds=10))


@task
def load_arrivals(triggering_asset_events=None):
    """Load the files the trigger reported into bronze."""
    return urgent.load_arrivals(urgent.arrived_files(urgent.events_of(triggering_asset_events)))


@task
def build_silver():
    """dbt build of staging + intermediate (silver)."""
    return urgent.build_silver()


@task
def screen_enrich_alert(loaded: dict):
    """Screen the arrived records, enrich and alert the urgent ones."""
    return urgent.screen_enrich_alert(loaded["files"])


@dag(
    dag_id="urgent_lane",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule=[landing],
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "urgent"],
)
def urgent_lane():
    loaded = load_arrivals()
    chain(loaded, build_silver(), screen_enrich_alert(loaded))


urgent_lane()
