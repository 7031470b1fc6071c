"""The insights report: one self-contained HTML file (inline CSS, inline SVG charts, no script, nothing fetched).

Sections: KPIs, leadership KPIs (signal to action, urgent items acknowledged within SLA, alerts resolved),
theme trends (daily over four weeks, hourly over the last two days), spikes with their evidence, top negative
themes by product area, data quality (reconciliation, quarantine, the latest gate results, open operators'
pipeline-health alerts, a relative link to the Data Docs). Every value that comes
from data goes through ``html.escape``; a Content-Security-Policy that allows no script at all backs that up.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings
from feedback_ops.report import charts
from feedback_ops.report.figures import (
    Incident,
    Period,
    alert_state,
    daily_by_category,
    first_day,
    gate_results,
    hourly_by_category,
    incidents,
    insight_count,
    latest_day,
    leadership_kpis,
    open_pipeline_health_alerts,
    period_totals,
    pipeline_counts,
    quarantine_reasons,
    share,
    theme_totals,
)

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

REPORT_NAME = "insights.html"
TREND_DAYS = 28
TREND_HOURS = 48
TOP_THEMES = 6
LINK_SCHEMES = ("http://", "https://", "feedback-ops://")

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f5f6f8}
header,section,footer{max-width:1180px;margin:0 auto;padding:0 24px}
header{padding-top:28px}h1{margin:0 0 4px;font-size:26px}h2{margin:32px 0 12px;font-size:20px}
h3{margin:0 0 6px;font-size:16px}.muted{color:#5b6475}nav a{margin-right:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.card,.panel{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 16px}
.card .value{font-size:28px;font-weight:650}.card .label{font-weight:600}.card .detail{color:#5b6475;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e6e9ef;
vertical-align:top}th{background:#eef1f5;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#D55E00;border-radius:2px;vertical-align:middle}
.spike{margin-bottom:16px}.spike .grid{display:grid;grid-template-columns:480px 1fr;gap:16px}
blockquote{margin:8px 0;padding:6px 12px;border-left:4px solid #8AA9C9;background:#f7f9fc;white-space:pre-wrap;
overflow-wrap:anywhere}.insight{font-size:13px;color:#374151}.ok{color:#00734d;font-weight:600}
.bad{color:#b42318;font-weight:600}.tag{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef1f5;
font-size:12px;margin-right:4px}svg.chart{max-width:100%;height:auto}svg .grid{stroke:#e6e9ef}
svg .axis{font-size:11px;fill:#5b6475}svg .legend{font-size:12px;fill:#1d2330}footer{padding:24px;color:#5b6475;font-size:13px}
"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _points(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "no earlier period to compare"
    return f"{(now - before) * 100:+.1f} pts vs the 7 days before"


def link(url: Any, label: str) -> str:
    """An anchor for http(s) and feedback-ops links; anything else (``javascript:``…) stays plain text."""
    text = escape(label)
    if isinstance(url, str) and url.lower().startswith(LINK_SCHEMES):
        return f'<a href="{escape(url)}">{text}</a>'
    return text


def recent(warehouse: Warehouse, latest: Any) -> Period:
    """The last four weeks of data (fewer when the data starts later)."""
    start = max(latest - timedelta(days=TREND_DAYS - 1), first_day(warehouse) or latest)
    return Period(start, latest)


def _card(label: str, value: str, detail: str) -> str:
    return (
        f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div>'
        f'<div class="detail">{escape(detail)}</div></div>'
    )


def kpi_cards(warehouse: Warehouse, latest: Any) -> str:
    """Volume, negative share, enrichment coverage, quarantine share, alerts raised."""
    counts = pipeline_counts(warehouse)
    silver, bronze = int(counts.get("silver_rows") or 0), int(counts.get("bronze_rows") or 0)
    week = Period(latest - timedelta(days=6), latest)
    now, before = period_totals(warehouse, week), period_totals(warehouse, week.shifted(7))
    negative_now = share(now["negative"], now["items"])
    insights = insight_count(warehouse)
    alerts, deliveries = alert_state(warehouse)
    failing = sum(status in ("failed", "pending") for d in deliveries.values() for status in d.values())
    cards = [
        (
            "Feedback items",
            f"{silver:,}",
            f"{period_totals(warehouse, Period(latest, latest))['items']:,} on {latest}",
        ),
        (
            "Negative share, last 7 days",
            _pct(negative_now),
            _points(negative_now, share(before["negative"], before["items"])),
        ),
        (
            "Enrichment coverage",
            _pct(share(int(counts.get("enriched_rows") or 0), silver)),
            f"rich insights on {insights:,} items",
        ),
        (
            "Quarantine share",
            _pct(share(int(counts.get("quarantined_rows") or 0), bronze)),
            f"{int(counts.get('quarantined_rows') or 0):,} of {bronze:,} incoming rows; "
            f"{int(counts.get('duplicate_rows') or 0):,} duplicates",
        ),
        (
            "Alerts raised",
            f"{len(alerts):,}",
            f"{sum(int(a['update_count']) for a in alerts.values()):,} updates; {failing} deliveries not through",
        ),
    ]
    return '<div class="cards">' + "".join(_card(*card) for card in cards) + "</div>"


def _minutes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} min" if value < 120 else f"{value / 60:,.1f} h"


def leadership_section(warehouse: Warehouse, latest: Any) -> str:
    """The leadership KPIs of the last 7 days of data: totals as cards, then day by day."""
    week = Period(latest - timedelta(days=6), latest)
    kpis = leadership_kpis(warehouse, week)
    cards = [
        (
            "Urgent items acknowledged within SLA",
            _pct(kpis.get("urgent_acknowledged_within_sla_share")),
            f"of {kpis['urgent_items']:,} urgent items, {week}",
        ),
        (
            "Customer signal to action",
            _minutes(kpis.get("median_minutes_signal_to_action")),
            "median, earliest item of an alert to its acknowledgement",
        ),
        (
            "Alerts resolved",
            _pct(kpis.get("alerts_resolved_share")),
            f"of {kpis['alerts_opened']:,} alerts opened, {week}",
        ),
    ]
    rows = "".join(
        f"<tr><td>{escape(str(day['created_date'])[:10])}</td>"
        f'<td class="num">{int(day["urgent_items"]):,}</td>'
        f'<td class="num">{_pct(day["urgent_acknowledged_within_sla_share"])}</td>'
        f'<td class="num">{int(day["alerts_opened"]):,}</td>'
        f'<td class="num">{_pct(day["alerts_resolved_share"])}</td>'
        f'<td class="num">{_minutes(day["median_minutes_signal_to_action"])}</td></tr>'
        for day in kpis["days"]
    )
    table = (
        '<table style="margin-top:12px"><tr><th>day</th><th class="num">urgent items</th>'
        '<th class="num">acknowledged within SLA</th><th class="num">alerts opened</th>'
        f'<th class="num">resolved</th><th class="num">signal to action (median)</th></tr>{rows}</table>'
        if rows
        else "<p>No leadership KPIs yet: gold.rpt_kpis_leadership is not built.</p>"
    )
    return (
        '<div class="cards">'
        + "".join(_card(*card) for card in cards)
        + "</div>"
        + table
        + '<p class="muted">Acknowledgements are wall-clock times and feedback times data times: on '
        "historical data these durations are not reaction times.</p>"
    )


def trends_section(warehouse: Warehouse, latest: Any) -> str:
    """Daily volume of the top themes over the last four weeks of data, hourly over the last two days."""
    period = recent(warehouse, latest)
    days, series = daily_by_category(warehouse, period, TOP_THEMES)
    if not series:
        return "<p>No enriched feedback in this period.</p>"
    title = f"Daily feedback volume of the top {len(series)} themes, {period}"
    daily = charts.line_chart([d.strftime("%m-%d") for d in days], series, title)
    hours, hourly = hourly_by_category(warehouse, latest, TREND_HOURS, TOP_THEMES)
    if not hourly:
        return daily
    hourly_title = f"Hourly feedback volume of the top {len(hourly)} themes, the last {TREND_HOURS} hours through {latest}"
    return (
        daily
        + f"<h3 style='margin-top:16px'>Hour by hour, the last {TREND_HOURS} hours (UTC)</h3>"
        + charts.line_chart([h.strftime("%m-%d %Hh") for h in hours], hourly, hourly_title)
    )


def _example(example: dict[str, Any]) -> str:
    insight = [
        f"<b>{escape(label)}:</b> {escape(str(example[key]))}"
        for key, label in (
            ("summary", "Summary"),
            ("root_cause", "Root cause"),
            ("next_action", "Next action"),
        )
        if example.get(key)
    ]
    source = f"{example.get('channel')} {example.get('source_record_id') or example.get('feedback_id')}"
    return (
        f"<blockquote>{escape(str(example.get('redacted_text') or ''))}</blockquote>"
        f'<div class="insight">{"<br>".join(insight)}{"<br>" if insight else ""}'
        f"Source: {link(example.get('link'), source)}</div>"
    )


def _alert_line(incident: Incident) -> str:
    if incident.alert is None:
        return '<span class="tag">no alert sent yet</span>'
    alert = incident.alert
    routed = ", ".join(f"{name}: {status}" for name, status in sorted(incident.deliveries.items()))
    return (
        f'<span class="tag">alert {escape(str(alert["last_event"]))}</span>'
        f'<span class="tag">{int(alert["update_count"])} updates</span> '
        f'<span class="muted">last sent {escape(str(alert["sent_at"]))[:16]} (data time) — {escape(routed)}</span>'
    )


def spike_article(incident: Incident) -> str:
    """One incident: headline, owner, alert state, a bar chart of its theme's days, examples with insights."""
    payload = incident.payload
    trend = payload["volume_trend"]
    window = payload["window"]
    spike_days = {i for i, p in enumerate(trend) if window["first_day"] <= p["day"] <= window["last_day"]}
    chart = charts.bar_chart(
        [p["day"][5:] for p in trend],
        [p["volume"] for p in trend],
        spike_days,
        f"Daily volume: {payload['title']}",
    )
    return (
        f'<article class="panel spike"><h3>{escape(payload["title"])}</h3>'
        f"<p>{escape(payload['summary'])}</p><p><b>Owner:</b> {escape(payload['owner'])} · "
        f"{len(payload['feedback_ids']):,} feedback ids · {_alert_line(incident)}</p>"
        f'<div class="grid"><div>{chart}</div><div>{"".join(_example(e) for e in payload["examples"])}</div></div>'
        "</article>"
    )


