"""Figures read from gold (and the alert state) for the insights report and the summaries for people.

Periods are anchored on the latest day in the data, never on the wall clock: the same warehouse always gives
the same report. Tables that a run has not built yet read as empty, so a report can always be written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

THEME_TOTALS_SQL = """
    select category, coalesce(product_area, '(none)') as product_area, sum(feedback_count) as items,
        sum(negative_count) as negative
    from gold.rpt_theme_daily where created_date between ? and ?
    group by all
"""

DAILY_CATEGORY_SQL = """
    select created_date, category, sum(feedback_count) as items
    from gold.rpt_theme_daily where created_date between ? and ?
    group by all order by created_date, category
"""

PERIOD_SQL = """
    select count(*) as items, coalesce(sum(case when is_negative then 1 else 0 end), 0) as negative
    from gold.fct_feedback where is_enriched and created_date between ? and ?
"""

NEGATIVE_EXAMPLES_SQL = """
    select feedback_id, source_record_id, channel, url, category, product_area, redacted_text, summary,
        root_cause, next_action
    from gold.fct_feedback
    where is_negative and created_date between ? and ?
    order by (root_cause is not null) desc, sentiment_score asc nulls last, feedback_id
    limit ?
"""


HOURLY_CATEGORY_SQL = """
    select created_hour, category, sum(feedback_count) as items, sum(negative_count) as negative
    from gold.rpt_theme_hourly where created_hour >= ? and created_hour <= ?
    group by all order by created_hour, category
"""

LEADERSHIP_SQL = """
    select * from gold.rpt_kpis_leadership where created_date between ? and ? order by created_date
"""


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    first: date
    last: date

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.last - self.first).days + 1

    def shifted(self, days: int) -> Period:
        """The same period ``days`` earlier."""
        return Period(self.first - timedelta(days=days), self.last - timedelta(days=days))

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first} – {self.last}"


@dataclass
class Incident:
    """A spike incident with its evidence (the alert payload) and what alerting did about it."""

    payload: dict[str, Any]
    alert: dict[str, Any] | None = None
    deliveries: dict[str, str] = field(default_factory=dict)


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def latest_day(warehouse: Warehouse) -> date | None:
    """The latest ``created_date`` of enriched feedback, never later than the day of the latest load
    (``ingested_at``), or None before gold exists."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return None
    value = warehouse.scalar(
        "select least(max(created_date), cast(max(ingested_at) as date)) from gold.fct_feedback where is_enriched"
    )
    return None if value is None else _as_date(value)


def first_day(warehouse: Warehouse) -> date | None:
    """The earliest ``created_date`` of enriched feedback: charts start there, not before the data does."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return None
    value = warehouse.scalar("select min(created_date) from gold.fct_feedback where is_enriched")
    return None if value is None else _as_date(value)


def theme_totals(warehouse: Warehouse, period: Period) -> list[dict[str, Any]]:
    """Items and negative items per (category, product area) in a period."""
    if not warehouse.table_exists("gold.rpt_theme_daily"):
        return []
    frame = warehouse.query_df(THEME_TOTALS_SQL, [period.first, period.last])
    return [
        {**row, "items": int(row["items"]), "negative": int(row["negative"])}
        for row in frame.to_dict("records")
    ]


def by_category(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Theme totals summed per category."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        total = totals.setdefault(row["category"], {"items": 0, "negative": 0})
        total["items"] += row["items"]
        total["negative"] += row["negative"]
    return totals


def period_totals(warehouse: Warehouse, period: Period) -> dict[str, int]:
    """Enriched items and negative items in a period."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return {"items": 0, "negative": 0}
    row = warehouse.query_df(PERIOD_SQL, [period.first, period.last]).to_dict("records")[0]
    return {"items": int(row["items"] or 0), "negative": int(row["negative"] or 0)}


def daily_by_category(
    warehouse: Warehouse, period: Period, top: int
) -> tuple[list[date], list[tuple[str, list[float]]]]:
    """Every day of the period and the daily volume of the ``top`` categories (by volume in the period)."""
    days = [period.first + timedelta(days=i) for i in range(period.days)]
    if not warehouse.table_exists("gold.rpt_theme_daily"):
        return days, []
    frame = warehouse.query_df(DAILY_CATEGORY_SQL, [period.first, period.last])
    volumes: dict[str, dict[date, float]] = {}
    for row in frame.to_dict("records"):
        volumes.setdefault(row["category"], {})[_as_date(row["created_date"])] = float(row["items"])
    ranked = sorted(volumes, key=lambda c: (-sum(volumes[c].values()), c))[:top]
    return days, [(c, [volumes[c].get(d, 0.0) for d in days]) for c in ranked]


