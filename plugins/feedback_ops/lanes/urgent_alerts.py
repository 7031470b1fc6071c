"""Per-item alerts of the urgent lane: one message per urgent feedback item, the moment it is enriched.

Spike alerts (``alerts.dispatch``) wait for gold and a day's volume; an item of urgency high or critical
cannot wait for either. Its alert goes through the same machinery — ``AlertStore`` records it with a pending
delivery per destination, the ``Dispatcher`` delivers to the local log and the category's routed destinations,
failed deliveries are retried by later alert runs — as kind ``urgent_item``. The ``alert_id`` is derived from
the feedback id, and an item already alerted is never alerted again (dedupe across re-runs and lanes).

One item never stops the others: an item whose message cannot be built (a record error, ``enrich.failures``)
is set aside in ``enrichment.record_failures`` (stage ``alerts``), counted in ``UrgentAlertRun.failed`` and not
tried again at the same enrichment version.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings
from feedback_ops.enrich.failures import RECORD_ERRORS, failed_items, failure_of, write_failures
from feedback_ops.warehouse.dialect import in_list

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

URGENT_ITEM = "urgent_item"
URGENT_LEVELS = ("high", "critical")

URGENT_ITEMS_SQL = """
    select
        e.feedback_id, e.category, e.urgency, e.sentiment_score, e.redacted_text, e.lane, e.model_name,
        e.model_version, e.prompt_version, e.taxonomy_version, s.source_record_id, s.channel, s.url,
        s.product_area, s.created_at, s.bronze_row_id, s.source_file,
        i.summary, i.root_cause, i.next_action
    from enrichment.feedback_enrichment as e
    join silver.int_feedback_deduplicated as s on s.feedback_id = e.feedback_id
    left join enrichment.feedback_insights as i
        on i.feedback_id = e.feedback_id and i.enrichment_version = e.enrichment_version
    where e.enrichment_version = ? and e.urgency in ('high', 'critical')
        and {ids_match}
    qualify row_number() over (partition by e.feedback_id order by i.rich_version desc nulls last) = 1
    order by e.feedback_id
"""


@dataclass
class UrgentAlertRun:
    """What one urgent-lane alert run sent (the task's XCom)."""

    urgent_items: int = 0
    already_alerted: int = 0
    failed: int = 0
    """Items set aside (their message could not be built), skipped by later runs at this version."""
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def urgent_alert_id(feedback_id: str) -> str:
    """The alert of one item: the same id however often and by whichever lane it is raised."""
    return "urg_" + hashlib.sha256(f"{URGENT_ITEM}|{feedback_id}".encode()).hexdigest()[:16]


def urgent_item_payload(
    item: dict[str, Any], owner: str, link: str, versions: dict[str, Any]
) -> dict[str, Any]:
    """The message about one urgent item, in the shape every channel renders (``alerts.messages``)."""
    created = str(item.get("created_at") or "")
    category, area = item["category"], item.get("product_area")
    example = {**item, "link": link}
    payload = {
        "alert_id": urgent_alert_id(item["feedback_id"]),
        "kind": URGENT_ITEM,
        "title": f"Urgent ({item['urgency']}) {category} feedback" + (f" on {area}" if area else ""),
        "summary": item.get("summary") or (item.get("redacted_text") or "")[:280],
        "theme": {"category": category, "product_area": area},
        "owner": owner,
        "window": {"first_day": created[:10], "last_day": created[:10]},
        "volume": 1,
        "volume_trend": [],
        "examples": [example],
        "feedback_ids": [item["feedback_id"]],
        "source_records": [example],
        "versions": {
            **versions,
            "models": [
                {
                    k: item.get(k)
                    for k in ("model_name", "model_version", "prompt_version", "taxonomy_version")
                }
            ],
        },
    }
    payload["revision"] = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    return payload


def raise_urgent_item_alerts(
    warehouse: Warehouse,
    settings: Settings,
    feedback_ids: Sequence[str],
    enrichment_version: str,
    as_of: datetime,
    sleep: Any = time.sleep,
) -> UrgentAlertRun:
    """Alert each urgent item among ``feedback_ids`` (enriched at ``enrichment_version``) not alerted before.

    Args:
        as_of: when the lane raises them (the wall clock: the alert's point is to be immediate).
    """
    from feedback_ops.alerts.dispatch import Dispatcher, outgoing_message
    from feedback_ops.alerts.routing import load_alert_routing
    from feedback_ops.alerts.spikes import records, theme_owners
    from feedback_ops.alerts.state import AlertStore

    routing = load_alert_routing(settings.alert_routing_path)
    store = AlertStore(warehouse)
    sent = store.sent(kind=URGENT_ITEM)
    owners = theme_owners(settings)
    urgent_items = URGENT_ITEMS_SQL.format(ids_match=in_list(warehouse, "e.feedback_id"))
    items = records(warehouse.query_df(urgent_items, [enrichment_version, list(feedback_ids)]))
    dispatcher = Dispatcher(store, settings, routing, as_of, sleep)
    run = UrgentAlertRun(urgent_items=len(items))
    versions = {"enrichment_version": enrichment_version, "alert_routing_version": routing.version}
    set_aside = failed_items(warehouse, "alerts", enrichment_version)
    for item in items:
        alert_id = urgent_alert_id(item["feedback_id"])
        if alert_id in sent:
            run.already_alerted += 1
            continue
        if item["feedback_id"] in set_aside:
            run.failed += 1
            continue
        owner = owners.get(item["category"], "unassigned")
        try:
            payload = urgent_item_payload(item, owner, routing.links.link(item), versions)
        except RECORD_ERRORS as error:
            failure = failure_of("alerts", enrichment_version, error, feedback_id=item["feedback_id"])
            write_failures(warehouse, [failure])
            run.failed += 1
            continue
        deliveries = dispatcher.send(outgoing_message(payload, None, as_of))
        run.alerts.append(
            {"alert_id": alert_id, "feedback_id": item["feedback_id"], "deliveries": deliveries}
        )
    return run
