"""Whether an incident deserves a message now: open it once, update it only when it grew materially, and never
twice within the cooldown. Pure functions over data times, so a re-run decides the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from feedback_ops.alerts.routing import AlertPolicy


@dataclass(frozen=True)
class SentAlert:
    """The last message sent about an incident (a row of ``alerts.alert_incidents``)."""

    alert_id: str
    revision: str
    last_day: date
    volume: int
    update_count: int
    opened_at: datetime
    sent_at: datetime


@dataclass(frozen=True)
class Decision:
    """``open`` / ``update`` send a message; ``hold`` waits for the cooldown; ``none`` has nothing to say."""

    action: str
    reason: str

    @property
    def sends(self) -> bool:
        """True when a message goes out."""
        return self.action in ("open", "update")


def decide(
    volume: int,
    last_day: date,
    revision: str,
    previous: SentAlert | None,
    as_of: datetime,
    policy: AlertPolicy,
) -> Decision:
    """The decision for an incident of ``volume`` items up to ``last_day``, given the last message about it."""
    if previous is None:
        return Decision("open", "new incident")
    if previous.revision == revision:
        return Decision("none", "unchanged since the last message")
    reasons = []
    if volume >= previous.volume * (1 + policy.update_min_growth) and volume > previous.volume:
        reasons.append(f"volume {previous.volume} -> {volume}")
    if policy.update_on_new_day and last_day > previous.last_day:
        reasons.append(f"reached {last_day}")
    if not reasons:
        return Decision("none", "changed, but not materially")
    if as_of - previous.sent_at < policy.cooldown:
        return Decision("hold", f"cooldown until {previous.sent_at + policy.cooldown}")
    return Decision("update", "; ".join(reasons))
