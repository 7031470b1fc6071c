"""Figures read from gold (and the alert state) for the insights report and the summaries for people.

Periods are anchored on the latest day in the data, never on the wall clock: the same warehouse always gives
the same report. Tables that a run has not built yet read as empty, so a report can always be written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings

if TYPE_CHECKING:
    from feedback_ops.warehouse import DuckDBWarehouse

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
    select count(*) as items, sum(case when is_negative then 1 else 0 end) as negative
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


def latest_day(warehouse: DuckDBWarehouse) -> date | None:
    """The latest ``created_date`` of enriched feedback, or None before gold exists."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return None
    value = warehouse.scalar("select max(created_date) from gold.fct_feedback where is_enriched")
    return None if value is None else _as_date(value)


def first_day(warehouse: DuckDBWarehouse) -> date | None:
    """The earliest ``created_date`` of enriched feedback: charts start there, not before the data does."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return None
    value = warehouse.scalar("select min(created_date) from gold.fct_feedback where is_enriched")
    return None if value is None else _as_date(value)


def theme_totals(warehouse: DuckDBWarehouse, period: Period) -> list[dict[str, Any]]:
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


def period_totals(warehouse: DuckDBWarehouse, period: Period) -> dict[str, int]:
    """Enriched items and negative items in a period."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return {"items": 0, "negative": 0}
    row = warehouse.query_df(PERIOD_SQL, [period.first, period.last]).to_dict("records")[0]
    return {"items": int(row["items"] or 0), "negative": int(row["negative"] or 0)}


def daily_by_category(
    warehouse: DuckDBWarehouse, period: Period, top: int
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


def share(part: float, whole: float) -> float | None:
    """``part / whole``, None when there is nothing to divide."""
    return part / whole if whole else None


def pipeline_counts(warehouse: DuckDBWarehouse) -> dict[str, Any]:
    """The reconciliation row (bronze, silver, quarantined, duplicates, enriched), or {} before gold."""
    if not warehouse.table_exists("gold.rpt_pipeline_reconciliation"):
        return {}
    rows = warehouse.query_df("select * from gold.rpt_pipeline_reconciliation").to_dict("records")
    return rows[0] if rows else {}


def insight_count(warehouse: DuckDBWarehouse) -> int:
    """Items the rich pass explained (with a summary)."""
    if not warehouse.table_exists("gold.fct_feedback"):
        return 0
    return int(warehouse.scalar("select count(*) from gold.fct_feedback where summary is not null") or 0)


def quarantine_reasons(warehouse: DuckDBWarehouse) -> list[dict[str, Any]]:
    """Quarantined rows per reason family, with the files they came from."""
    if not warehouse.table_exists("gold.rpt_quarantine_reasons"):
        return []
    return warehouse.query_df(
        "select reason_family, sum(row_count) as row_count, string_agg(source_file, ', ' order by source_file) "
        "as source_files from gold.rpt_quarantine_reasons group by reason_family "
        "order by row_count desc, reason_family"
    ).to_dict("records")


def alert_state(warehouse: DuckDBWarehouse) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """``alert_id`` -> its incident row, and ``alert_id`` -> destination -> status of its latest message."""
    if not warehouse.table_exists("alerts.alert_incidents"):
        return {}, {}
    incidents = warehouse.query_df(
        "select alert_id, last_event, update_count, opened_at, sent_at, volume from alerts.alert_incidents"
    ).to_dict("records")
    rows = warehouse.query_df(
        "select d.alert_id, d.destination, d.status from alerts.alert_deliveries d "
        "join alerts.alert_incidents i on d.alert_id = i.alert_id and d.revision = i.revision"
    ).to_dict("records")
    deliveries: dict[str, dict[str, str]] = {}
    for row in rows:
        deliveries.setdefault(row["alert_id"], {})[row["destination"]] = row["status"]
    return {row["alert_id"]: row for row in incidents}, deliveries


def incidents(warehouse: DuckDBWarehouse, settings: Settings, limit: int = 8) -> list[Incident]:
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
    warehouse: DuckDBWarehouse, settings: Settings, period: Period, limit: int = 5
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
