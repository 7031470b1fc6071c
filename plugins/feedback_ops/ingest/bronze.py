"""Load landing files into ``bronze.feedback_raw``: append-only, idempotent, nothing lost.

A file whose checksum is in ``bronze.file_manifest`` is skipped, so re-running a load (or landing the same
export twice under another name) writes nothing. Every record of a new file becomes exactly one bronze row,
malformed ones included; the manifest row and the file's records are written in one transaction. A file that
cannot be read or parsed (an archive, a binary, a parser failure) becomes one bronze row whose ``parse_error``
names the file and the reason, and the other files load: one file never stops the load. The manifest records
how many records the file holds (``source_records``) beside the rows written (``record_count``), and the
encoding and compression it was read with.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feedback_ops.config import Settings
from feedback_ops.ingest.landing import LandingFile, pending, scan
from feedback_ops.ingest.parsing import ParsedFile, read_export, unreadable_file
from feedback_ops.warehouse.base import Warehouse

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BRONZE_NAMESPACE = uuid.UUID("6f1c2f0e-0d7b-5d4a-9a43-3f0c1e6b2a10")


@dataclass
class BronzeLoadResult:
    """What one bronze load did."""

    batch_id: str | None
    files_seen: int
    files_loaded: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    records_loaded: int = 0
    malformed_records: int = 0
    files_unreadable: list[str] = field(default_factory=list)
    files_refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def bronze_row_id(checksum: str, line_number: int) -> str:
    """Stable id of a bronze row: the same file content and position always give the same id."""
    return str(uuid.uuid5(BRONZE_NAMESPACE, f"{checksum}:{line_number}"))


def batch_id_for(files: list[LandingFile]) -> str:
    """A deterministic batch id from the checksums of the files it loads."""
    digest = hashlib.sha256("".join(sorted(f.checksum for f in files)).encode()).hexdigest()
    return f"batch_{digest[:16]}"


def read_landing_file(landing_file: LandingFile) -> ParsedFile:
    """The records of one landing file; a file that cannot even be read is one record naming the failure."""
    try:
        return read_export(landing_file.path, landing_file.source_format, landing_file.source_file)
    except OSError as error:
        return unreadable_file(landing_file.source_file, landing_file.size_bytes, "read_error", str(error))


def _file_frame(
    landing_file: LandingFile, parsed: ParsedFile, batch_id: str | None, ingested_at: datetime
) -> pd.DataFrame:
    import pandas as pd

    rows = [
        {
            "bronze_row_id": bronze_row_id(landing_file.checksum, record.line_number),
            "batch_id": batch_id,
            "source_file": landing_file.source_file,
            "file_checksum": landing_file.checksum,
            "source_format": landing_file.source_format,
            "line_number": record.line_number,
            "payload": record.payload,
            "parse_error": record.parse_error,
            "ingested_at": ingested_at,
        }
        for record in parsed.records
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def _manifest_frame(
    landing_file: LandingFile,
    parsed: ParsedFile,
    record_count: int,
    batch_id: str | None,
    ingested_at: datetime,
) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "file_checksum": landing_file.checksum,
                "source_file": landing_file.source_file,
                "source_format": landing_file.source_format,
                "size_bytes": landing_file.size_bytes,
                "record_count": record_count,
                "batch_id": batch_id,
                "ingested_at": ingested_at,
                "source_records": parsed.source_records,
                "parsed_records": parsed.parsed_records,
                "encoding": parsed.encoding,
                "compression": parsed.compression,
            }
        ]
    )


def load_landing_to_bronze(
    warehouse: Warehouse, settings: Settings, only: Collection[str] | None = None
) -> BronzeLoadResult:
    """Load every landing file not loaded before into bronze.

    Args:
        only: load just these landing files (``source_file`` names, as the urgent lane's trigger reports
            them); None: every file in the landing area.

    Returns:
        What was loaded and skipped, with record and malformed-record counts.
    """
    landing = scan(settings.landing_dir)
    files = landing.files
    if only is not None:
        files = [f for f in files if f.source_file in set(only)]
    loaded = set(warehouse.query_df("select file_checksum from bronze.file_manifest")["file_checksum"])
    todo = pending(files, loaded)
    result = BronzeLoadResult(
        batch_id=batch_id_for(todo) if todo else None,
        files_seen=len(files),
        files_skipped=[f.source_file for f in files if f not in todo],
        files_refused=[entry.as_dict() for entry in landing.skipped],
    )
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    for landing_file in todo:
        parsed = read_landing_file(landing_file)
        frame = _file_frame(landing_file, parsed, result.batch_id, ingested_at)
        manifest = _manifest_frame(landing_file, parsed, len(frame), result.batch_id, ingested_at)
        with warehouse.transaction():
            warehouse.append("bronze.feedback_raw", frame)
            warehouse.append("bronze.file_manifest", manifest)
        result.files_loaded.append(landing_file.source_file)
        result.records_loaded += len(frame)
        result.malformed_records += int(frame["parse_error"].notna().sum()) if len(frame) else 0
        if parsed.encoding is None and parsed.records:
            log.warning(
                "bronze: %s is not readable text: %s", landing_file.source_file, parsed.records[0].parse_error
            )
            result.files_unreadable.append(landing_file.source_file)
    return result
