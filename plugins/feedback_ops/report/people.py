"""Summaries for people, as Markdown from gold: a daily theme summary for product and a weekly trend summary
for leadership.

Both are anchored on the latest day in the data (never the wall clock): ``daily_themes_<day>.md`` compares the
day with the day before and the 7 days before it; ``weekly_trends_<ISO week>.md`` compares the week so far with
the same weekdays of the previous week, so a partial week is never set against a full one. Customer text is
PII-redacted already and is escaped here so that a Markdown viewer shows it as text.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings
from feedback_ops.report.figures import (
    Incident,
    Period,
    alert_state,
    busiest_hours,
    by_category,
    incidents,
    latest_day,
    leadership_kpis,
    negative_examples,
    open_pipeline_health_alerts,
    period_totals,
    pipeline_counts,
    share,
    theme_totals,
)

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

MIN_MOVER_ITEMS = 5
RECENT_SPIKE_DAYS = 2


def md_text(text: Any, limit: int = 320) -> str:
    """Customer or data text made inert for Markdown: one line, HTML and table characters escaped, clipped."""
    flat = " ".join(str(text or "").split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`")):
        flat = flat.replace(raw, safe)
    return flat


def pct(value: float | None) -> str:
    """A share as a percentage (one decimal under 10 %), ``–`` when undefined."""
    if value is None:
        return "–"
    return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"


def change(now: float, before: float) -> str:
    """Relative change, ``new`` when there was nothing before."""
    if not before:
        return "new" if now else "–"
    return f"{(now - before) / before:+.0%}"


def points(now: float | None, before: float | None) -> str:
    """Change of a share in percentage points."""
    if now is None or before is None:
        return "–"
    return f"{(now - before) * 100:+.1f} pts"


def theme_name(row: dict[str, Any]) -> str:
    """``category / product area``."""
    return f"{row['category']} / {row['product_area']}"


def _keyed(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {theme_name(r): r for r in rows}


def _example_lines(example: dict[str, Any]) -> list[str]:
    lines = [f"> {md_text(example.get('redacted_text'))}"]
    for key, label in (("root_cause", "Root cause"), ("next_action", "Next action")):
        if example.get(key):
            lines += [">", f"> *{label}:* {md_text(example[key])}"]
    lines.append(">")
    source = f"{example.get('channel')} {example.get('source_record_id') or example.get('feedback_id')}"
    lines += [f"> — {md_text(source)}, <{md_text(example.get('link'), 500)}>", ""]
    return lines


def _incident_lines(incident: Incident, examples: int = 2) -> list[str]:
    payload = incident.payload
    if incident.alert is None:
        alert = "no alert sent yet"
    else:
        sent = ", ".join(f"{k} {v}" for k, v in sorted(incident.deliveries.items()))
        alert = (
            f"alert {incident.alert['last_event']} ({int(incident.alert['update_count'])} updates; {sent})"
        )
    lines = [
        f"### {md_text(payload['title'])}",
        "",
        md_text(payload["summary"], 600),
        "",
        f"- Owner: {md_text(payload['owner'])}",
        f"- Alerting: {md_text(alert, 600)}",
        "- Daily volume: " + ", ".join(f"{p['day'][5:]}: {p['volume']}" for p in payload["volume_trend"]),
        "",
    ]
    for example in payload["examples"][:examples]:
        lines += _example_lines(example)
    return lines


def _top_themes_table(today: list[dict[str, Any]], yesterday: dict, week: dict, top: int) -> list[str]:
    lines = [
        "| theme | items | vs previous day | vs 7-day average | negative |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in sorted(today, key=lambda r: (-r["items"], theme_name(r)))[:top]:
        before = yesterday.get(theme_name(row), {}).get("items", 0)
        average = week.get(theme_name(row), {}).get("items", 0) / 7
        lines.append(
            f"| {md_text(theme_name(row))} | {row['items']:,} | {row['items'] - before:+,} | "
            f"{change(row['items'], average)} | {pct(share(row['negative'], row['items']))} |"
        )
    return lines + [""]


def _movers(today: dict[str, dict], week: dict[str, dict]) -> list[str]:
    deltas = []
    for name in set(today) | set(week):
        now = today.get(name, {}).get("items", 0)
        average = week.get(name, {}).get("items", 0) / 7
        if max(now, average) >= MIN_MOVER_ITEMS:
            deltas.append((now - average, name, now, average))
    deltas.sort(key=lambda d: (-d[0], d[1]))
    rising = [d for d in deltas if d[0] > 0][:3]
    falling = [d for d in reversed(deltas) if d[0] < 0][:3]
    lines = [
        f"- Rising: {md_text(n)} — {now:,} items vs {avg:.1f} a day the week before"
        for _, n, now, avg in rising
    ]
    lines += [
        f"- Falling: {md_text(n)} — {now:,} items vs {avg:.1f} a day the week before"
        for _, n, now, avg in falling
    ]
    return (lines or ["- No theme moved by more than a handful of items."]) + [""]


def _busiest_hours_lines(warehouse: Warehouse, day: date) -> list[str]:
    hours = busiest_hours(warehouse, day)
    lines = [
        f"- {hour['hour']:%H:00}–{hour['hour']:%H:59}: {hour['items']:,} items, "
        f"{pct(share(hour['negative'], hour['items']))} negative"
        for hour in hours
    ]
    return (lines or ["- No hourly figures for this day."]) + [""]


def minutes(value: float | None) -> str:
    """A duration in minutes, as hours past two hours; ``–`` when unknown."""
    if value is None:
        return "–"
    return f"{value:,.0f} min" if value < 120 else f"{value / 60:,.1f} h"


def _leadership_lines(warehouse: Warehouse, week: Period) -> list[str]:
    kpis = leadership_kpis(warehouse, week)
    return [
        f"- **Urgent items acknowledged within SLA:** "
        f"{pct(kpis.get('urgent_acknowledged_within_sla_share'))} of {kpis['urgent_items']:,} urgent items.",
        f"- **Customer signal to action:** {minutes(kpis.get('median_minutes_signal_to_action'))} "
        "(median over the days, earliest item of an alert to its acknowledgement).",
        f"- **Alerts resolved:** {pct(kpis.get('alerts_resolved_share'))} of {kpis['alerts_opened']:,} alerts opened.",
        "",
        "Acknowledgements are wall-clock times, feedback times data times: on historical data these durations "
        "are not reaction times.",
        "",
    ]


def daily_summary(warehouse: Warehouse, settings: Settings, day: date) -> str:
    """The daily theme summary for product, for ``day``."""
    today_period = Period(day, day)
    week_period = Period(day - timedelta(days=7), day - timedelta(days=1))
    today = theme_totals(warehouse, today_period)
    yesterday = _keyed(theme_totals(warehouse, today_period.shifted(1)))
    week = _keyed(theme_totals(warehouse, week_period))
    totals, before = period_totals(warehouse, today_period), period_totals(warehouse, today_period.shifted(1))
    week_totals = period_totals(warehouse, week_period)
    recent = str(day - timedelta(days=RECENT_SPIKE_DAYS))
    active = [i for i in incidents(warehouse, settings) if i.payload["window"]["last_day"] >= recent]
    lines = [
        f"# Daily theme summary — {day:%A %d %B %Y}",
        "",
        f"For product: what customers raised on {day} (the latest day in the data), compared with the day "
        "before and with the average of the 7 days before. Themes are taxonomy category / product area.",
        "",
        "## At a glance",
        "",
        f"- {totals['items']:,} feedback items ({change(totals['items'], before['items'])} vs the day before, "
        f"{change(totals['items'], week_totals['items'] / 7)} vs the 7-day average).",
        f"- {pct(share(totals['negative'], totals['items']))} negative "
        f"({points(share(totals['negative'], totals['items']), share(before['negative'], before['items']))} "
        "vs the day before).",
        f"- {len(active)} spike incident(s) in the last {RECENT_SPIKE_DAYS + 1} days."
        if active
        else f"- No theme spiked in the last {RECENT_SPIKE_DAYS + 1} days.",
        "",
        "## Top themes",
        "",
        *_top_themes_table(today, yesterday, week, top=10),
        "## Busiest hours (UTC)",
        "",
        *_busiest_hours_lines(warehouse, day),
        "## Rising and falling",
        "",
        *_movers(_keyed(today), week),
        f"## Spikes (since {recent})",
        "",
    ]
    for incident in active:
        lines += _incident_lines(incident)
    if not active:
        lines += [f"No spike since {recent}: every theme is within its baseline.", ""]
    lines += ["## What customers said today", "", "The most negative items of the day (PII-redacted):", ""]
    for example in negative_examples(warehouse, settings, today_period, limit=3):
        lines.append(f"**{md_text(example['category'])} / {md_text(example['product_area'] or '(none)')}**")
        lines.append("")
        lines += _example_lines(example)
    return "\n".join(lines).rstrip() + "\n"


def iso_week(day: date) -> str:
    """``2026-W47``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _category_table(now: dict[str, dict], before: dict[str, dict], top: int = 8) -> list[str]:
    lines = [
        "| theme | items | change | negative share | change |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in sorted(now, key=lambda c: (-now[c]["items"], c))[:top]:
        cur, old = now[name], before.get(name, {"items": 0, "negative": 0})
        cur_share, old_share = share(cur["negative"], cur["items"]), share(old["negative"], old["items"])
        lines.append(
            f"| {md_text(name)} | {cur['items']:,} | {change(cur['items'], old['items'])} | {pct(cur_share)} | "
            f"{points(cur_share, old_share)} |"
        )
    return lines + [""]


def _emerging(now: list[dict[str, Any]], before: dict[str, dict], min_items: int = 10) -> list[str]:
    growth = []
    for row in now:
        old = before.get(theme_name(row), {}).get("items", 0)
        if row["items"] >= min_items and row["items"] > 1.5 * old:
            growth.append((row["items"] / max(old, 1), theme_name(row), row["items"], old))
    growth.sort(key=lambda g: (-g[0], g[1]))
    lines = [
        f"- {md_text(name)}: {items:,} items ({change(items, old)} vs {old:,})"
        for _, name, items, old in growth[:5]
    ]
    return (lines or [f"- No theme with at least {min_items} items grew by half or more."]) + [""]


def _outside_taxonomy(warehouse: Warehouse, top: int = 3) -> list[str]:
    """The latest growing clusters of feedback the taxonomy covers badly (``enrichment.emerging_themes``)."""
    if not warehouse.table_exists("enrichment.emerging_themes"):
        return []
    from feedback_ops.report.insights import EMERGING_SQL

    rows = warehouse.query_df(EMERGING_SQL, [top]).to_dict("records")
    if not rows:
        return []
    lines = ["Outside the taxonomy (candidates for a new category):", ""]
    for row in rows:
        quote = (json.loads(row["representative_quotes"]) or [{"text": ""}])[0]["text"]
        lines.append(
            f"- {md_text(row['label'])}: {row['recent_count']:,} items in 7 days vs {row['previous_count']:,} "
            f'before, e.g. "{md_text(quote, 140)}"'
        )
    return [*lines, ""]


def _negative_areas(now: list[dict[str, Any]], top: int = 5) -> list[str]:
    areas: dict[str, dict[str, int]] = {}
    for row in now:
        total = areas.setdefault(row["product_area"], {"items": 0, "negative": 0})
        total["items"] += row["items"]
        total["negative"] += row["negative"]
    ranked = sorted(areas.items(), key=lambda a: (-a[1]["negative"], a[0]))[:top]
    lines = ["| product area | items | negative | negative share |", "|---|---:|---:|---:|"]
    lines += [
        f"| {md_text(area)} | {t['items']:,} | {t['negative']:,} | {pct(share(t['negative'], t['items']))} |"
        for area, t in ranked
    ]
    return lines + [""]


def _headlines(warehouse: Warehouse, week: Period, found: list[Incident]) -> list[str]:
    now, before = period_totals(warehouse, week), period_totals(warehouse, week.shifted(7))
    counts = pipeline_counts(warehouse)
    alerts, deliveries = alert_state(warehouse)
    failing = sum(s in ("failed", "pending") for d in deliveries.values() for s in d.values())
    lines = [
        f"- **Volume:** {now['items']:,} feedback items ({change(now['items'], before['items'])} vs the same days "
        "last week).",
        f"- **Negative share:** {pct(share(now['negative'], now['items']))} "
        f"({points(share(now['negative'], now['items']), share(before['negative'], before['items']))}).",
        f"- **Incidents:** {len(found)} spike incident(s) this week"
        + (
            f"; the largest: {md_text(max(found, key=lambda i: i.payload['volume']).payload['title'])}."
            if found
            else "."
        ),
        f"- **Alerts:** {len(alerts):,} raised in total, {failing} deliveries not through yet.",
        f"- **Pipeline health:** enrichment coverage "
        f"{pct(share(int(counts.get('enriched_rows') or 0), int(counts.get('silver_rows') or 0)))}, "
        f"{pct(share(int(counts.get('quarantined_rows') or 0), int(counts.get('bronze_rows') or 0)))} of incoming "
        f"rows quarantined, {len(open_pipeline_health_alerts(warehouse))} operators' pipeline-health alert(s) "
        "open.",
        "",
    ]
    return lines


def weekly_summary(warehouse: Warehouse, settings: Settings, day: date) -> str:
    """The weekly trend summary for leadership, for the ISO week holding ``day`` (up to ``day``)."""
    week = Period(day - timedelta(days=day.weekday()), day)
    previous = week.shifted(7)
    now_rows, before_rows = theme_totals(warehouse, week), theme_totals(warehouse, previous)
    found = [i for i in incidents(warehouse, settings) if i.payload["window"]["last_day"] >= str(week.first)]
    lines = [
        f"# Weekly trends — {iso_week(day)}",
        "",
        f"For leadership: what customers told us {week} ({week.days} day(s) of the week so far), compared with "
        f"the same days of the previous week ({previous}).",
        "",
        "## Headlines",
        "",
        *_headlines(warehouse, week, found),
        "## Leadership KPIs",
        "",
        *_leadership_lines(warehouse, week),
        "## Top themes",
        "",
        *_category_table(by_category(now_rows), by_category(before_rows)),
        "## Emerging themes",
        "",
        *_emerging(now_rows, _keyed(before_rows)),
        *_outside_taxonomy(warehouse),
        "## Most negative product areas",
        "",
        *_negative_areas(now_rows),
        "## Incidents",
        "",
    ]
    for incident in found:
        lines += _incident_lines(incident, examples=1)
    if not found:
        lines += ["No spike incident this week.", ""]
    lines += ["## In customers' words", ""]
    for example in negative_examples(warehouse, settings, week, limit=3):
        lines += _example_lines(example)
    return "\n".join(lines).rstrip() + "\n"


def write_people_summaries(warehouse: Warehouse, settings: Settings) -> list[Path]:
    """Write the daily and weekly summaries for the latest day in the data; none before gold exists."""
    day = latest_day(warehouse)
    if day is None:
        return []
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    daily = settings.reports_dir / f"daily_themes_{day}.md"
    weekly = settings.reports_dir / f"weekly_trends_{iso_week(day)}.md"
    daily.write_text(daily_summary(warehouse, settings, day), encoding="utf-8")
    weekly.write_text(weekly_summary(warehouse, settings, day), encoding="utf-8")
    return [daily, weekly]
