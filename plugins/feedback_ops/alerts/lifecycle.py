"""Acknowledge and resolve alerts, with who and when: ``alerts.alert_events``, appended and never updated.

An alert's lifecycle state is derived from its events: the first ``acknowledged`` event is its
acknowledgement, the first ``resolved`` event its resolution. Acknowledging or resolving twice records nothing
new and returns the state as it was (idempotent), so a retried webhook callback or a second operator's click is
harmless. Resolving implies nothing about acknowledgement: time-to-acknowledge stays unknown when nobody
acknowledged. Event times are the wall clock (UTC) of the action, whereas ``opened_at`` is the data time of the
alert: on historical sample data the two clocks differ by a lot, so lifecycle durations are only meaningful
when the pipeline runs on current data.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.alerts.state import INCIDENTS

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

EVENTS = "alerts.alert_events"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
EVENT_KINDS = (ACKNOWLEDGED, RESOLVED)
MAX_NOTE_CHARS = 2000


class AlertLifecycleError(ValueError):
    """An action that cannot be recorded: unknown alert id, missing actor, unknown event."""


class UnknownAlertError(AlertLifecycleError):
    """No alert has this id."""


@dataclass(frozen=True)
class AlertState:
    """An alert with its lifecycle: who acknowledged and resolved it, and when (None when not yet)."""

    alert_id: str
    category: str
    product_area: str | None
    last_event: str
    opened_at: datetime
    sent_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None

    @property
    def status(self) -> str:
        """``resolved``, ``acknowledged`` or ``open``."""
        if self.resolved_at is not None:
            return RESOLVED
        return ACKNOWLEDGED if self.acknowledged_at is not None else "open"

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (times as ISO text)."""
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}
        return {**values, "status": self.status}


def _clean(value: Any) -> Any:
    """None for pandas' missing values; datetimes as plain ``datetime``."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "to_pydatetime"):
        return None if str(value) == "NaT" else value.to_pydatetime()
    return value


_STATE_SQL = f"""
    with firsts as (
        select alert_id, event, actor, note, occurred_at,
               row_number() over (partition by alert_id, event order by occurred_at, event_id) as rank
        from {EVENTS}
    )
    select i.alert_id, i.category, i.product_area, i.last_event, i.opened_at, i.sent_at,
           a.occurred_at as acknowledged_at, a.actor as acknowledged_by,
           r.occurred_at as resolved_at, r.actor as resolved_by, r.note as resolution_note
    from {INCIDENTS} i
    left join firsts a on a.alert_id = i.alert_id and a.event = '{ACKNOWLEDGED}' and a.rank = 1
    left join firsts r on r.alert_id = i.alert_id and r.event = '{RESOLVED}' and r.rank = 1
"""


def list_alerts(warehouse: Warehouse, include_resolved: bool = True) -> list[AlertState]:
    """Every alert with its lifecycle, most recently sent first."""
    frame = warehouse.query_df(f"{_STATE_SQL} order by i.sent_at desc, i.alert_id")
    states = [AlertState(**{k: _clean(v) for k, v in row.items()}) for row in frame.to_dict("records")]
    return [s for s in states if include_resolved or s.status != RESOLVED]


def get_alert(warehouse: Warehouse, alert_id: str) -> AlertState:
    """One alert's lifecycle; :class:`UnknownAlertError` when no alert has this id."""
    frame = warehouse.query_df(f"{_STATE_SQL} where i.alert_id = ?", [alert_id])
    if frame.empty:
        raise UnknownAlertError(f"no alert {alert_id!r} (see `feedback-ops alerts list`)")
    return AlertState(**{k: _clean(v) for k, v in frame.to_dict("records")[0].items()})


def record_event(
    warehouse: Warehouse,
    alert_id: str,
    event: str,
    by: str,
    note: str | None = None,
    source: str = "cli",
    at: datetime | None = None,
) -> tuple[AlertState, bool]:
    """Acknowledge or resolve an alert; returns its state after the action and whether an event was recorded
    (False when the alert already was in that state: nothing is appended).

    Args:
        event: ``acknowledged`` or ``resolved``.
        by: who acts (required, stored with the event).
        source: where the action came from (``cli``, ``callback``).
        at: when (naive UTC); the wall clock by default.
    """
    if event not in EVENT_KINDS:
        raise AlertLifecycleError(f"unknown event {event!r}: expected one of {', '.join(EVENT_KINDS)}")
    actor = (by or "").strip()
    if not actor:
        raise AlertLifecycleError('who acts is required (--by NAME, or "by" in the callback body)')
    note = (note or "").strip()[:MAX_NOTE_CHARS] or None
    with warehouse.transaction():
        state = get_alert(warehouse, alert_id)
        already = state.acknowledged_at if event == ACKNOWLEDGED else state.resolved_at
        if already is not None:
            return state, False
        occurred_at = at or datetime.now(UTC).replace(tzinfo=None)
        event_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{alert_id}|{event}|{actor}|{occurred_at.isoformat()}")
        )
        warehouse.execute(
            f"insert into {EVENTS} (event_id, alert_id, event, actor, note, occurred_at, source) "
            f"values (?, ?, ?, ?, ?, ?, ?)",
            [event_id, alert_id, event, actor, note, occurred_at, source],
        )
        return get_alert(warehouse, alert_id), True


def acknowledge(
    warehouse: Warehouse, alert_id: str, by: str, note: str | None = None, source: str = "cli"
) -> tuple[AlertState, bool]:
    """Acknowledge an alert (idempotent): see :func:`record_event`."""
    return record_event(warehouse, alert_id, ACKNOWLEDGED, by, note, source)


def resolve(
    warehouse: Warehouse, alert_id: str, by: str, note: str | None = None, source: str = "cli"
) -> tuple[AlertState, bool]:
    """Resolve an alert (idempotent): see :func:`record_event`."""
    return record_event(warehouse, alert_id, RESOLVED, by, note, source)
