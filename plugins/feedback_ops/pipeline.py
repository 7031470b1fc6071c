"""The pipeline's stages as plain functions: what each Airflow task and each CLI step calls.

Each function opens what it needs (the warehouse, the index, the models), does one stage, closes, and returns
a small JSON-serialisable dict (it becomes the task's XCom). Heavy imports stay inside the functions so that
importing this module is cheap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedback_ops.config import Settings, get_settings


def bronze_ingestion_tasks(settings: Settings | None = None) -> list[Any] | None:
    """The ingestion tasks of the configured runtime, for the DAG to chain first.

    ``databricks``: a landing sensor on the ADLS Gen2 container and the ``COPY INTO`` load, as provider
    operators (``feedback_ops.ingest.databricks_tasks``). ``local``: None, and the DAG chains its own ``land`` /
    ``load_bronze`` tasks, which call the two functions below. Reads settings only: cheap at parse time.
    """
    settings = settings or get_settings()
    if settings.runtime != "databricks":
        return None
    from feedback_ops.ingest.databricks_tasks import databricks_ingestion_tasks

    return databricks_ingestion_tasks(settings)


def land(settings: Settings | None = None) -> dict[str, Any]:
    """List the export files in the landing area, which of them are new, and the entries refused (a link
    leading out of the landing folder, anything but a regular file) with the reason; a refused entry is never
    read."""
    from feedback_ops.ingest.landing import pending, scan
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    settings.ensure_dirs()
    landing = scan(settings.landing_dir)
    with open_warehouse(settings) as warehouse:
        loaded = set(warehouse.query_df("select file_checksum from bronze.file_manifest")["file_checksum"])
    new = pending(landing.files, loaded)
    return {
        "landing_dir": str(settings.landing_dir),
        "files": [f.source_file for f in landing.files],
        "new_files": [f.source_file for f in new],
        "skipped": [entry.as_dict() for entry in landing.skipped],
    }


def load_bronze(settings: Settings | None = None) -> dict[str, Any]:
    """Append new landing files to ``bronze.feedback_raw`` (files already loaded are skipped by checksum)."""
    from feedback_ops.ingest.bronze import load_landing_to_bronze
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    with open_warehouse(settings) as warehouse:
        return load_landing_to_bronze(warehouse, settings).as_dict()


def check_gate(stage: str, settings: Settings | None = None) -> dict[str, Any]:
    """Validate the stage's new or changed rows (and its aggregates) against its Great Expectations suites;
    raise ``GateFailed`` on a contract breach, recording nothing, so the next run validates those rows again.

    Row-level tables are read through the gates' ledger (``feedback_ops.quality.validated_rows``): a row that
    passed its suite in its current content is not validated again, so the gate's cost follows new data. After
    a pass the rows validated are recorded. Returns, per table, ``validated_rows`` (this run) and
    ``table_rows``; ``unchanged`` lists the tables with nothing new to validate (GX did not run for them).
    """
    from feedback_ops.quality.frames import gate_frames
    from feedback_ops.quality.gates import run_gate
    from feedback_ops.quality.validated_rows import record_validated
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    with open_warehouse(settings) as warehouse:
        read = gate_frames(stage, warehouse, settings)
    frames, params = read.to_validate()
    if frames:  # raises GateFailed: nothing is recorded
        run_gate(stage, frames, settings=settings, **params)
    validated = [item for table, item in read.row_level.items() if table in frames]
    if validated:
        with open_warehouse(settings) as warehouse:
            record_validated(warehouse, validated)
    return {
        "stage": stage,
        "success": True,
        "tables": read.row_counts(),
        "unchanged": sorted(set(read.frames) - set(frames)),
    }


def build_silver(settings: Settings | None = None) -> dict[str, Any]:
    """dbt: staging and intermediate models (typed, normalized, deduplicated, quarantined); incremental, see
    ``silver_refresh_args``."""
    from feedback_ops.transform.dbt_runner import run_dbt

    settings = settings or get_settings()
    return run_dbt(
        "build",
        settings,
        select="tag:silver",
        dbt_vars=dbt_vars(settings),
        extra_args=silver_refresh_args(settings),
    ).as_dict()


def silver_refresh_args(settings: Settings) -> list[str]:
    """``--full-refresh`` once for silver tables built before they were incremental, else nothing.

    Silver's tables classify only the bronze rows none of them holds yet (``dbt/macros/incremental/
    silver_incremental.sql``), and the deduplicated table orders an item's new occurrences against the row it
    keeps by ``line_number``, a column its earlier full rebuilds did not write: such a table is rebuilt whole
    on the first build after the upgrade, instead of failing on the missing column.
    """
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        if not warehouse.table_exists("silver.int_feedback_deduplicated"):
            return []
        columns = warehouse.query_df("select * from silver.int_feedback_deduplicated limit 0").columns
    return [] if "line_number" in columns else ["--full-refresh"]


def current_enrichment_version(settings: Settings) -> str:
    """The enrichment version the configured backend stamps on its outputs (no model is called)."""
    from feedback_ops.enrich.backends import make_enricher

    return make_enricher(settings).enrichment_version


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars of every dbt command the pipeline runs (silver, gold, source freshness, docs): the current
    enrichment and rich-pass versions, the spike threshold, ``fct_feedback``'s look-back and how far past its
    load a record's ``created_at`` may be before silver quarantines it (``future_created_at``).

    The same vars on every command, even those that read none of them (silver, source freshness): dbt keeps
    its parsed project between commands (partial parsing, ``partial_parse.msgpack`` in the target folder) only
    while the vars stay the same, and re-parses all of it when they change: 4-9 s per command on 2 cores,
    which alternating silver (no vars) and gold (vars) builds paid on every command of every run.
    """
    from feedback_ops.enrich.rich import LocalRichEnricher

    return {
        "enrichment_version": current_enrichment_version(settings),
        "rich_version": LocalRichEnricher(settings).rich_version,
        "spike_min_volume": settings.spike_min_volume,
        "fct_feedback_lookback_minutes": settings.fct_feedback_lookback_minutes,
        "future_created_at_tolerance_hours": settings.future_created_at_tolerance_hours,
    }