def spikes_section(warehouse: Warehouse, settings: Settings) -> str:
    """The most recent incidents with their evidence."""
    found = incidents(warehouse, settings)
    if not found:
        return "<p>No spike in the data: every theme is within its baseline.</p>"
    return "".join(spike_article(incident) for incident in found)


def negative_section(warehouse: Warehouse, latest: Any, limit: int = 15, min_items: int = 5) -> str:
    """Themes with the most negative feedback per product area over the last four weeks."""
    period = recent(warehouse, latest)
    rows = [r for r in theme_totals(warehouse, period) if r["items"] >= min_items and r["negative"] > 0]
    rows.sort(key=lambda r: (-r["negative"], -r["items"], r["product_area"], r["category"]))
    if not rows:
        return "<p>No negative theme with enough feedback in this period.</p>"
    body = "".join(
        f"<tr><td>{escape(r['product_area'])}</td><td>{escape(r['category'])}</td>"
        f'<td class="num">{r["items"]:,}</td><td class="num">{r["negative"]:,}</td>'
        f'<td class="num">{_pct(r["negative"] / r["items"])}</td>'
        f'<td><span class="bar" style="width:{120 * r["negative"] / r["items"]:.0f}px"></span></td></tr>'
        for r in rows[:limit]
    )
    return (
        f'<p class="muted">{escape(str(period))}; themes with at least {min_items} items.</p>'
        '<table><tr><th>product area</th><th>theme</th><th class="num">items</th><th class="num">negative</th>'
        f'<th class="num">negative share</th><th></th></tr>{body}</table>'
    )


