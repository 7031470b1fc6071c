"""One alerting run: decide per incident (open, update, hold, nothing), deliver, record, retry what failed.

The local log always gets a copy; routed destinations come from ``include/alert_routing.yaml``. ``as_of`` is
the run's data time (logical date, or the latest ``created_at`` in gold): cooldowns compare data times, so a
re-run over the same data sends nothing and leaves the alert log unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.alerts.notifiers import AlertLogNotifier, Notifier, Sleep, build_notifier
from feedback_ops.alerts.policy import Decision, SentAlert, decide
from feedback_ops.alerts.routing import AlertRouting, load_alert_routing
from feedback_ops.alerts.spikes import Incident, build_payload, read_incidents, theme_owners
from feedback_ops.alerts.state import AlertStore
from feedback_ops.config import Settings

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

log = logging.getLogger(__name__)


@dataclass
class AlertRun:
    """What one run decided and delivered (the task's XCom)."""

    as_of: str
    alerts: list[dict[str, Any]] = field(default_factory=list)
    retries: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"as_of": self.as_of, "alerts": self.alerts, "retries": self.retries}


def data_time(warehouse: Warehouse) -> datetime:
    """The latest ``created_at`` of enriched feedback in gold: "now" as far as the data knows, never later than
    the latest load (``ingested_at``): a record dated ahead of ingestion does not move it."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return datetime(1970, 1, 1)
    value = warehouse.scalar(
        "select least(max(created_at), max(ingested_at)) from gold.fct_feedback where is_enriched"
    )
    if value is None:
        return datetime(1970, 1, 1)
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value


class Dispatcher:
    """Sends messages about incidents to the log and the routed destinations, and records every delivery."""

    def __init__(
        self, store: AlertStore, settings: Settings, routing: AlertRouting, as_of: datetime, sleep: Sleep
    ) -> None:
        self.store = store
        self.routing = routing
        self.as_of = as_of
        self.sleep = sleep
        self.log_notifier = AlertLogNotifier(settings.alert_log)

    def notifier(self, destination_name: str) -> Notifier | None:
        """The notifier of a destination name (``log`` is the local log); None when the route was removed."""
        if destination_name == "log":
            return self.log_notifier
        destination = self.routing.destinations.get(destination_name)
        if destination is None:
            return None
        return build_notifier(destination, self.routing.delivery, self.sleep)

    def deliver(self, payload: dict[str, Any], notifier: Notifier) -> str:
        """One delivery, recorded; returns its status."""
        result = notifier.deliver(payload)
        self.store.record_delivery(
            payload["alert_id"], payload["revision"], notifier.name, result, self.as_of
        )
        if result.status != "delivered":
            log.warning(
                "alert %s to %s: %s (%s)", payload["alert_id"], notifier.name, result.status, result.error
            )
        return result.status

    def send(self, payload: dict[str, Any]) -> dict[str, str]:
        """Record the message with a pending delivery per destination, then deliver to each."""
        routed = self.routing.destinations_for_alert(payload)
        payload["routed_to"] = [d.name for d in routed]
        notifiers: list[Notifier] = [
            self.log_notifier,
            *(build_notifier(d, self.routing.delivery, self.sleep) for d in routed),
        ]
        self.store.record_message(payload, [(n.name, n.type) for n in notifiers], self.as_of)
        return {n.name: self.deliver(payload, n) for n in notifiers}

    def retry_undelivered(self, skip: set[str]) -> list[dict[str, Any]]:
        """Retry pending and failed deliveries of earlier runs, except for alerts about to be re-sent."""
        retried = []
        for row in self.store.undelivered():
            if row["alert_id"] in skip:
                continue
            notifier = self.notifier(row["destination"])
            if notifier is None or row["runs"] >= self.routing.delivery.max_runs:
                reason = (
                    "destination removed from routing" if notifier is None else "retried in too many runs"
                )
                self.store.abandon(row["alert_id"], row["revision"], row["destination"], reason)
                status = "abandoned"
            else:
                status = self.deliver(json.loads(row["payload"]), notifier)
            retried.append({"alert_id": row["alert_id"], "destination": row["destination"], "status": status})
        return retried


def outgoing_message(payload: dict[str, Any], previous: SentAlert | None, as_of: datetime) -> dict[str, Any]:
    """The payload as sent: opened (no previous message) or the next update of the same alert."""
    return {
        **payload,
        "status": "opened" if previous is None else "updated",
        "update_number": 0 if previous is None else previous.update_count + 1,
        "opened_at": (as_of if previous is None else previous.opened_at).isoformat(),
        "sent_at": as_of.isoformat(),
    }


def raise_spike_alerts(
    warehouse: Warehouse,
    settings: Settings,
    versions: dict[str, Any],
    as_of: datetime | None = None,
    routing: AlertRouting | None = None,
    sleep: Sleep = time.sleep,
) -> AlertRun:
    """Open or update one alert per incident as the policy says, then retry earlier undelivered messages."""
    routing = routing or load_alert_routing(settings.alert_routing_path)
    as_of = as_of or data_time(warehouse)
    store = AlertStore(warehouse)
    sent = store.sent()
    owners = theme_owners(settings)
    versions = {**versions, "alert_routing_version": routing.version}
    decided: list[tuple[Incident, dict[str, Any], Decision]] = []
    for incident in read_incidents(warehouse):
        payload = build_payload(warehouse, incident, owners, versions, routing.links)
        previous = sent.get(incident.alert_id)
        decision = decide(
            incident.volume, incident.last_day, payload["revision"], previous, as_of, routing.policy
        )
        decided.append((incident, payload, decision))
    dispatcher = Dispatcher(store, settings, routing, as_of, sleep)
    run = AlertRun(as_of=as_of.isoformat())
    run.retries = dispatcher.retry_undelivered(skip={i.alert_id for i, _, d in decided if d.sends})
    for incident, payload, decision in decided:
        summary = {"alert_id": incident.alert_id, "title": payload["title"], "action": decision.action}
        summary["reason"] = decision.reason
        if decision.sends:
            message = outgoing_message(payload, sent.get(incident.alert_id), as_of)
            summary["deliveries"] = dispatcher.send(message)
        run.alerts.append(summary)
    return run
