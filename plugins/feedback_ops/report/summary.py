"""The end-of-run summary: records per stage, quarantine reasons, top themes, spikes, alerts, and paths."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.enrich.failures import failure_counts
from feedback_ops.warehouse.base import Warehouse

TOP_THEMES_SQL = """
    select category, coalesce(product_area, '-') as product_area, count(*) as items,
        avg(case when sentiment_label = 'negative' then 1.0 else 0.0 end) as negative_share
    from gold.fct_feedback where category is not null
    group by all order by items desc, category, product_area limit ?
"""


SIGNALS = {
    "Sustained negative sentiment (3 days, by product area)": (
        "gold.rpt_sustained_negative",
        "select created_date, product_area, window_volume, window_negative_share from gold.rpt_sustained_negative "
        "where is_sustained_negative order by created_date, product_area",
    ),
    "Repeated references to the same bug (error codes, app versions; 2 days)": (
        "gold.rpt_repeated_bug_references",
        "select created_date, entity_type, entity_value, mentions_two_days from gold.rpt_repeated_bug_references "
        "where is_repeated order by created_date, entity_value",
    ),
    "Missing data (a channel that usually sends feedback sent none)": (
        "gold.rpt_data_gaps",
        "select created_date, channel, gap_reason from gold.rpt_data_gaps order by created_date, channel",
    ),
}


EMERGING_SQL = """
    select label, recent_count, previous_count, growth, representative_quotes
    from enrichment.emerging_themes
    where window_end = (select max(window_end) from enrichment.emerging_themes)
    order by recent_count * growth desc, label
    limit 5