EMERGING_SQL = """
    select label, recent_count, previous_count, growth, categories, representative_quotes, window_end
    from enrichment.emerging_themes
    where window_end = (select max(window_end) from enrichment.emerging_themes)
    order by recent_count * growth desc, label
    limit ?
"""


def emerging_section(warehouse: Warehouse, limit: int = 8) -> str:
    """Growing clusters of recent feedback the taxonomy covers badly: candidates for a new category."""
    if not warehouse.table_exists("enrichment.emerging_themes"):
        return "<p>Emerging themes have not been detected yet.</p>"
    rows = warehouse.query_df(EMERGING_SQL, [limit]).to_dict("records")
    if not rows:
        return "<p>No growing theme outside the taxonomy: recent feedback fits the categories.</p>"
    items = []
    for row in rows:
        quotes = "".join(
            f'<li>{escape(q["text"])} <span class="muted">{escape(q["feedback_id"])}</span></li>'
            for q in json.loads(row["representative_quotes"])
        )
        categories = ", ".join(json.loads(row["categories"]))
        items.append(
            f"<article><h3>{escape(row['label'])}</h3><p>{row['recent_count']} items in the last 7 days vs "
            f"{row['previous_count']} the week before (x{row['growth']:g}); classified today as "
            f"{escape(categories)}.</p><ul>{quotes}</ul></article>"
        )
    window_end = rows[0]["window_end"]
    return (
        f'<p class="muted">Feedback classified <em>other</em> or with low confidence, clustered by meaning; '
        f"window ending {escape(str(window_end))}. Taxonomy owners decide whether a theme deserves a category.</p>"
        + "".join(items)
    )


