"""Parked files: one landing file that breaks its contract is set aside, and every other file flows on.

A file breaks its contract when more than ``Settings.file_park_quarantine_share`` of its bronze rows, and at
least ``Settings.file_park_min_rows`` of them, are quarantined by silver (a semicolon-separated CSV, a CSV without a text column, binary bytes under a ``.jsonl``
name: every row is rejected, and a whole file rejected is a changed or broken export, not a few bad rows).
Right after silver is built (``pipeline.build_silver``) such a file is **parked**:

- recorded in ``bronze.parked_files`` with the reason (the share and the quarantine reasons), its quarantined
  and total rows, when and by whom;
- its rows are taken out of silver's three tables, and silver's staging view leaves out the rows of every
  parked or dropped file, so they reach neither the silver gate's denominator nor enrichment; a row of another
  file that repeated one of them is classified again (silver is rebuilt at once) and now kept;
- the operators get a pipeline-health alert (``file_parked``) naming the file, the reason and what to do.

Its bronze rows stay (bronze is append-only) and are accounted for: ``bronze = silver + quarantined +
duplicates + rows in parked files + rows in dropped files`` (the silver gate's and gold's reconciliation).

The operator's actions (``feedback-ops files list|release|drop`` and the ``file_actions`` DAG, both through
:func:`apply_file_action`): **release** un-parks a file so the next run classifies and validates its rows
again (after a fix to the models or accepted values; still broken, it is parked again), **drop** gives up on
it: its rows stay excluded, are counted as dropped, and its checksum stays in ``bronze.file_manifest`` so the
same file is never loaded again (a corrected export is a new file).

One bad file never stops the pipeline; many do: the silver gate fails the run when more than
``Settings.max_parked_file_share`` of the latest load's files, and at least two, are parked
(:func:`check_parked_file_share`), naming them: a systematic breakage (every vendor changed its export) must
stop the run rather than quietly park everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedback_ops.warehouse.base import Warehouse

PARKED, RELEASED, DROPPED, LOADED = "parked", "released", "dropped", "loaded"
EXCLUDED_STATUSES = (PARKED, DROPPED)
"""Statuses whose rows silver leaves out (``dbt/models/staging/bronze/stg_bronze__feedback_raw.sql``)."""
ACTIONS = ("list", "release", "drop")
MIN_PARKED_FILES_TO_STOP = 2
"""The new-file share gate never stops a run for one parked file: that is what parking is for."""
PIPELINE_ACTOR = "pipeline"

NOT_EXCLUDED = "file_checksum not in (select file_checksum from bronze.parked_files where status in ('parked', 'dropped'))"

WHOLE_FILE_ERRORS = ("binary_file", "encoding_error", "unsupported_compression", "read_error")
"""``parse_error`` reasons of the one bronze row that stands for a file no reader could open
(``feedback_ops.ingest.parsing.unreadable_file``): such a file is parked whatever its row count."""
WHOLE_FILE_FAILED = (
    "sum(case when {alias}parse_error is not null and ({tests}) then 1 else 0 end) > 0".format(
        alias="{alias}",
        tests=" or ".join(f"{{alias}}parse_error like '{reason}:%'" for reason in WHOLE_FILE_ERRORS),
    )
)
"""SQL: whether a group of bronze rows (``{alias}`` their table's alias and a dot) holds a whole-file failure."""

BROKEN_FILES_SQL = f"""
    select b.file_checksum, b.source_file, count(*) as total_rows, count(q.bronze_row_id) as quarantined_rows
    from bronze.feedback_raw as b
    left join silver.int_feedback_quarantined as q on q.bronze_row_id = b.bronze_row_id
    where b.{NOT_EXCLUDED}
    group by b.file_checksum, b.source_file
    having count(q.bronze_row_id) > ? * count(*)
        and (count(q.bronze_row_id) >= ? or {WHOLE_FILE_FAILED.format(alias="b.")})
    order by b.source_file, b.file_checksum
"""

REASONS_SQL = """
    select split_part(quarantine_reason, ':', 1) as reason, count(*) as row_count
    from silver.int_feedback_quarantined
    where file_checksum = ?
    group by split_part(quarantine_reason, ':', 1)
    order by row_count desc, reason
"""

FILE_ROWS = "select bronze_row_id from bronze.feedback_raw where file_checksum = ?"

PARKED_ROWS_SQL = """
    select
        coalesce(sum(case when p.status = 'parked' then 1 else 0 end), 0) as parked_rows,
        coalesce(sum(case when p.status = 'dropped' then 1 else 0 end), 0) as dropped_rows
    from bronze.feedback_raw as b
    inner join bronze.parked_files as p on p.file_checksum = b.file_checksum
"""

FILES_SQL = """
    select
        m.source_file, m.file_checksum, m.record_count as total_rows, m.batch_id, m.ingested_at,
        coalesce(p.status, 'loaded') as status, p.reason, p.quarantined_rows, p.times_parked,
        p.parked_at, p.released_at, p.dropped_at, p.actor
    from bronze.file_manifest as m
    left join bronze.parked_files as p on p.file_checksum = m.file_checksum
    order by m.ingested_at, m.source_file, m.file_checksum
"""

LATEST_LOAD_SQL = """
    select m.source_file, coalesce(p.status, 'loaded') as status, p.reason
    from bronze.file_manifest as m
    left join bronze.parked_files as p on p.file_checksum = m.file_checksum
    where m.batch_id = (
        select batch_id from bronze.file_manifest order by ingested_at desc, batch_id desc limit 1
    )
    order by m.source_file
"""


class FileActionError(ValueError):
    """An operator's file action that cannot apply: unknown or ambiguous file, or a status it does not fit."""


class TooManyFilesParked(Exception):
    """More than the allowed share of the latest load's files is parked: a systematic breakage stops the run."""

    def __init__(self, parked: list[dict[str, Any]], new_files: int, max_share: float) -> None:
        self.parked = parked
        self.new_files = new_files
        self.max_share = max_share
        names = "; ".join(f"{row['source_file']} ({row['reason']})" for row in parked)
        super().__init__(
            f"{len(parked)} of the {new_files} files of the latest load are parked, more than "
            f"{max_share:.0%} (FEEDBACK_OPS_MAX_PARKED_FILE_SHARE): {names}. A breakage this wide stops the "
            "run: fix the exports and deliver them again, or see `feedback-ops files list` and release (after a "
            "fix) or drop the parked files."
        )


@dataclass(frozen=True)
class ParkedFile:
    """A landing file that broke its contract, and why."""

    file_checksum: str
    source_file: str
    total_rows: int
    quarantined_rows: int
    reasons: dict[str, int] = field(default_factory=dict)
    max_share: float = 0.0
    times_parked: int = 1

    @property
    def share(self) -> float:
        """The share of the file's rows that silver quarantined."""
        return self.quarantined_rows / self.total_rows if self.total_rows else 0.0

    @property
    def reason(self) -> str:
        """One line: the share against the threshold and the quarantine reasons with their counts."""
        reasons = ", ".join(f"{name} x{count}" for name, count in self.reasons.items())
        return (
            f"{self.quarantined_rows} of {self.total_rows} rows quarantined ({self.share:.0%} > "
            f"{self.max_share:.0%}): {reasons}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (task XCom, alert details)."""
        return {
            "source_file": self.source_file,
            "file_checksum": self.file_checksum,
            "total_rows": self.total_rows,
            "quarantined_rows": self.quarantined_rows,
            "reason": self.reason,
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def find_broken_files(warehouse: Warehouse, max_share: float, min_rows: int = 1) -> list[ParkedFile]:
    """The files, not parked or dropped already, with more than ``max_share`` of their rows quarantined, and at
    least ``min_rows`` of them (or no reader could open the file: ``WHOLE_FILE_ERRORS``)."""
    rows = warehouse.query_df(BROKEN_FILES_SQL, [max_share, min_rows]).to_dict("records")
    found = []
    for row in rows:
        reasons = warehouse.query_df(REASONS_SQL, [row["file_checksum"]]).to_dict("records")
        found.append(
            ParkedFile(
                file_checksum=str(row["file_checksum"]),
                source_file=str(row["source_file"]),
                total_rows=int(row["total_rows"]),
                quarantined_rows=int(row["quarantined_rows"]),
                reasons={str(r["reason"]): int(r["row_count"]) for r in reasons},
                max_share=max_share,
            )
        )
    return found


def remove_from_silver(warehouse: Warehouse, file_checksum: str) -> None:
    """Take a file's rows out of silver's three tables, and the duplicates that pointed at one of them (they
    are classified again by the next silver build, without the file: one of them becomes the kept row)."""
    tables = ("int_feedback_duplicates", "int_feedback_deduplicated", "int_feedback_quarantined")
    if not all(warehouse.table_exists(f"silver.{table}") for table in tables):
        return
    warehouse.execute(
        f"delete from silver.int_feedback_duplicates where bronze_row_id in ({FILE_ROWS}) "
        f"or duplicate_of_bronze_row_id in ({FILE_ROWS})",
        [file_checksum, file_checksum],
    )
    for table in tables[1:]:
        warehouse.execute(f"delete from silver.{table} where bronze_row_id in ({FILE_ROWS})", [file_checksum])


def park_files(
    warehouse: Warehouse, files: list[ParkedFile], actor: str = PIPELINE_ACTOR
) -> list[ParkedFile]:
    """Record each file as parked (again, after a release) and take its rows out of silver, in one
    transaction per file; returns the files with how many times each has been parked."""
    import dataclasses

    import pandas as pd

    recorded = []
    for parked in files:
        times = warehouse.scalar(
            "select times_parked from bronze.parked_files where file_checksum = ?", [parked.file_checksum]
        )
        released_at = warehouse.scalar(
            "select released_at from bronze.parked_files where file_checksum = ?", [parked.file_checksum]
        )
        row = {
            "file_checksum": parked.file_checksum,
            "source_file": parked.source_file,
            "status": PARKED,
            "reason": parked.reason,
            "quarantined_rows": parked.quarantined_rows,
            "total_rows": parked.total_rows,
            "times_parked": int(times or 0) + 1,
            "parked_at": _now(),
            "released_at": released_at,
            "dropped_at": None,
            "actor": actor,
        }
        frame = pd.DataFrame([row]).astype({"released_at": "datetime64[us]", "dropped_at": "datetime64[us]"})
        with warehouse.transaction():
            warehouse.upsert("bronze.parked_files", frame, keys=["file_checksum"])
            remove_from_silver(warehouse, parked.file_checksum)
        recorded.append(dataclasses.replace(parked, times_parked=row["times_parked"]))
    return recorded


def parked_row_counts(warehouse: Warehouse) -> dict[str, int]:
    """Bronze rows in parked files and in dropped files (the reconciliation's last two terms)."""
    row = warehouse.query_df(PARKED_ROWS_SQL).to_dict("records")[0]
    return {"parked_rows": int(row["parked_rows"]), "dropped_rows": int(row["dropped_rows"])}


def check_parked_file_share(warehouse: Warehouse, max_share: float) -> dict[str, Any]:
    """The new-file share gate: raise ``TooManyFilesParked`` when more than ``max_share`` of the latest
    load's files, and at least ``MIN_PARKED_FILES_TO_STOP``, are parked.

    The latest load (the newest ``batch_id`` of ``bronze.file_manifest``) is this run's new files, and stays
    the one judged until another load comes: a run that loads nothing new after a systematic breakage stops
    again, until the operator released (after a fix) or dropped the parked files or good files arrive.
    """
    files = warehouse.query_df(LATEST_LOAD_SQL).to_dict("records")
    parked = [row for row in files if row["status"] == PARKED]
    if len(parked) >= MIN_PARKED_FILES_TO_STOP and len(parked) > max_share * len(files):
        raise TooManyFilesParked(parked, len(files), max_share)
    return {"latest_load_files": len(files), "parked": [row["source_file"] for row in parked]}


# --- the operator's actions -----------------------------------------------------------------------------------


def list_files(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Every loaded file, oldest first: name, checksum, rows, status (loaded, parked, released, dropped), the
    reason it was parked, and who acted when."""
    return warehouse.query_df(FILES_SQL).to_dict("records")


def resolve_file(warehouse: Warehouse, ref: str) -> dict[str, Any]:
    """The loaded file a name (``source_file``) or a checksum (or a prefix of at least 8 of its characters)
    designates; ``FileActionError`` when none or several do."""
    ref = (ref or "").strip()
    if not ref:
        raise FileActionError("name a file: its source_file or its checksum (see `feedback-ops files list`)")
    files = list_files(warehouse)
    by_name = [f for f in files if f["source_file"] == ref]
    by_checksum = [f for f in files if len(ref) >= 8 and str(f["file_checksum"]).startswith(ref.lower())]
    matches = by_name or by_checksum
    if not matches:
        raise FileActionError(f"no loaded file is named {ref!r} or has a checksum starting with it")
    if len(matches) > 1:
        options = ", ".join(
            f"{f['source_file']} {str(f['file_checksum'])[:12]} ({f['status']})" for f in matches
        )
        raise FileActionError(f"{ref!r} names {len(matches)} files: {options}; give the checksum instead")
    return matches[0]


def release_file(warehouse: Warehouse, ref: str, actor: str) -> dict[str, Any]:
    """Un-park (or un-drop) a file: the next run's silver build classifies its rows again and the gate
    validates them; still over the threshold, it is parked again."""
    found = resolve_file(warehouse, ref)
    if found["status"] == RELEASED:
        return {**_brief(found), "action": "none", "message": "already released: the next run validates it"}
    if found["status"] not in (PARKED, DROPPED):
        raise FileActionError(
            f"{found['source_file']} is {found['status']}: only a parked or dropped file is released"
        )
    warehouse.execute(
        "update bronze.parked_files set status = ?, released_at = ?, actor = ? where file_checksum = ?",
        [RELEASED, _now(), actor, found["file_checksum"]],
    )
    return {
        **_brief(found),
        "action": "released",
        "status": RELEASED,
        "message": "the next run validates it again",
    }


def drop_file(warehouse: Warehouse, ref: str, actor: str) -> dict[str, Any]:
    """Give up on a parked file: its rows stay out of silver, counted as dropped; its checksum stays known, so
    the same file is never loaded again."""
    found = resolve_file(warehouse, ref)
    if found["status"] == DROPPED:
        return {**_brief(found), "action": "none", "message": "already dropped"}
    if found["status"] != PARKED:
        raise FileActionError(f"{found['source_file']} is {found['status']}: only a parked file is dropped")
    with warehouse.transaction():
        warehouse.execute(
            "update bronze.parked_files set status = ?, dropped_at = ?, actor = ? where file_checksum = ?",
            [DROPPED, _now(), actor, found["file_checksum"]],
        )
        remove_from_silver(warehouse, found["file_checksum"])
    return {
        **_brief(found),
        "action": "dropped",
        "status": DROPPED,
        "message": "its rows are accounted as dropped",
    }


def _brief(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_file": found["source_file"],
        "file_checksum": found["file_checksum"],
        "total_rows": int(found["total_rows"]),
        "status": found["status"],
    }


def json_ready(row: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if value is None or value != value:  # None, NaN, NaT
            return None
        if hasattr(value, "isoformat"):
            return value.isoformat()
        item = getattr(value, "item", None)
        return item() if callable(item) else value

    return {key: plain(value) for key, value in row.items()}
