"""Turn spike rows of ``gold.rpt_theme_spikes`` into alert payloads, one per incident.

Consecutive spike days of the same theme (category × product area) are one incident: its ``alert_id`` is
derived from the theme and the incident's first day, so a re-run or a longer incident updates the same alert
(a new ``revision``) instead of raising a new one. Nothing is sent twice at the same revision.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from feedback_ops.alerts.notifiers import Notifier
from feedback_ops.config import Settings
from feedback_ops.warehouse import DuckDBWarehouse

SPIKES_SQL = """
    select created_date, category, product_area, volume, baseline_median, robust_z, negative_share
    from gold.rpt_theme_spikes where is_spike order by category, product_area, created_date
"""

TREND_SQL = """
    select created_date, sum(volume) as volume from gold.rpt_theme_spikes
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    group by created_date order by created_date
"""

EXAMPLES_SQL = """
    select feedback_id, channel, redacted_text, sentiment_score, bronze_row_id, source_file
    from gold.fct_feedback
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    order by sentiment_score asc nulls last, feedback_id limit 3
"""

IDS_SQL = """
    select feedback_id from gold.fct_feedback
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    order by feedback_id
"""


@dataclass
class Incident:
    """Consecutive spike days of one theme."""

    category: str
    product_area: str | None
    first_day: date
    last_day: date
    volume: int
    baseline_median: float
    peak_robust_z: float
    negative_share: float


def group_incidents(spikes: list[dict[str, Any]]) -> list[Incident]:
    """Merge spike days of the same theme that follow each other (a gap of one day closes the incident)."""
    incidents: list[Incident] = []
    for row in spikes:
        last = incidents[-1] if incidents else None
        same_theme = last and (last.category, last.product_area) == (row["category"], row["product_area"])
        if same_theme and row["created_date"] - last.last_day <= timedelta(days=1):
            share_weight = last.volume + row["volume"]
            last.negative_share = (
                last.negative_share * last.volume + row["negative_share"] * row["volume"]
            ) / share_weight
            last.last_day = row["created_date"]
            last.volume += int(row["volume"])
            last.peak_robust_z = max(last.peak_robust_z, float(row["robust_z"]))
            continue
        incidents.append(
            Incident(
                category=row["category"],
                product_area=row["product_area"],
                first_day=row["created_date"],
                last_day=row["created_date"],
                volume=int(row["volume"]),
                baseline_median=float(row["baseline_median"]),
                peak_robust_z=float(row["robust_z"]),
                negative_share=float(row["negative_share"]),
            )
        )
    return incidents


def theme_owners(settings: Settings) -> dict[str, str]:
    """Category id -> owning team and where it is reached, from the taxonomy file."""
    from feedback_ops.enrich.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(settings.taxonomy_path)
    return {c.id: f"{c.owner.team} ({c.owner.contact})" for c in taxonomy.categories}


def build_payload(
    warehouse: DuckDBWarehouse, incident: Incident, owners: dict[str, str], versions: dict[str, Any]
) -> dict[str, Any]:
    """The alert a person reads: what, how big against normal, examples, ids, owner, versions."""
    window = [incident.category, incident.product_area, incident.first_day, incident.last_day]
    trend_window = [
        incident.category,
        incident.product_area,
        incident.first_day - timedelta(days=7),
        incident.last_day,
    ]
    trend = warehouse.query_df(TREND_SQL, trend_window)
    examples = warehouse.query_df(EXAMPLES_SQL, window)
    ids = warehouse.query_df(IDS_SQL, window)["feedback_id"].tolist()
    theme = f"{incident.category} / {incident.product_area or 'any area'}"
    alert_id = (
        "alert_"
        + hashlib.sha256(
            f"{incident.category}|{incident.product_area}|{incident.first_day}".encode()
        ).hexdigest()[:16]
    )
    ratio = incident.volume / max(
        incident.baseline_median * ((incident.last_day - incident.first_day).days + 1), 1
    )
    payload = {
        "alert_id": alert_id,
        "kind": "theme_spike",
        "title": f"Spike in {theme}: {incident.volume} items since {incident.first_day} ({ratio:.0f}x normal)",
        "summary": (
            f"{incident.volume} feedback items about {theme} between {incident.first_day} and {incident.last_day}, "
            f"against a daily baseline of {incident.baseline_median:g}; {incident.negative_share:.0%} negative; "
            f"peak robust z-score {incident.peak_robust_z:.1f}."
        ),
        "theme": {"category": incident.category, "product_area": incident.product_area},
        "owner": owners.get(incident.category, "unassigned"),
        "window": {"first_day": str(incident.first_day), "last_day": str(incident.last_day)},
        "volume_trend": [{"day": str(r.created_date), "volume": int(r.volume)} for r in trend.itertuples()],
        "examples": examples.to_dict("records"),
        "feedback_ids": ids,
        "versions": versions,
    }
    revision_basis = {k: v for k, v in payload.items() if k != "examples"}
    payload["revision"] = hashlib.sha256(
        json.dumps(revision_basis, sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    return payload


def raise_spike_alerts(
    warehouse: DuckDBWarehouse, settings: Settings, notifier: Notifier, versions: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send an alert for every new or changed incident; return the incidents' current payloads."""
    spikes = warehouse.query_df(SPIKES_SQL)
    spikes["created_date"] = spikes["created_date"].map(
        lambda value: value.date() if hasattr(value, "date") else value
    )
    incidents = group_incidents(spikes.to_dict("records"))
    owners = theme_owners(settings)
    sent = notifier.already_sent()
    payloads = []
    for incident in incidents:
        payload = build_payload(warehouse, incident, owners, versions)
        payload["status"] = "updated" if payload["alert_id"] in sent else "opened"
        if sent.get(payload["alert_id"]) != payload["revision"]:
            notifier.send(payload)
            payload["delivered"] = True
        else:
            payload["delivered"] = False
        payloads.append(payload)
    return payloads