def _gates_table(settings: Settings) -> str:
    gates = gate_results(settings)
    if not gates:
        return "<p>No gate has run yet.</p>"
    rows = "".join(
        f"<tr><td>{escape(g['stage'])}</td><td>{escape(g['table'])}</td>"
        f'<td class="{"ok" if g["success"] else "bad"}">{"passed" if g["success"] else "FAILED"}</td>'
        f'<td class="num">{g["evaluated"] - g["failed"]} / {g["evaluated"]}</td></tr>'
        for g in gates
    )
    return (
        "<table><tr><th>stage</th><th>table</th><th>latest gate</th>"
        f'<th class="num">expectations met</th></tr>{rows}</table>'
    )


def quality_section(warehouse: Warehouse, settings: Settings) -> str:
    """Reconciliation, quarantine reasons, the latest gate per table, and the Data Docs link."""
    counts = pipeline_counts(warehouse)
    balanced = counts.get("is_balanced")
    docs = Path(os.path.relpath(settings.data_docs_dir / "index.html", settings.reports_dir)).as_posix()
    reasons = "".join(
        f"<tr><td>{escape(str(r['reason_family']))}</td><td>{escape(str(r['source_files']))}</td>"
        f'<td class="num">{int(r["row_count"]):,}</td></tr>'
        for r in quarantine_reasons(warehouse)
    )
    reconciliation = (
        f"bronze {int(counts.get('bronze_rows') or 0):,} = silver {int(counts.get('silver_rows') or 0):,} + "
        f"quarantined {int(counts.get('quarantined_rows') or 0):,} + duplicates {int(counts.get('duplicate_rows') or 0):,}"
        f" + in parked files {int(counts.get('parked_rows') or 0):,} + in dropped files {int(counts.get('dropped_rows') or 0):,}"
    )
    verdict = (
        '<span class="ok">balanced</span>'
        if balanced
        else '<span class="bad">NOT balanced — investigate</span>'
    )
    return (
        f'<p><a href="{escape(docs)}">Great Expectations Data Docs</a> — every suite and validation result.</p>'
        f"<p>{escape(reconciliation)}: {verdict}</p>"
        '<div class="grid2"><h3>Quarantined rows by reason</h3>'
        + (
            f'<table><tr><th>reason</th><th>files</th><th class="num">rows</th></tr>{reasons}</table>'
            if reasons
            else "<p>None.</p>"
        )
        + f"<h3 style='margin-top:16px'>Latest gate results</h3>{_gates_table(settings)}"
        + f"<h3 style='margin-top:16px'>Open pipeline-health alerts (operators)</h3>{_health_table(warehouse)}"
        + "</div>"
    )