"""
"""The growing clusters of the latest detection (``feedback_ops.search.emerging``)."""


def _rows(warehouse: Warehouse, table: str, sql: str) -> list[dict[str, Any]]:
    return warehouse.query_df(sql).to_dict("records") if warehouse.table_exists(table) else []


def _render_signal(row: dict[str, Any]) -> str:
    values = [
        str(v)[:10] if k == "created_date" else (f"{v:.0%}" if isinstance(v, float) else str(v))
        for k, v in row.items()
    ]
    return "  " + "  ".join(values)


@dataclass
class RunSummary:
    """Figures gathered from the warehouse after a run."""

    counts: dict[str, int] = field(default_factory=dict)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    top_themes: list[dict[str, Any]] = field(default_factory=list)
    spikes: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    drift: dict[str, Any] | None = None
    signals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    emerging: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    """Records a stage set aside (the cheap pass's quarantine and ``enrichment.record_failures``), by stage
    and reason."""
    parked_files: list[dict[str, Any]] = field(default_factory=list)


def _count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.scalar(f"select count(*) from {table}")) if warehouse.table_exists(table) else 0


def _source_records(warehouse: Warehouse) -> int:
    """The records the loaded landing files hold (a file loaded before they were counted: its rows)."""
    if not warehouse.table_exists("bronze.file_manifest"):
        return 0
    return int(
        warehouse.scalar(
            "select coalesce(sum(coalesce(source_records, record_count)), 0) from bronze.file_manifest"
        )
    )


PARKED_FILES_SQL = """
    select source_file, file_checksum, status, total_rows, reason from bronze.parked_files
    where status in ('parked', 'dropped') order by parked_at, source_file
"""


def _parked_counts(warehouse: Warehouse) -> dict[str, int]:
    """Bronze rows in parked files and in dropped files (``feedback_ops.ingest.parked_files``)."""
    if not warehouse.table_exists("bronze.parked_files"):
        return {"rows in parked files": 0, "rows in dropped files": 0}
    from feedback_ops.ingest.parked_files import parked_row_counts

    counts = parked_row_counts(warehouse)
    return {"rows in parked files": counts["parked_rows"], "rows in dropped files": counts["dropped_rows"]}


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    if not settings.alert_log.exists():
        return []
    latest: dict[str, dict[str, Any]] = {}
    for line in settings.alert_log.read_text(encoding="utf-8").splitlines():
        if line.strip():
            alert = json.loads(line)
            latest[alert["alert_id"]] = alert
    return list(latest.values())


def build_summary(warehouse: Warehouse, settings: Settings, top: int = 8) -> RunSummary:
    """Read the figures of the latest run from the warehouse and the alert log."""
    summary = RunSummary()
    summary.counts = {
        "landing files loaded": _count(warehouse, "bronze.file_manifest"),
        "source records (in those files)": _source_records(warehouse),
        "bronze rows": _count(warehouse, "bronze.feedback_raw"),
        "silver feedback items": _count(warehouse, "silver.int_feedback_deduplicated"),
        "quarantined rows": _count(warehouse, "silver.int_feedback_quarantined"),
        "duplicate rows": _count(warehouse, "silver.int_feedback_duplicates"),
        **_parked_counts(warehouse),
        "enriched items (current version)": _count(warehouse, "gold.stg_enrichment__feedback_enrichments")
        if warehouse.table_exists("gold.stg_enrichment__feedback_enrichments")
        else _count(warehouse, "enrichment.feedback_enrichment"),
        "rich insights (routed subset)": int(
            warehouse.scalar("select count(*) from gold.fct_feedback where has_insight")
        )
        if warehouse.table_exists("gold.fct_feedback")
        else 0,
        "analysis units (messages + claims)": _count(warehouse, "enrichment.feedback_units"),
        "embedded units": _count(warehouse, "enrichment.embeddings"),
        "gold fct_feedback rows": _count(warehouse, "gold.fct_feedback"),
    }
    if warehouse.table_exists("silver.int_feedback_quarantined"):
        summary.quarantine = warehouse.query_df(
            "select split_part(quarantine_reason, ':', 1) as reason, count(*) as n, min(source_file) as example_file "
            "from silver.int_feedback_quarantined group by all order by n desc, reason"
        ).to_dict("records")
    if warehouse.table_exists("gold.fct_feedback"):
        summary.top_themes = warehouse.query_df(TOP_THEMES_SQL, [top]).to_dict("records")
    if warehouse.table_exists("gold.rpt_theme_spikes"):
        summary.spikes = warehouse.query_df(
            "select created_date, category, product_area, volume, baseline_median, robust_z "
            "from gold.rpt_theme_spikes where is_spike order by created_date, category, product_area"
        ).to_dict("records")
    summary.parked_files = _rows(warehouse, "bronze.parked_files", PARKED_FILES_SQL)
    summary.alerts = _alerts(settings)
    summary.set_aside = failure_counts(warehouse)
    summary.signals = {name: _rows(warehouse, table, sql) for name, (table, sql) in SIGNALS.items()}
    summary.emerging = _rows(warehouse, "enrichment.emerging_themes", EMERGING_SQL)
    if warehouse.table_exists("enrichment.enrichment_runs"):
        latest = warehouse.query_df(
            "select records, drift_distance, drift_flagged from enrichment.enrichment_runs "
            "where records > 0 order by started_at desc limit 1"
        ).to_dict("records")
        summary.drift = latest[0] if latest else None
    return summary


def _latest_summaries(settings: Settings) -> list[str]:
    """The newest daily and weekly Markdown summaries (their names sort by date / ISO week)."""
    lines = []
    for label, pattern in (
        ("daily themes (md)", "daily_themes_*.md"),
        ("weekly trends (md)", "weekly_trends_*.md"),
    ):
        found = sorted(settings.reports_dir.glob(pattern))
        if found:
            lines.append(f"  {label:<20} {found[-1]}")
    return lines


def _index_location(settings: Settings) -> str:
    if settings.search_backend != "embedded":
        return f"{settings.search_backend} (see docs/azure-search.md)"
    from feedback_ops.search.embedded import active_index_path

    return str(active_index_path(settings.index_dir))


def render_summary(summary: RunSummary, settings: Settings) -> str:
    """Plain-text rendering for the terminal and ``.local/run_summary.txt``."""
    lines = ["", "Feedback Ops — run summary", "=" * 26, "", "Records per stage:"]
    lines += [f"  {name:<36} {value:>8,}" for name, value in summary.counts.items()]
    c = summary.counts
    accounted = c["silver feedback items"] + c["quarantined rows"] + c["duplicate rows"]
    balanced = c["bronze rows"] == accounted + c["rows in parked files"] + c["rows in dropped files"]
    loaded = c["source records (in those files)"] == c["bronze rows"]
    lines.append(f"  source records = bronze rows: {'yes' if loaded else 'NO — investigate'}")
    lines.append(
        f"  bronze = silver + quarantined + duplicates + parked + dropped: {'yes' if balanced else 'NO — investigate'}"
    )
    lines += ["", "Parked and dropped files (feedback-ops files list | release | drop):"]
    lines += [
        f"  {p['source_file']} ({p['file_checksum'][:12]}, {p['total_rows']:,} rows) {p['status']}: {p['reason']}"
        for p in summary.parked_files
    ] or ["  none"]
    lines += ["", "Label drift (categories of the last enriching run vs the run before):"]
    drift = summary.drift
    if not drift or drift["drift_distance"] is None or drift["drift_distance"] != drift["drift_distance"]:
        lines.append("  no earlier run to compare with")
    else:
        verdict = "FLAGGED: look at the category shares" if drift["drift_flagged"] else "within threshold"
        lines.append(
            f"  total variation distance {drift['drift_distance']:.3f} over {drift['records']:,} records: {verdict}"
        )
    lines += ["", "Quarantined rows, by reason:"]
    lines += [
        f"  {q['reason']:<36} {q['n']:>8,}   (e.g. in {q['example_file']})" for q in summary.quarantine
    ] or ["  none"]
    lines += ["", "Records a stage set aside (the others went on), by stage and reason:"]
    lines += [
        f"  {r['stage'] + ' / ' + r['reason']:<36} {r['n']:>8,}   (e.g. {r['example_feedback_id']})"
        for r in summary.set_aside
    ] or ["  none"]
    lines += ["", "Top themes (category / product area):", f"  {'theme':<36} {'items':>8}  negative"]
    lines += [
        f"  {t['category'] + ' / ' + t['product_area']:<36} {t['items']:>8,}  {t['negative_share']:>7.0%}"
        for t in summary.top_themes
    ]
    lines += ["", "Spikes (day, theme, volume vs baseline):"]
    lines += [
        f"  {str(s['created_date'])[:10]}  {s['category']} / {s['product_area']}: {s['volume']} vs {s['baseline_median']:g} "
        f"(robust z {s['robust_z']:.1f})"
        for s in summary.spikes
    ] or ["  none"]
    for name, rows in summary.signals.items():
        lines += ["", f"{name}:"]
        lines += [_render_signal(r) for r in rows[:10]] or ["  none"]
        if len(rows) > 10:
            lines.append(f"  … and {len(rows) - 10} more")
    lines += ["", "Emerging themes (recent feedback the taxonomy covers badly, growing; candidates for it):"]
    for theme in summary.emerging:
        quote = (json.loads(theme["representative_quotes"]) or [{"text": ""}])[0]["text"][:100]
        lines.append(
            f"  {theme['label']}: {theme['recent_count']} items vs {theme['previous_count']} the week before "
            f'(x{theme["growth"]:g}), e.g. "{quote}"'
        )
    if not summary.emerging:
        lines.append("  none")
    lines += ["", f"Alerts raised: {len(summary.alerts)}"]
    lines += [f"  [{a['owner']}] {a['title']}" for a in summary.alerts]
    lines += [
        "",
        "Where things are:",
        f"  warehouse (DuckDB)   {settings.warehouse_path}",
        f"  search index         {_index_location(settings)}",
        f"  alert log            {settings.alert_log}",
        f"  insights report      {settings.reports_dir / 'insights.html'}",
        *_latest_summaries(settings),
        f"  Data Docs (GX)       {settings.data_docs_dir / 'index.html'}",
        f"  dbt docs             {settings.dbt_target_dir / 'index.html'}  (serve: make dbt-docs)",
        f"  this summary         {settings.local_dir / 'run_summary.txt'}",
        "",
    ]
    return "\n".join(lines)
