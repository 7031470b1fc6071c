"""The pipeline's stages as plain functions: what each Airflow task and each CLI step calls.

Each function opens what it needs (the warehouse, the index, the models), does one stage, closes, and returns
a small JSON-serialisable dict (it becomes the task's XCom). :data:`STAGES` lists them in the order a run
takes: the ``feedback_pipeline`` DAG makes one task of each and ``feedback-ops run`` calls each, so the two
cannot drift apart. Heavy imports stay inside the functions so that importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
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
    The silver gate first raises ``TooManyFilesParked`` when too many of the latest load's files are parked
    (``feedback_ops.ingest.parked_files.check_parked_file_share``); the rows of parked files are outside it.

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
        if stage == "silver":  # raises TooManyFilesParked: a systematic breakage stops the run
            from feedback_ops.ingest.parked_files import check_parked_file_share

            check_parked_file_share(warehouse, settings.max_parked_file_share)
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


def build_silver(settings: Settings | None = None, *, extra_args: Sequence[str] = ()) -> dict[str, Any]:
    """dbt: staging and intermediate models (typed, normalized, deduplicated, quarantined); incremental, see
    ``transform.dbt_runner.silver_refresh_args``. Then every file that broke its contract is parked
    (``park_and_rebuild``). ``extra_args`` go to ``dbt build`` (the urgent lane leaves out the unit tests)."""
    from feedback_ops.transform.dbt_runner import dbt_vars, run_dbt, silver_refresh_args

    settings = settings or get_settings()

    def build() -> dict[str, Any]:
        return run_dbt(
            "build",
            settings,
            select="tag:silver",
            dbt_vars=dbt_vars(settings),
            extra_args=[*extra_args, *silver_refresh_args(settings)],
        ).as_dict()

    return park_and_rebuild(settings, build)


def park_and_rebuild(settings: Settings, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Build silver with ``build``, park the files over the quarantine threshold
    (``feedback_ops.ingest.parked_files``: recorded, taken out of silver, alerted), and when any was parked
    build again, so a row of another file that repeated a parked one is classified anew. Returns the build's
    result with ``parked_files``."""
    from feedback_ops.ops.file_actions import park_broken_files

    result = build()
    parked = park_broken_files(settings)
    if parked:
        result = build()
    return {**result, "parked_files": [file.as_dict() for file in parked]}


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
    from feedback_ops.enrich.versions import current_enrichment_version
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
    from feedback_ops.transform.dbt_runner import create_missing_incremental_marts, dbt_vars, run_dbt

    settings = settings or get_settings()
    gold_vars = dbt_vars(settings)
    create_missing_incremental_marts(settings, gold_vars)
    return run_dbt("build", settings, select="tag:gold", dbt_vars=gold_vars).as_dict()


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
    from feedback_ops.enrich.versions import current_versions
    from feedback_ops.transform.dbt_runner import dbt_vars
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    versions = current_versions(settings)
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
    from feedback_ops.transform.dbt_runner import dbt_vars, run_dbt

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


def print_summary(settings: Settings | None = None) -> str:
    """Write the run summary, print it (to the task log or the terminal) and return it."""
    text = summarize(settings)
    print(text)
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


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline run: the ``feedback_pipeline`` DAG makes one task of it, ``feedback-ops run`` one
    call, both in the order of :data:`STAGES`."""

    name: str
    """The task id in the DAG and the value of ``feedback-ops run --stage``."""
    doc: str
    """One line: what the step does (the task's documentation in the Airflow UI)."""
    run: Callable[..., Any]
    """Called with the settings, and with ``as_of`` (the run's logical date) when :attr:`dated`."""
    retry: bool = True
    """False where a retry cannot help: a gate's contract breach, the landing listing, the summary."""
    dated: bool = False
    """The step takes the run's logical date (``as_of``): data time for cooldowns, never the wall clock."""
    ingestion: bool = False
    """On Databricks the runtime's own ingestion tasks (:func:`bronze_ingestion_tasks`) take its place."""


STAGES: tuple[Stage, ...] = (
    Stage("land", "List landing files and which are new.", land, retry=False, ingestion=True),
    Stage("load_bronze", "Append new files to bronze.feedback_raw.", load_bronze, ingestion=True),
    Stage("gate_bronze", "Great Expectations gate: bronze.", partial(check_gate, "bronze"), retry=False),
    Stage("build_silver", "dbt build of staging + intermediate (silver).", build_silver),
    Stage("gate_silver", "Great Expectations gate: silver.", partial(check_gate, "silver"), retry=False),
    Stage("enrich", "PII redaction, language, sentiment, category, urgency; the rich pass.", enrich),
    Stage(
        "gate_enrichment",
        "Great Expectations gate: enrichment.",
        partial(check_gate, "enrichment"),
        retry=False,
    ),
    Stage("embed_and_index", "Embed redacted units and sync the search index.", embed_and_index),
    Stage(
        "detect_emerging_themes",
        "Cluster recent feedback the taxonomy covers badly; store the growing clusters.",
        detect_emerging_themes,
    ),
    Stage("build_gold", "dbt build of the marts (gold).", build_gold),
    Stage("gate_gold", "Great Expectations gate: gold.", partial(check_gate, "gold"), retry=False),
    Stage(
        "send_alerts",
        "Open or update spike alerts; cooldowns use the run's logical date, not the wall clock.",
        send_alerts,
        dated=True,
    ),
    Stage(
        "write_report", "Insights report (HTML) and the daily / weekly summaries (Markdown).", write_report
    ),
    Stage("publish_docs", "Great Expectations Data Docs and dbt docs.", publish_docs),
    Stage("summarize", "Write and print the run summary.", print_summary, retry=False),
)
"""The stages of a run, in order: the one list the ``feedback_pipeline`` DAG and ``feedback-ops run`` share."""

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


def run_stage(name: str, settings: Settings | None = None, as_of: datetime | None = None) -> Any:
    """Run one stage of :data:`STAGES` by name; ``as_of`` reaches only the stages that take the logical date.

    Raises:
        ValueError: ``name`` is not a stage.
    """
    stage = next((stage for stage in STAGES if stage.name == name), None)
    if stage is None:
        raise ValueError(f"unknown stage {name!r}: the stages are {', '.join(STAGE_NAMES)}")
    if stage.dated:
        return stage.run(settings, as_of=as_of)
    return stage.run(settings)