def _health_table(warehouse: Warehouse) -> str:
    alerts = open_pipeline_health_alerts(warehouse)
    if not alerts:
        return '<p><span class="ok">none</span>: no gate failure, freshness breach, drift or budget overrun open.</p>'
    rows = "".join(
        f"<tr><td>{escape(str(a['check_name']))}</td><td>{escape(str(a['title']))}</td>"
        f'<td class="num">{int(a["occurrences"])}</td><td>{escape(str(a["sent_at"]))[:16]}</td>'
        f"<td>{escape(str(a['alert_id']))}</td></tr>"
        for a in alerts
    )
    return (
        '<table><tr><th>check</th><th>alert</th><th class="num">occurrences</th><th>last sent</th>'
        f"<th>id (feedback-ops alerts ack|resolve)</th></tr>{rows}</table>"
    )


def render_report(warehouse: Warehouse, settings: Settings) -> str:
    """The whole HTML document."""
    latest = latest_day(warehouse)
    title = f"Feedback Ops — insights through {latest}" if latest else "Feedback Ops — insights"
    if latest is None:
        sections = "<section><p>Gold has no enriched feedback yet: run the pipeline first.</p></section>"
    else:
        sections = "".join(
            f'<section id="{anchor}"><h2>{escape(heading)}</h2>{body}</section>'
            for anchor, heading, body in (
                ("kpis", "Key figures", kpi_cards(warehouse, latest)),
                ("leadership", "Leadership KPIs, last 7 days", leadership_section(warehouse, latest)),
                ("trends", "Theme trends", trends_section(warehouse, latest)),
                ("spikes", "Spikes and their evidence", spikes_section(warehouse, settings)),
                ("negative", "Top negative themes by product area", negative_section(warehouse, latest)),
                ("emerging", "Emerging themes the taxonomy misses", emerging_section(warehouse)),
                ("quality", "Data quality", quality_section(warehouse, settings)),
            )
        )
    nav = "".join(
        f'<a href="#{a}">{escape(t)}</a>'
        for a, t in (
            ("kpis", "Key figures"),
            ("leadership", "Leadership"),
            ("trends", "Trends"),
            ("spikes", "Spikes"),
            ("negative", "Negative themes"),
            ("emerging", "Emerging themes"),
            ("quality", "Data quality"),
        )
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><header><h1>{escape(title)}</h1>"
        f'<p class="muted">From the gold tables of {escape(settings.warehouse_path.name)}; periods end on the latest '
        f"day in the data. Customer text is PII-redacted.</p><nav>{nav}</nav></header>{sections}"
        "<footer>Generated by feedback_ops.report.insights — self-contained: no script, nothing fetched.</footer>"
        "</body></html>"
    )


def write_insights_report(warehouse: Warehouse, settings: Settings) -> Path:
    """Write ``<reports_dir>/insights.html`` and return its path."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / REPORT_NAME
    path.write_text(render_report(warehouse, settings), encoding="utf-8")
    return path
