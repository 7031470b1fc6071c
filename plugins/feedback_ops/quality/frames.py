"""Read the frames each gate validates from the warehouse (pandas; GX validates DataFrames locally).

Gates validate whole tables today; at larger volumes they should validate the batch a run wrote.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import Settings
from feedback_ops.warehouse import DuckDBWarehouse

QUARANTINE_BY_FILE_SQL = """
    select
        b.source_file,
        count(*) as bronze_rows,
        count(q.bronze_row_id) as quarantined_rows,
        count(q.bronze_row_id) / count(*) as quarantined_share
    from bronze.feedback_raw as b
    left join silver.int_feedback_quarantined as q on q.bronze_row_id = b.bronze_row_id
    group by b.source_file
    order by b.source_file
"""

COVERAGE_SQL = """
    select
        ? as enrichment_version,
        count(*) as silver_rows,
        count(e.feedback_id) as enriched_rows,
        count(*) filter (where e.feedback_id is null and d.feedback_id is not null) as deferred_rows,
        count(*) filter (where e.feedback_id is null and q.feedback_id is null and d.feedback_id is null)
            as missing_rows
    from silver.int_feedback_deduplicated as s
    left join enrichment.feedback_enrichment as e
        on e.feedback_id = s.feedback_id and e.enrichment_version = ?
    left join enrichment.enrichment_quarantine as q
        on q.feedback_id = s.feedback_id and q.enrichment_version = ? and q.text_hash = s.text_hash
    left join enrichment.enrichment_deferred as d
        on d.feedback_id = s.feedback_id and d.enrichment_version = ?
"""
"""Silver items with no enrichment, quarantine or deferral row at the current version are missing: a
quarantined item is accounted for (its model output stayed invalid), and so is a deferred one (the run budget
ran out or the service was unavailable: it is recorded and picked up by the next run), so a spent budget
degrades the run instead of stopping it. Anything else unenriched means records were lost."""


def _count(warehouse: DuckDBWarehouse, table: str) -> int:
    return int(warehouse.scalar(f"select count(*) from {table}"))


def _bronze(warehouse: DuckDBWarehouse, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "feedback_raw": warehouse.query_df("select * from bronze.feedback_raw"),
        "file_manifest": warehouse.query_df("select * from bronze.file_manifest"),
    }, {}


def _silver(warehouse: DuckDBWarehouse, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    from feedback_ops.quality.gates import reconciliation_frame

    reconciliation = reconciliation_frame(
        bronze_rows=_count(warehouse, "bronze.feedback_raw"),
        silver_rows=_count(warehouse, "silver.int_feedback_deduplicated"),
        quarantined_rows=_count(warehouse, "silver.int_feedback_quarantined"),
        duplicate_rows=_count(warehouse, "silver.int_feedback_duplicates"),
    )
    return {
        "int_feedback_deduplicated": warehouse.query_df("select * from silver.int_feedback_deduplicated"),
        "reconciliation": reconciliation,
        "quarantine_by_file": warehouse.query_df(QUARANTINE_BY_FILE_SQL),
    }, {}


def _enrichment(warehouse: DuckDBWarehouse, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    from feedback_ops.enrich.taxonomy import load_taxonomy
    from feedback_ops.pipeline import current_enrichment_version

    version = current_enrichment_version(settings)
    frame = warehouse.query_df(
        "select * from enrichment.feedback_enrichment where enrichment_version = ?", [version]
    )
    taxonomy = load_taxonomy(settings.taxonomy_path)
    coverage = warehouse.query_df(COVERAGE_SQL, [version, version, version, version])
    return {"feedback_enrichment": frame, "coverage": coverage}, {"taxonomy": sorted(taxonomy.category_ids)}


def _gold(warehouse: DuckDBWarehouse, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    return {
        "fct_feedback": warehouse.query_df("select * from gold.fct_feedback"),
        "rpt_theme_daily": warehouse.query_df("select * from gold.rpt_theme_daily"),
        "rpt_pipeline_reconciliation": warehouse.query_df("select * from gold.rpt_pipeline_reconciliation"),
    }, {}


READERS = {"bronze": _bronze, "silver": _silver, "enrichment": _enrichment, "gold": _gold}


def gate_frames(
    stage: str, warehouse: DuckDBWarehouse, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The frames and suite parameters of one stage's gate."""
    if stage not in READERS:
        raise ValueError(f"unknown gate stage {stage!r}; stages: {sorted(READERS)}")
    return READERS[stage](warehouse, settings)