def enrich(settings: Settings | None = None) -> dict[str, Any]:
    """Cheap pass on every record not yet enriched (PII redaction first, then language, sentiment, category,
    urgency), then the rich pass (summary, entities, root cause, next action) on the records routed to it."""
    import uuid
    from datetime import UTC, datetime

    from feedback_ops.enrich.drift import record_run_labels
    from feedback_ops.enrich.rich_runner import enrich_rich_pending
    from feedback_ops.enrich.runner import enrich_pending
    from feedback_ops.warehouse import open_warehouse

    # The main DAG is the micro-batch lane: its cost controls apply, and its rows (and spend) carry its name.
    settings = (settings or get_settings()).for_lane("micro_batch")
    started_at = datetime.now(UTC).replace(tzinfo=None)
    with open_warehouse(settings) as warehouse:
        cheap = enrich_pending(warehouse, settings, lane="micro_batch")
        rich = enrich_rich_pending(warehouse, settings, cheap.enrichment_version)
        drift = record_run_labels(warehouse, cheap.enrichment_version, started_at, run_id=uuid.uuid4().hex)
    return {**cheap.as_dict(), "rich_pass": rich.as_dict(), "label_drift": drift.as_dict()}


def embed_and_index(settings: Settings | None = None) -> dict[str, Any]:
    """Embed new redacted units and synchronise the search index; the index count must match the table."""
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.search.factory import make_search_index
    from feedback_ops.search.sync import sync_index
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    embedder = make_embedder(settings)
    if settings.search_backend == "embedded":
        from feedback_ops.search.embedded import read_active_pointer, switch_active_index

        pointer = read_active_pointer(settings.index_dir)
        if pointer["embedding_version"] not in (None, embedder.version):
            # The embedding model changed: rebuild beside the active index and switch (search never empty).
            from feedback_ops.search.reindex import reindex

            return {"reindexed": True, **reindex(settings, embedder=embedder).as_dict()}
    version = current_enrichment_version(settings)
    index = make_search_index(settings, embedder.dimensions)
    try:
        with open_warehouse(settings) as warehouse:
            stats = sync_index(warehouse, index, settings, embedder, version).as_dict()
    finally:
        index.close()
    if settings.search_backend == "embedded" and pointer["embedding_version"] is None:
        switch_active_index(settings.index_dir, settings.index_dir / pointer["file"], embedder.version)
    return stats


def detect_emerging_themes(settings: Settings | None = None) -> dict[str, Any]:
    """Cluster recent units classified ``other`` or with low confidence; store the growing clusters as
    candidate taxonomy themes (``enrichment.emerging_themes``)."""
    from feedback_ops.search.emerging import detect_emerging_themes as detect

    found = detect(settings or get_settings())
    return {
        "window_end": found.window_end,
        "candidates": found.candidates,
        "clusters": found.clusters,
        "emerging": [(t.label, t.recent_count, t.previous_count) for t in found.themes[:10]],
    }


def build_gold(settings: Settings | None = None) -> dict[str, Any]:
    """dbt: marts (fct_feedback, theme aggregates, spikes, reconciliation, review queue and agreement) for the
    current enrichment version."""
    from feedback_ops.transform.dbt_runner import run_dbt

    settings = settings or get_settings()
    gold_vars = dbt_vars(settings)
    create_missing_incremental_marts(settings, gold_vars)
    return run_dbt("build", settings, select="tag:gold", dbt_vars=gold_vars).as_dict()


