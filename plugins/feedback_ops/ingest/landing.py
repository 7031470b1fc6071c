"""The landing area: which export files are there, and which of them bronze has not loaded yet.

Only regular files whose real path stays inside the landing folder are read. A symbolic link leading out of
it (``/proc/self/environ``, a file elsewhere on the worker) or to anything but a regular file (a FIFO that
would block the reader, a device) is never opened: it is reported as skipped, with the reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    """One export file in the landing area (``path`` is its real path, inside the landing folder)."""

    path: Path
    source_file: str
    source_format: str
    checksum: str
    size_bytes: int


@dataclass(frozen=True)
class SkippedEntry:
    """An entry of the landing folder that is not read, and why."""

    source_file: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source_file": self.source_file, "reason": self.reason}


@dataclass
class LandingScan:
    """What a scan of the landing folder found: the files to read and the entries refused."""

    files: list[LandingFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


def file_checksum(path: Path, chunk_size: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def refusal_reason(path: Path, landing_root: Path) -> str | None:
    """Why the entry ``path`` of the landing folder must not be read, or None when it is a regular file whose
    real path is inside ``landing_root`` (which must itself be resolved)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling link, loop
        return "broken_symlink"
    if not real.is_relative_to(landing_root):
        return "symlink_outside_landing"
    try:
        mode = os.stat(real).st_mode
    except OSError as error:
        return f"unreadable: {error.strerror}"
    if not stat.S_ISREG(mode):
        return "not_a_regular_file"
    return None


def _candidates(landing_dir: Path) -> list[Path]:
    """Every entry under ``landing_dir`` with a supported suffix, not hidden, without following directory
    links; a linked directory is returned too, so that it is reported rather than silently ignored."""
    found = []
    for root, dirs, names in os.walk(landing_dir, followlinks=False):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in dirs:
            if (Path(root) / name).is_symlink():
                found.append(Path(root) / name)
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_FORMATS:
                found.append(Path(root) / name)
    return sorted(found)


def scan(landing_dir: Path) -> LandingScan:
    """Every supported export file under ``landing_dir`` in a stable order, and the entries refused.

    Raises:
        FileNotFoundError: the landing folder does not exist (a configuration error, not an empty load).
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist (FEEDBACK_OPS_LANDING_DIR)")
    root = landing_dir.resolve()
    result = LandingScan()
    for path in _candidates(landing_dir):
        source_file = path.relative_to(landing_dir).as_posix()
        reason = "symlinked_directory" if path.is_symlink() and path.is_dir() else None
        reason = reason or refusal_reason(path, root)
        if reason is not None:
            log.warning("landing: skipped %s (%s); it is not read", source_file, reason)
            result.skipped.append(SkippedEntry(source_file, reason))
            continue
        real = path.resolve()
        result.files.append(
            LandingFile(
                path=real,
                source_file=source_file,
                source_format=SUPPORTED_FORMATS[path.suffix.lower()],
                checksum=file_checksum(real),
                size_bytes=real.stat().st_size,
            )
        )
    return result


def discover(landing_dir: Path) -> list[LandingFile]:
    """The export files ``scan`` accepts under ``landing_dir``, in a stable order (refused entries are logged).

    Raises:
        FileNotFoundError: the landing folder does not exist (a configuration error, not an empty load).
    """
    return scan(landing_dir).files


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
