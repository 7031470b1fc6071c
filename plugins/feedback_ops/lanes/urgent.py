"""The urgent lane's stages: load just the files that arrived, screen just their records, enrich and alert the
urgent ones at once. What the ``urgent_lane`` DAG's tasks call.

Same code as the main DAG, different selection: bronze loads only the arrived files; silver is rebuilt by the
same dbt models; the cheap pass (``enrich_pending``) runs on the arrived records only, with the urgent lane's
cost controls (small batches, strong tier only); the rich pass then explains the items its routing rules pick
(urgent ones among them); each urgent item gets its own alert (``lanes.urgent_alerts``). Claims keep the
hourly main DAG, running at the same time, from enriching the same records; it skips what this lane wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.warehouse.dialect import in_list

LANE = "urgent"

ARRIVED_IDS_SQL = """
    select feedback_id from silver.int_feedback_deduplicated
    where {files_match} order by feedback_id
"""


def _files_in_message(message: Any) -> list[str]:
    """File names in a Service Bus message body: ``{"files": [...]}``, an Event Grid ``BlobCreated`` event
    (``data.url`` / ``subject`` ending in the blob path), or a plain file name."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except json.JSONDecodeError:
            return [message.strip()] if message.strip() else []
    if isinstance(message, list):
        return [name for part in message for name in _files_in_message(part)]
    if isinstance(message, dict):
        if "files" in message:
            return [str(name) for name in message["files"]]
        url = (message.get("data") or {}).get("url") or message.get("subject") or ""
        return [str(url).rsplit("/", 1)[-1]] if url else []
    return []


def arrived_files(asset_events: Iterable[Any]) -> list[str]:
    """The landed file names the DAG run's triggering asset events carry (``extra["payload"]`` of the
    trigger's event: the landing trigger's ``files``, or a Service Bus ``message``); [] for a manual run."""
    names: set[str] = set()
    for event in asset_events:
        extra = (
            getattr(event, "extra", None) or (event.get("extra") if isinstance(event, dict) else None) or {}
        )
        payload = extra.get("payload") or {}
        if "files" in payload:
            names.update(str(name) for name in payload["files"])
        elif "message" in payload:
            names.update(_files_in_message(payload["message"]))
    return sorted(names)


def events_of(triggering_asset_events: Any) -> list[Any]:
    """Flatten Airflow's ``triggering_asset_events`` (asset -> events) into one list of events."""
    if not triggering_asset_events:
        return []
    return [event for events in triggering_asset_events.values() for event in events]


def load_arrivals(files: list[str], settings: Settings | None = None) -> dict[str, Any]:
    """Load the arrived files into bronze (all new landing files when none are named: a manual run)."""
    from feedback_ops.ingest.bronze import load_landing_to_bronze
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    with open_warehouse(settings) as warehouse:
        loaded = load_landing_to_bronze(warehouse, settings, only=files or None).as_dict()
    return {**loaded, "files": files or loaded["files_loaded"]}


def build_silver(settings: Settings | None = None) -> dict[str, Any]:
    """dbt: the silver models and their data tests, as in the main DAG (the new records get their
    ``feedback_id``), without dbt's unit tests: those check the models' logic, not the data, and the main
    DAG runs them every hour; here they would only add seconds between a landed file and its alert. A file
    that broke its contract is parked as in the main DAG (``pipeline.park_and_rebuild``): none of its rows is
    screened. The pipeline's dbt vars, so dbt reuses the project the main DAG parsed instead of parsing it
    again."""
    from feedback_ops import pipeline

    return pipeline.build_silver(
        settings or get_settings(), extra_args=["--exclude-resource-type", "unit_test"]
    )


def screen_enrich_alert(files: list[str], settings: Settings | None = None) -> dict[str, Any]:
    """Cheap pass on the arrived records, rich pass on the ones routed to it, one alert per urgent item."""
    from feedback_ops.enrich.claims import utc_now
    from feedback_ops.enrich.rich_runner import enrich_rich_pending
    from feedback_ops.enrich.runner import enrich_pending
    from feedback_ops.lanes.urgent_alerts import raise_urgent_item_alerts
    from feedback_ops.warehouse import open_warehouse

    settings = (settings or get_settings()).for_lane(LANE)
    with open_warehouse(settings) as warehouse:
        arrived = ARRIVED_IDS_SQL.format(files_match=in_list(warehouse, "source_file"))
        ids = warehouse.query_df(arrived, [files])["feedback_id"].tolist()
        cheap = enrich_pending(warehouse, settings, lane=LANE, feedback_ids=ids)
        rich = enrich_rich_pending(warehouse, settings, cheap.enrichment_version, lane=LANE, feedback_ids=ids)
        alerts = raise_urgent_item_alerts(warehouse, settings, ids, cheap.enrichment_version, as_of=utc_now())
    return {
        "files": files,
        "records": len(ids),
        "screened": cheap.as_dict(),
        "rich_pass": rich.as_dict(),
        "alerts": alerts.as_dict(),
    }
