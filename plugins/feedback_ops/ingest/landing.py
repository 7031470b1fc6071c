"""The landing area: which export files are there, and which of them bronze has not loaded yet."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


@dataclass(frozen=True)
class LandingFile:
    """One export file in the landing area."""

    path: Path
    source_file: str
    source_format: str
    checksum: str
    size_bytes: int


def file_checksum(path: Path, chunk_size: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def discover(landing_dir: Path) -> list[LandingFile]:
    """Every supported export file under ``landing_dir``, in a stable order.

    Raises:
        FileNotFoundError: the landing folder does not exist (a configuration error, not an empty load).
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist (FEEDBACK_OPS_LANDING_DIR)")
    found = []
    for path in sorted(landing_dir.rglob("*")):
        source_format = SUPPORTED_FORMATS.get(path.suffix.lower())
        if not path.is_file() or source_format is None or path.name.startswith("."):
            continue
        found.append(
            LandingFile(
                path=path,
                source_file=path.relative_to(landing_dir).as_posix(),
                source_format=source_format,
                checksum=file_checksum(path),
                size_bytes=path.stat().st_size,
            )
        )
    return found


def pending(files: list[LandingFile], loaded_checksums: set[str]) -> list[LandingFile]:
    """The files whose content has not been loaded yet (a renamed copy of a loaded file is skipped too)."""
    seen: set[str] = set()
    todo = []
    for landing_file in files:
        if landing_file.checksum in loaded_checksums or landing_file.checksum in seen:
            continue
        seen.add(landing_file.checksum)
        todo.append(landing_file)
    return todo
