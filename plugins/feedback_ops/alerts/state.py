"""What has been sent, where, and what still has to be: ``alerts.alert_incidents`` and ``alerts.alert_deliveries``.

A message is recorded with one ``pending`` delivery per destination before anything is posted, and each
delivery is then marked ``delivered``, ``failed`` or ``unconfigured``: a crash or an outage leaves rows that
the next run retries, so no alert is lost. Times are the run's data time, never the wall clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.alerts.policy import SentAlert
from feedback_ops.alerts.routing import THEME_SPIKE
from feedback_ops.warehouse.dialect import list_rows

if TYPE_CHECKING:
    from feedback_ops.alerts.notifiers import DeliveryResult
    from feedback_ops.warehouse.base import Warehouse

INCIDENTS = "alerts.alert_incidents"
DELIVERIES = "alerts.alert_deliveries"
ALERTED_ITEMS = "alerts.alerted_items"
RETRYABLE_STATUSES = ("pending", "failed")


def _as_date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def _as_datetime(value: Any) -> datetime:
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value


class AlertStore:
    """Reads and writes the alert state tables of the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def sent(self, kind: str = THEME_SPIKE) -> dict[str, SentAlert]:
        """``alert_id`` -> the last message sent about it, for the alerts of one kind."""
        rows = self.warehouse.query_df(
            f"select alert_id, revision, last_day, volume, update_count, opened_at, sent_at from {INCIDENTS} "
            "where coalesce(kind, ?) = ?",
            [THEME_SPIKE, kind],
        ).to_dict("records")
        return {
            row["alert_id"]: SentAlert(
                alert_id=row["alert_id"],
                revision=row["revision"],
                last_day=_as_date(row["last_day"]),
                volume=int(row["volume"]),
                update_count=int(row["update_count"]),
                opened_at=_as_datetime(row["opened_at"]),
                sent_at=_as_datetime(row["sent_at"]),
            )
            for row in rows
        }

    def record_message(
        self, payload: dict[str, Any], destinations: list[tuple[str, str]], as_of: datetime
    ) -> None:
        """Store the message and a ``pending`` delivery per ``(name, type)`` destination, in one transaction;
        older undelivered revisions of the same alert are superseded by it. The feedback items the message
        names are recorded in ``alerts.alerted_items`` with the time of the first message naming them."""
        import pandas as pd

        opened_at = datetime.fromisoformat(payload["opened_at"])
        incident = {
            "alert_id": payload["alert_id"],
            "category": payload["theme"]["category"],
            "product_area": payload["theme"]["product_area"],
            "first_day": payload["window"]["first_day"],
            "last_day": payload["window"]["last_day"],
            "volume": payload["volume"],
            "revision": payload["revision"],
            "last_event": payload["status"],
            "update_count": payload["update_number"],
            "opened_at": opened_at,
            "sent_at": as_of,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
            "kind": payload.get("kind", THEME_SPIKE),
        }
        pending = [
            self._delivery_row(payload["alert_id"], payload["revision"], name, kind, "pending", as_of)
            for name, kind in destinations
        ]
        with self.warehouse.transaction():
            self.warehouse.execute(
                f"update {DELIVERIES} set status = 'superseded' where alert_id = ? and revision <> ? "
                f"and status in {RETRYABLE_STATUSES}",
                [payload["alert_id"], payload["revision"]],
            )
            self.warehouse.upsert(INCIDENTS, pd.DataFrame([incident]), keys=["alert_id"])
            self.warehouse.upsert(
                DELIVERIES, pd.DataFrame(pending), keys=["alert_id", "revision", "destination"]
            )
            # the first message naming an item keeps its time: only items not yet recorded are inserted
            self.warehouse.execute(
                f"merge into {ALERTED_ITEMS} as target "
                f"using (select ? as alert_id, t.feedback_id, ? as alerted_at "
                f"from {list_rows(self.warehouse, 'feedback_id')} as t) as source "
                "on target.alert_id = source.alert_id and target.feedback_id = source.feedback_id "
                "when not matched then insert (alert_id, feedback_id, alerted_at) "
                "values (source.alert_id, source.feedback_id, source.alerted_at)",
                [payload["alert_id"], as_of, list(payload.get("feedback_ids") or [])],
            )

    @staticmethod
    def _delivery_row(
        alert_id: str, revision: str, name: str, kind: str, status: str, as_of: datetime
    ) -> dict[str, Any]:
        return {
            "alert_id": alert_id,
            "revision": revision,
            "destination": name,
            "destination_type": kind,
            "status": status,
            "attempts": 0,
            "runs": 0,
            "http_status": None,
            "last_error": None,
            "first_attempt_at": as_of,
            "last_attempt_at": as_of,
        }

    def record_delivery(
        self, alert_id: str, revision: str, destination: str, result: DeliveryResult, as_of: datetime
    ) -> None:
        """The outcome of one run's attempts at a delivery (attempts and runs accumulate across runs)."""
        self.warehouse.execute(
            f"update {DELIVERIES} set status = ?, attempts = attempts + ?, runs = runs + 1, http_status = ?, "
            f"last_error = ?, last_attempt_at = ? where alert_id = ? and revision = ? and destination = ?",
            [
                result.status,
                result.attempts,
                result.http_status,
                result.error,
                as_of,
                alert_id,
                revision,
                destination,
            ],
        )

    def abandon(self, alert_id: str, revision: str, destination: str, reason: str) -> None:
        """Stop retrying a delivery (kept, with the reason, for whoever investigates)."""
        self.warehouse.execute(
            f"update {DELIVERIES} set status = 'abandoned', last_error = ? "
            f"where alert_id = ? and revision = ? and destination = ?",
            [reason, alert_id, revision, destination],
        )

    def undelivered(self) -> list[dict[str, Any]]:
        """Pending and failed deliveries of each alert's latest message, with that message's payload."""
        frame = self.warehouse.query_df(
            f"select d.alert_id, d.revision, d.destination, d.destination_type, d.status, d.runs, i.payload "
            f"from {DELIVERIES} d join {INCIDENTS} i on d.alert_id = i.alert_id and d.revision = i.revision "
            f"where d.status in {RETRYABLE_STATUSES} order by d.alert_id, d.destination"
        )
        return frame.to_dict("records")
