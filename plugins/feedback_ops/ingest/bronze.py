"""Load landing files into ``bronze.feedback_raw``: append-only, idempotent, nothing lost.

A file whose checksum is in ``bronze.file_manifest`` is skipped, so re-running a load (or landing the same
export twice under another name) writes nothing. Every record of a new file becomes exactly one bronze row,
malformed ones included; the manifest row and the file's records are written in one transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feedback_ops.config import Settings
from feedback_ops.ingest.landing import LandingFile, discover, pending
from feedback_ops.ingest.parsing import parse_file
from feedback_ops.warehouse.base import Warehouse

if TYPE_CHECKING:
    import pandas as pd

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

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def bronze_row_id(checksum: str, line_number: int) -> str:
    """Stable id of a bronze row: the same file content and position always give the same id."""
    return str(uuid.uuid5(BRONZE_NAMESPACE, f"{checksum}:{line_number}"))


def batch_id_for(files: list[LandingFile]) -> str:
    """A deterministic batch id from the checksums of the files it loads."""
    digest = hashlib.sha256("".join(sorted(f.checksum for f in files)).encode()).hexdigest()
    return f"batch_{digest[:16]}"


def _file_frame(landing_file: LandingFile, batch_id: str | None, ingested_at: datetime) -> pd.DataFrame:
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
        for record in parse_file(landing_file.path, landing_file.source_format)
    ]
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


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
    import pandas as pd

    files = discover(settings.landing_dir)
    if only is not None:
        files = [f for f in files if f.source_file in set(only)]
    loaded = set(warehouse.query_df("select file_checksum from bronze.file_manifest")["file_checksum"])
    todo = pending(files, loaded)
    result = BronzeLoadResult(
        batch_id=batch_id_for(todo) if todo else None,
        files_seen=len(files),
        files_skipped=[f.source_file for f in files if f not in todo],
    )
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    for landing_file in todo:
        frame = _file_frame(landing_file, result.batch_id, ingested_at)
        manifest = pd.DataFrame(
            [
                {
                    "file_checksum": landing_file.checksum,
                    "source_file": landing_file.source_file,
                    "source_format": landing_file.source_format,
                    "size_bytes": landing_file.size_bytes,
                    "record_count": len(frame),
                    "batch_id": result.batch_id,
                    "ingested_at": ingested_at,
                }
            ]
        )
        with warehouse.transaction():
            warehouse.append("bronze.feedback_raw", frame)
            warehouse.append("bronze.file_manifest", manifest)
        result.files_loaded.append(landing_file.source_file)
        result.records_loaded += len(frame)
        result.malformed_records += int(frame["parse_error"].notna().sum()) if len(frame) else 0
    return result
