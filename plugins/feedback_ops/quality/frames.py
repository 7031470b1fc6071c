"""Read the frames each gate validates from the warehouse (pandas; GX validates DataFrames locally).

Row-level tables (bronze.feedback_raw, bronze.file_manifest, silver.int_feedback_deduplicated,
enrichment.feedback_enrichment at the current version, gold.fct_feedback, gold.rpt_theme_daily) are read
through the gates' ledger (``quality.validated_rows``): only the rows their suite has not yet passed in their
current content, plus the rows a uniqueness expectation compares them with; see
``feedback_ops.quality.validated_rows`` for why that keeps every contract as strong as a whole-table read.
The aggregates computed in SQL (silver reconciliation with the rows of parked and dropped files, quarantine by
file for the files not parked, enrichment coverage, gold's pipeline reconciliation) are one row, or one row per
landing file, and are read whole every time.

Figures: the four gates (``pipeline.check_gate``) in seconds, one process, after GX's import (~3.5 s), before
(whole tables) -> after (this ledger); ``bench/bench_gate_delta.py`` on the same states, 2 cores, ``nice``,
under ``flock /work/bench.lock``, load average 1.3-1.9:

==========================  ===============  ===============
state                       10k records      100k records
==========================  ===============  ===============
first run (all rows new)    4.93 -> 5.85     8.72 -> 15.65
second run, nothing new     4.93 -> 3.26     8.72 -> 4.06
1k new records on top       6.48 -> 6.35     9.68 -> 7.71
==========================  ===============  ===============

The same 1k records on an empty warehouse: 5.17 -> 6.22 s. So 1k on top of 100k costs 1.24x the 1k alone (was
1.87x). What is left per gate is GX's fixed cost per suite and expectation (context, checkpoints, Data Docs:
~0.3-1 s per gate, whatever the rows) and hashing the table's rows in SQL (~0.05 s per 100k rows on DuckDB).
A first run pays once for recording every row (100k rows x 6 suites).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings
from feedback_ops.ingest.parked_files import WHOLE_FILE_FAILED
from feedback_ops.quality.suites import CONTRACTS
from feedback_ops.quality.validated_rows import UnvalidatedRows, read_unvalidated, validates_row_by_row
from feedback_ops.warehouse.base import Warehouse

if TYPE_CHECKING:
    import pandas as pd

QUARANTINE_BY_FILE_SQL = f"""
    select
        b.source_file,
        count(*) as bronze_rows,
        count(q.bronze_row_id) as quarantined_rows,
        count(q.bronze_row_id) / count(*) as quarantined_share
    from bronze.feedback_raw as b
    left join silver.int_feedback_quarantined as q on q.bronze_row_id = b.bronze_row_id
    where b.file_checksum not in (
        select file_checksum from bronze.parked_files where status in ('parked', 'dropped')
    )
    group by b.source_file
    having count(q.bronze_row_id) >= ? or {WHOLE_FILE_FAILED.format(alias="b.")}
    order by b.source_file
"""

SOURCE_RECORDS_SQL = """
    select
        coalesce(sum(coalesce(m.source_records, m.record_count)), 0) as source_records,
        count(*) filter (where coalesce(m.source_records, m.record_count) <> coalesce(b.bronze_rows, 0))
            as unbalanced_files
    from bronze.file_manifest as m
    left join (
        select file_checksum, count(*) as bronze_rows from bronze.feedback_raw group by file_checksum
    ) as b on b.file_checksum = m.file_checksum