def hourly_by_category(
    warehouse: Warehouse, last_day: date, hours: int, top: int
) -> tuple[list[datetime], list[tuple[str, list[float]]]]:
    """Every hour of the ``hours`` hours ending with ``last_day`` and the hourly volume of the ``top``
    categories in them (an hour without items is 0)."""
    end = datetime.combine(last_day, datetime.min.time()) + timedelta(hours=23)
    slots = [end - timedelta(hours=hours - 1 - i) for i in range(hours)]
    if not warehouse.table_exists("gold.rpt_theme_hourly"):
        return slots, []
    frame = warehouse.query_df(HOURLY_CATEGORY_SQL, [slots[0], slots[-1]])
    volumes: dict[str, dict[datetime, float]] = {}
    for row in frame.to_dict("records"):
        hour = (
            row["created_hour"].to_pydatetime()
            if hasattr(row["created_hour"], "to_pydatetime")
            else row["created_hour"]
        )
        volumes.setdefault(row["category"], {})[hour] = float(row["items"])
    ranked = sorted(volumes, key=lambda c: (-sum(volumes[c].values()), c))[:top]
    return slots, [(c, [volumes[c].get(h, 0.0) for h in slots]) for c in ranked]


def busiest_hours(warehouse: Warehouse, day: date, top: int = 3) -> list[dict[str, Any]]:
    """The ``top`` hours of ``day`` by volume, with their negative items (from ``rpt_theme_hourly``)."""
    if not warehouse.table_exists("gold.rpt_theme_hourly"):
        return []
    start = datetime.combine(day, datetime.min.time())
    frame = warehouse.query_df(
        "select created_hour, sum(feedback_count) as items, sum(negative_count) as negative "
        "from gold.rpt_theme_hourly where created_hour between ? and ? group by created_hour "
        "order by items desc, created_hour limit ?",
        [start, start + timedelta(hours=23), top],
    )
    return [
        {"hour": row["created_hour"], "items": int(row["items"]), "negative": int(row["negative"])}
        for row in frame.to_dict("records")
    ]