def create_missing_incremental_marts(settings: Settings, gold_vars: dict[str, Any]) -> None:
    """Create the incremental gold marts empty on a first build: dbt runs a unit test that mocks an
    incremental model's existing table (``input: this``) before the model, and fails when the table does not
    exist yet (dbt's documented workaround is a ``--empty`` run first; the build then fills the table)."""
    from feedback_ops.transform.dbt_runner import run_dbt
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        missing = not warehouse.table_exists("gold.fct_feedback")
    if missing:
        # with their gold-tagged parents (the enrichment / alerts staging views, rebuilt in full by the build
        # that follows); never silver's tables, which an --empty run would empty
        selector = "+config.materialized:incremental,tag:gold"
        run_dbt("run", settings, select=selector, dbt_vars=gold_vars, extra_args=["--empty"])


def send_alerts(settings: Settings | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Open or update one alert per spike incident (policy: thresholds, cooldown, dedupe) and deliver it to the
    local log and the theme's routed destinations; retry deliveries that failed on earlier runs. Then the
    operators' pipeline-health checks (source freshness, label drift, model latency and cost).

    Args:
        as_of: the run's logical date (data time); None uses the latest ``created_at`` in gold. Never the
            wall clock, so a re-run decides the same.
    """
    from datetime import UTC

    from feedback_ops.alerts.dispatch import raise_spike_alerts
    from feedback_ops.alerts.pipeline_health import raise_pipeline_health_alerts, source_freshness
    from feedback_ops.enrich.local import LocalEnricher
    from feedback_ops.enrich.rich import LocalRichEnricher
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    versions = {
        "enrichment_version": LocalEnricher(settings).enrichment_version,
        "rich_version": LocalRichEnricher(settings).rich_version,
    }
    if as_of is not None and as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    freshness = source_freshness(settings, dbt_vars=dbt_vars(settings))
    with open_warehouse(settings) as warehouse:
        run = raise_spike_alerts(warehouse, settings, versions, as_of=as_of)
        health = raise_pipeline_health_alerts(warehouse, settings, as_of=as_of, freshness=freshness)
    return {"alert_log": str(settings.alert_log), **run.as_dict(), "pipeline_health": health.as_dict()}


def write_report(settings: Settings | None = None) -> dict[str, Any]:
    """The insights report (self-contained HTML) and the Markdown summaries for people, from gold."""
    from feedback_ops.report.insights import write_insights_report
    from feedback_ops.report.people import write_people_summaries
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    with open_warehouse(settings) as warehouse:
        report = write_insights_report(warehouse, settings)
        summaries = write_people_summaries(warehouse, settings)
    return {"insights_report": str(report), "summaries": [str(path) for path in summaries]}


def publish_docs(settings: Settings | None = None) -> dict[str, Any]:
    """Build Great Expectations Data Docs and dbt docs under ``.local/``."""
    from feedback_ops.quality.gates import build_data_docs
    from feedback_ops.transform.dbt_runner import run_dbt

    settings = settings or get_settings()
    data_docs = build_data_docs(settings)
    run_dbt("docs generate", settings, dbt_vars=dbt_vars(settings))
    return {"data_docs": str(data_docs), "dbt_docs": str(settings.dbt_target_dir / "index.html")}


def summarize(settings: Settings | None = None) -> str:
    """The run summary a person reads: counts per stage, quarantine, themes, spikes, alerts, where things are."""
    from feedback_ops.report.summary import build_summary, render_summary
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    # Not read-only: in `airflow dags test` every task runs in one process, where dbt-duckdb keeps its own
    # read-write connection to the file open, and DuckDB refuses a second connection with another mode.
    with open_warehouse(settings) as warehouse:
        summary = build_summary(warehouse, settings)
    text = render_summary(summary, settings)
    (settings.local_dir / "run_summary.txt").write_text(text, encoding="utf-8")
    return text


def apply_retention(settings: Settings | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Purge raw customer text past each layer's retention (``include/retention.yaml``) on the configured
    runtime; redacted text, enrichment and aggregates stay. Records the counts in ``ops.retention_runs``.

    Args:
        as_of: the run's logical date (data time); None uses now. Cutoffs are ``as_of - raw_text_days``.
    """
    from datetime import UTC

    from feedback_ops.ops.retention import apply_retention as purge_raw_text
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    as_of = as_of or datetime.now(UTC)
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    with open_warehouse(settings) as warehouse:
        return purge_raw_text(warehouse, settings, as_of).as_dict()