"""
"""The records the landing files hold (the manifest's ``source_records``; a file loaded before it was counted,
or by the Databricks load, counts its ``record_count``) and how many files have another number of bronze rows."""

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


@dataclass(frozen=True)
class GateFrames:
    """What one gate reads: a frame per table of the stage, the suite parameters, and for row-level tables the
    ledger read (rows to validate, rows in the table) that ``record_validated`` records after a pass."""

    stage: str
    frames: dict[str, pd.DataFrame]
    """table -> frame: the rows to validate of a row-level table, the whole frame of an aggregate."""
    params: dict[str, Any]
    row_level: dict[str, UnvalidatedRows]
    """table -> its ledger read, for the tables validated row by row."""

    def to_validate(self) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """The frames GX must validate this run and the parameters their suites take: a row-level table whose
        rows all passed already is left out (and so is a parameter only its suite took)."""
        frames = {
            table: frame
            for table, frame in self.frames.items()
            if table not in self.row_level or self.row_level[table].needs_validation
        }
        contracts = [CONTRACTS[self.stage][table] for table in frames]
        needed = {name for contract in contracts for name in contract.parameters}
        return frames, {name: value for name, value in self.params.items() if name in needed}

    def row_counts(self) -> dict[str, dict[str, int]]:
        """table -> rows validated this run and rows in the table (an aggregate frame is validated whole)."""
        frames, _ = self.to_validate()
        counts = {}
        for table, frame in self.frames.items():
            read = self.row_level.get(table)
            validated = len(frame) if table in frames else 0
            counts[table] = {
                "validated_rows": validated,
                "table_rows": read.table_rows if read else len(frame),
            }
        return counts


def _count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.scalar(f"select count(*) from {table}"))


def _rows(
    warehouse: Warehouse,
    stage: str,
    table: str,
    params: dict[str, Any],
    where: str = "true",
    where_params: tuple[Any, ...] = (),
) -> pd.DataFrame | UnvalidatedRows:
    """The rows to validate of the warehouse table ``<stage>.<table>``: through the ledger, or the whole table
    when its contract holds an expectation a delta would not keep (``validates_row_by_row``)."""
    contract = CONTRACTS[stage][table]
    if not validates_row_by_row(contract):
        return warehouse.query_df(f"select * from {stage}.{table} where {where}", list(where_params))
    return read_unvalidated(warehouse, contract, f"{stage}.{table}", params, where, where_params)


Reading = tuple[dict[str, "pd.DataFrame | UnvalidatedRows"], dict[str, Any]]


def _bronze(warehouse: Warehouse, settings: Settings) -> Reading:
    return {
        "feedback_raw": _rows(warehouse, "bronze", "feedback_raw", {}),
        "file_manifest": _rows(warehouse, "bronze", "file_manifest", {}),
    }, {}


def _silver(warehouse: Warehouse, settings: Settings) -> Reading:
    from feedback_ops.ingest.parked_files import parked_row_counts
    from feedback_ops.quality.gates import reconciliation_frame
    from feedback_ops.quality.suites import MAX_FILE_QUARANTINED_SHARE_PARAMETER

    sources = warehouse.query_df(SOURCE_RECORDS_SQL).iloc[0]
    reconciliation = reconciliation_frame(
        bronze_rows=_count(warehouse, "bronze.feedback_raw"),
        silver_rows=_count(warehouse, "silver.int_feedback_deduplicated"),
        quarantined_rows=_count(warehouse, "silver.int_feedback_quarantined"),
        duplicate_rows=_count(warehouse, "silver.int_feedback_duplicates"),
        source_records=int(sources["source_records"]),
        unbalanced_files=int(sources["unbalanced_files"]),
        **parked_row_counts(warehouse),
    )
    return {
        "int_feedback_deduplicated": _rows(warehouse, "silver", "int_feedback_deduplicated", {}),
        "reconciliation": reconciliation,
        "quarantine_by_file": warehouse.query_df(QUARANTINE_BY_FILE_SQL, [settings.file_park_min_rows]),
    }, {MAX_FILE_QUARANTINED_SHARE_PARAMETER: settings.file_park_quarantine_share}


def _enrichment(warehouse: Warehouse, settings: Settings) -> Reading:
    from feedback_ops.enrich.taxonomy import load_taxonomy
    from feedback_ops.enrich.versions import current_enrichment_version

    version = current_enrichment_version(settings)
    params = {"taxonomy": sorted(load_taxonomy(settings.taxonomy_path).category_ids)}
    enrichment = _rows(
        warehouse, "enrichment", "feedback_enrichment", params, "enrichment_version = ?", (version,)
    )
    coverage = warehouse.query_df(COVERAGE_SQL, [version, version, version, version])
    return {"feedback_enrichment": enrichment, "coverage": coverage}, params


def _gold(warehouse: Warehouse, settings: Settings) -> Reading:
    return {
        "fct_feedback": _rows(warehouse, "gold", "fct_feedback", {}),
        "rpt_theme_daily": _rows(warehouse, "gold", "rpt_theme_daily", {}),
        "rpt_pipeline_reconciliation": warehouse.query_df("select * from gold.rpt_pipeline_reconciliation"),
    }, {}


READERS = {"bronze": _bronze, "silver": _silver, "enrichment": _enrichment, "gold": _gold}


def gate_frames(stage: str, warehouse: Warehouse, settings: Settings) -> GateFrames:
    """The frames and suite parameters of one stage's gate (row-level tables: the rows not yet validated)."""
    if stage not in READERS:
        raise ValueError(f"unknown gate stage {stage!r}; stages: {sorted(READERS)}")
    read, params = READERS[stage](warehouse, settings)
    row_level = {table: item for table, item in read.items() if isinstance(item, UnvalidatedRows)}
    frames = {
        table: item.frame if isinstance(item, UnvalidatedRows) else item for table, item in read.items()
    }
    return GateFrames(stage=stage, frames=frames, params=params, row_level=row_level)
