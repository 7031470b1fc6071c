"""Turn spike rows of ``gold.rpt_theme_spikes`` into alert payloads, one per incident.

Consecutive spike days of the same theme (category × product area) are one incident: its ``alert_id`` is
derived from the theme and the incident's first day, so a re-run or a longer incident updates the same alert
(a new ``revision``) instead of raising a new one. Whether a changed incident is worth a new message is the
policy's call (``feedback_ops.alerts.policy``); sending is ``feedback_ops.alerts.dispatch``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from feedback_ops.alerts.routing import LinkTemplates
from feedback_ops.config import Settings

if TYPE_CHECKING:
    import pandas as pd

    from feedback_ops.warehouse.base import Warehouse

SPIKES_SQL = """
    select created_date, category, product_area, volume, baseline_median, robust_z, negative_share
    from gold.rpt_theme_spikes where is_spike order by category, product_area, created_date
"""

TREND_SQL = """
    select created_date, sum(volume) as volume from gold.rpt_theme_spikes
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    group by created_date order by created_date
"""

# Items the rich pass explained come first: their root cause and next action travel with the alert.
EXAMPLES_SQL = """
    select feedback_id, source_record_id, channel, url, created_at, redacted_text, sentiment_score,
        summary, root_cause, next_action, bronze_row_id, source_file
    from gold.fct_feedback
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    order by (root_cause is not null) desc, (summary is not null) desc, sentiment_score asc nulls last,
        feedback_id
    limit 3
"""

RECORDS_SQL = """
    select feedback_id, source_record_id, channel, url from gold.fct_feedback
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
    order by feedback_id
"""

VERSIONS_SQL = """
    select distinct model_name, model_version, prompt_version, taxonomy_version from gold.fct_feedback
    where category = ? and product_area is not distinct from ? and created_date between ? and ?
        and model_name is not null
    order by all
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

    @property
    def alert_id(self) -> str:
        """Stable for the incident's whole life: the theme and its first day."""
        key = f"{self.category}|{self.product_area}|{self.first_day}"
        return "alert_" + hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def theme(self) -> str:
        """``category / product area`` for people."""
        return f"{self.category} / {self.product_area or 'any area'}"


def group_incidents(spikes: list[dict[str, Any]]) -> list[Incident]:
    """Merge spike days of the same theme that follow each other (a gap of one day closes the incident)."""
    incidents: list[Incident] = []
    for row in spikes:
        last = incidents[-1] if incidents else None
        same_theme = last is not None and (last.category, last.product_area) == (
            row["category"],
            row["product_area"],
        )
        if last is not None and same_theme and row["created_date"] - last.last_day <= timedelta(days=1):
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


def read_incidents(warehouse: Warehouse) -> list[Incident]:
    """The incidents in ``gold.rpt_theme_spikes`` (none when gold is not built yet)."""
    if not warehouse.table_exists("gold.rpt_theme_spikes"):
        return []
    spikes = warehouse.query_df(SPIKES_SQL)
    spikes["created_date"] = spikes["created_date"].map(
        lambda value: value.date() if hasattr(value, "date") else value
    )
    # object dtype first: a missing product area must reach the SQL as None (NULL), not as NaN (a DOUBLE)
    return group_incidents(spikes.astype(object).where(spikes.notna(), None).to_dict("records"))


def theme_owners(settings: Settings) -> dict[str, str]:
    """Category id -> owning team and where it is reached, from the taxonomy file."""
    from feedback_ops.enrich.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(settings.taxonomy_path)
    return {c.id: f"{c.owner.team} ({c.owner.contact})" for c in taxonomy.categories}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: missing values become ``None`` (never NaN), timestamps ISO strings."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return rows


def _daily_trend(warehouse: Warehouse, window: list[Any]) -> list[dict[str, Any]]:
    """The theme's volume on every day of the window since the data starts; a day without a row is 0 (as in
    the spike model), days before the data starts are left out rather than shown as 0."""
    start = warehouse.scalar("select min(created_date) from gold.rpt_theme_spikes")
    start = start.date() if hasattr(start, "date") and callable(start.date) else start
    volumes = {
        str(r.created_date)[:10]: int(r.volume) for r in warehouse.query_df(TREND_SQL, window).itertuples()
    }
    first = max(window[2], start) if start else window[2]
    days = [first + timedelta(days=n) for n in range((window[3] - first).days + 1)]
    return [{"day": str(day), "volume": volumes.get(str(day), 0)} for day in days]


def _with_links(rows: list[dict[str, Any]], links: LinkTemplates) -> list[dict[str, Any]]:
    return [{**row, "link": links.link(row)} for row in rows]


def build_payload(
    warehouse: Warehouse,
    incident: Incident,
    owners: dict[str, str],
    versions: dict[str, Any],
    links: LinkTemplates | None = None,
) -> dict[str, Any]:
    """The alert a person reads: what, how big against normal, examples with links, ids, owner, versions."""
    links = links or LinkTemplates()
    window = [incident.category, incident.product_area, incident.first_day, incident.last_day]
    trend_window = [*window[:2], incident.first_day - timedelta(days=7), incident.last_day]
    trend = _daily_trend(warehouse, trend_window)
    source_records = _with_links(records(warehouse.query_df(RECORDS_SQL, window)), links)
    model_versions = records(warehouse.query_df(VERSIONS_SQL, window))
    days = (incident.last_day - incident.first_day).days + 1
    ratio = incident.volume / max(incident.baseline_median * days, 1)
    payload = {
        "alert_id": incident.alert_id,
        "kind": "theme_spike",
        "title": f"Spike in {incident.theme}: {incident.volume} items since {incident.first_day} ({ratio:.0f}x normal)",
        "summary": (
            f"{incident.volume} feedback items about {incident.theme} between {incident.first_day} and "
            f"{incident.last_day}, against a daily baseline of {incident.baseline_median:.3g}; "
            f"{incident.negative_share:.0%} negative; peak robust z-score {incident.peak_robust_z:.1f}."
        ),
        "theme": {"category": incident.category, "product_area": incident.product_area},
        "owner": owners.get(incident.category, "unassigned"),
        "window": {"first_day": str(incident.first_day), "last_day": str(incident.last_day)},
        "volume": incident.volume,
        "volume_trend": trend,
        "examples": _with_links(records(warehouse.query_df(EXAMPLES_SQL, window)), links),
        "feedback_ids": [r["feedback_id"] for r in source_records],
        "source_records": source_records,
        "versions": {**versions, "models": model_versions},
    }
    revision_basis = {k: v for k, v in payload.items() if k not in ("examples", "source_records")}
    payload["revision"] = hashlib.sha256(
        json.dumps(revision_basis, sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    return payload