def leadership_kpis(warehouse: Warehouse, period: Period) -> dict[str, Any]:
    """The leadership KPIs (``rpt_kpis_leadership``) of a period: its days, and the period's totals (shares
    pooled over the period's items and alerts; signal-to-action as the median of the daily medians)."""
    empty: dict[str, Any] = {"days": [], "urgent_items": 0, "alerts_opened": 0}
    if not warehouse.table_exists("gold.rpt_kpis_leadership"):
        return empty
    rows = warehouse.query_df(LEADERSHIP_SQL, [period.first, period.last]).to_dict("records")
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()} for row in rows]
    if not rows:
        return empty
    medians = sorted(
        r["median_minutes_signal_to_action"] for r in rows if r["median_minutes_signal_to_action"] is not None
    )
    urgent = sum(int(r["urgent_items"]) for r in rows)
    within = sum(int(r["urgent_items_acknowledged_within_sla"]) for r in rows)
    opened = sum(int(r["alerts_opened"]) for r in rows)
    resolved = sum(int(r["alerts_resolved"]) for r in rows)
    return {
        "days": rows,
        "urgent_items": urgent,
        "urgent_acknowledged_within_sla_share": share(within, urgent),
        "alerts_opened": opened,
        "alerts_resolved_share": share(resolved, opened),
        "median_minutes_signal_to_action": medians[len(medians) // 2] if medians else None,
    }


def open_pipeline_health_alerts(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Operators' pipeline-health alerts not resolved yet, most recent first."""
    if not warehouse.table_exists("alerts.alert_incidents"):
        return []
    return warehouse.query_df(
        "select i.alert_id, i.category as check_name, i.product_area as subject, i.opened_at, i.sent_at, "
        "i.volume as occurrences, json_extract_string(i.payload, '$.title') as title "
        "from alerts.alert_incidents i where i.kind = 'pipeline_health' and not exists "
        "(select 1 from alerts.alert_events e where e.alert_id = i.alert_id and e.event = 'resolved') "
        "order by i.sent_at desc, i.alert_id"
    ).to_dict("records")


def share(part: float, whole: float) -> float | None:
    """``part / whole``, None when there is nothing to divide."""
    return part / whole if whole else None


def pipeline_counts(warehouse: Warehouse) -> dict[str, Any]:
    """The reconciliation row (bronze, silver, quarantined, duplicates, enriched), or {} before gold."""
    if not warehouse.table_exists("gold.rpt_pipeline_reconciliation"):
        return {}
    rows = warehouse.query_df("select * from gold.rpt_pipeline_reconciliation").to_dict("records")
    return rows[0] if rows else {}


def insight_count(warehouse: Warehouse) -> int:
    """Items the rich pass explained (with a summary)."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return 0
    return int(warehouse.scalar("select count(*) from gold.fct_feedback where summary is not null") or 0)


def quarantine_reasons(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Quarantined rows per reason family, with the files they came from."""
    if not warehouse.table_exists("gold.rpt_quarantine_reasons"):
        return []
    # files joined here, not by an ordered string_agg: its spelling differs between DuckDB and Databricks
    rows = warehouse.query_df(
        "select reason_family, row_count, source_file from gold.rpt_quarantine_reasons"
    ).to_dict("records")
    families: dict[str, dict[str, Any]] = {}
    for row in rows:
        family = families.setdefault(row["reason_family"], {"row_count": 0, "files": set()})
        family["row_count"] += int(row["row_count"])
        family["files"].add(row["source_file"])
    return sorted(
        (
            {
                "reason_family": name,
                "row_count": f["row_count"],
                "source_files": ", ".join(sorted(f["files"])),
            }
            for name, f in families.items()
        ),
        key=lambda r: (-r["row_count"], r["reason_family"]),
    )


def alert_state(warehouse: Warehouse) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """``alert_id`` -> its incident row, and ``alert_id`` -> destination -> status of its latest message."""
    if not warehouse.table_exists("alerts.alert_incidents"):
        return {}, {}
    # customer-theme alerts only: operators' pipeline-health alerts have their own figure
    incidents = warehouse.query_df(
        "select alert_id, last_event, update_count, opened_at, sent_at, volume from alerts.alert_incidents "
        "where coalesce(kind, 'theme_spike') = 'theme_spike'"
    ).to_dict("records")
    rows = warehouse.query_df(
        "select d.alert_id, d.destination, d.status from alerts.alert_deliveries d "
        "join alerts.alert_incidents i on d.alert_id = i.alert_id and d.revision = i.revision "
        "where coalesce(i.kind, 'theme_spike') = 'theme_spike'"
    ).to_dict("records")
    deliveries: dict[str, dict[str, str]] = {}
    for row in rows:
        deliveries.setdefault(row["alert_id"], {})[row["destination"]] = row["status"]
    return {row["alert_id"]: row for row in incidents}, deliveries


def incidents(warehouse: Warehouse, settings: Settings, limit: int = 8) -> list[Incident]:
    """The most recent spike incidents with their evidence and alert state."""
    from feedback_ops.alerts.routing import load_alert_routing
    from feedback_ops.alerts.spikes import build_payload, read_incidents, theme_owners

    found = sorted(read_incidents(warehouse), key=lambda i: (i.last_day, i.volume), reverse=True)[:limit]
    if not found:
        return []
    owners = theme_owners(settings)
    links = load_alert_routing(settings.alert_routing_path).links
    alerts, deliveries = alert_state(warehouse)
    return [
        Incident(
            payload=build_payload(warehouse, incident, owners, {}, links),
            alert=alerts.get(incident.alert_id),
            deliveries=deliveries.get(incident.alert_id, {}),
        )
        for incident in found
    ]


def negative_examples(
    warehouse: Warehouse, settings: Settings, period: Period, limit: int = 5
) -> list[dict[str, Any]]:
    """Negative items of a period, those the rich pass explained first (redacted text only), with links."""
    from feedback_ops.alerts.routing import load_alert_routing
    from feedback_ops.alerts.spikes import records

    if not warehouse.table_exists("gold.fct_feedback"):
        return []
    rows = records(warehouse.query_df(NEGATIVE_EXAMPLES_SQL, [period.first, period.last, limit]))
    links = load_alert_routing(settings.alert_routing_path).links
    return [{**row, "link": links.link(row)} for row in rows]


def gate_results(settings: Settings) -> list[dict[str, Any]]:
    """The latest Great Expectations result per (stage, table), from the local validation store."""
    from feedback_ops.quality.project import runtime_dir

    root = runtime_dir(settings) / "validations"
    latest: dict[tuple[str, str], Path] = {}
    for path in sorted(root.glob("*/*/*/*/*.json")):
        stage, table = path.relative_to(root).parts[:2]
        if (stage, table) not in latest or path.parent.name > latest[(stage, table)].parent.name:
            latest[(stage, table)] = path
    results = []
    for (stage, table), path in sorted(latest.items()):
        document = json.loads(path.read_text(encoding="utf-8"))
        statistics = document.get("statistics") or {}
        results.append(
            {
                "stage": stage,
                "table": table,
                "success": bool(document.get("success")),
                "evaluated": int(statistics.get("evaluated_expectations") or 0),
                "failed": int(statistics.get("unsuccessful_expectations") or 0),
                "run": path.parent.name,
            }
        )
    return results
