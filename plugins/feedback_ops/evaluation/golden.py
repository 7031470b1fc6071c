"""The golden set: human-labeled feedback, frozen and versioned, that every backend is measured on.

``include/golden/golden_v<N>.jsonl`` holds one labeled record per line; ``MANIFEST.json`` beside it holds the
version, the file's sha256, counts per label and the provenance. ``load_golden`` refuses a file whose sha256
is not the manifest's: a golden set is never edited in place, a relabeling is a new version (GUIDELINE.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from feedback_ops.config import CHANNELS, PROJECT_ROOT
from feedback_ops.enrich.taxonomy import Urgency

GOLDEN_DIR = PROJECT_ROOT / "include" / "golden"
MANIFEST_NAME = "MANIFEST.json"
URGENT_LEVELS: frozenset[str] = frozenset({"high", "critical"})
"""Urgency levels that count as urgent (they go to the urgent lane)."""

Sentiment = Literal["negative", "neutral", "positive"]
_DIGIT_GROUP = re.compile(r"\d{4,}")
_NAME_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr"})


class GoldenSetError(ValueError):
    """The golden set is missing, altered since its manifest was written, or breaks its schema."""


class GoldenRecord(BaseModel):
    """One labeled feedback text of the golden set.

    ``pii`` lists values the text contains that redaction must remove (empty for most rows).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^g\d+-\d{4}$")
    channel: str
    locale: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    text: str = Field(min_length=1)
    category: str = Field(pattern=r"^[a-z][a-z_]*$")
    sentiment: Sentiment
    urgency: Urgency
    source_dataset: str = Field(min_length=1)
    source_ref: str = Field(min_length=1)
    dataset_label: str | None = None
    label_source: str = Field(min_length=1)
    pii: tuple[str, ...] = ()

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, channel: str) -> str:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
        return channel

    @property
    def urgent(self) -> bool:
        """Whether the gold urgency is high or critical."""
        return self.urgency in URGENT_LEVELS

    @property
    def language(self) -> str:
        """The language part of the locale (``es`` for ``es-ES``)."""
        return self.locale.split("-")[0]


@dataclass(frozen=True)
class GoldenSet:
    """A loaded golden set: its version, the file and its sha256, and the records in file order."""

    version: str
    path: Path
    sha256: str
    records: tuple[GoldenRecord, ...]

    def __len__(self) -> int:
        return len(self.records)


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_records(lines: Iterable[str]) -> list[GoldenRecord]:
    """Validate JSONL lines into records (blank lines skipped).

    Raises:
        GoldenSetError: a line that is not JSON or breaks the schema (its line number is named), or a
            duplicate id.
    """
    records: list[GoldenRecord] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(GoldenRecord.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as error:
            raise GoldenSetError(f"golden line {number}: {error}") from error
    duplicates = [key for key, count in Counter(r.id for r in records).items() if count > 1]
    if duplicates:
        raise GoldenSetError(f"duplicate golden ids: {sorted(duplicates)[:5]}")
    return records


def read_manifest(golden_dir: Path = GOLDEN_DIR) -> dict[str, Any]:
    """The manifest of the golden set in ``golden_dir``."""
    path = Path(golden_dir) / MANIFEST_NAME
    if not path.exists():
        raise GoldenSetError(f"no golden manifest at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_golden(golden_dir: Path = GOLDEN_DIR, *, categories: Iterable[str] | None = None) -> GoldenSet:
    """Load the golden set the manifest in ``golden_dir`` names, after checking its sha256.

    Args:
        golden_dir: the folder holding ``MANIFEST.json`` and the JSONL file it names.
        categories: the valid category ids (a taxonomy's); every record's category must be one of them.

    Raises:
        GoldenSetError: the file is missing, its sha256 differs from the manifest's (it was edited), a record
            breaks the schema, or a category is not in ``categories``.
    """
    manifest = read_manifest(golden_dir)
    path = Path(golden_dir) / manifest["file"]
    if not path.exists():
        raise GoldenSetError(f"golden file {path} named by the manifest does not exist")
    digest = file_sha256(path)
    if digest != manifest["sha256"]:
        raise GoldenSetError(
            f"{path.name} has sha256 {digest[:12]}…, the manifest says {manifest['sha256'][:12]}…: the golden "
            "set is frozen; relabel into a new version instead of editing it (include/golden/README.md)"
        )
    records = parse_records(path.read_text(encoding="utf-8").splitlines())
    if categories is not None:
        unknown = sorted({r.category for r in records} - set(categories))
        if unknown:
            raise GoldenSetError(f"golden categories not in the taxonomy: {unknown}")
    return GoldenSet(version=str(manifest["version"]), path=path, sha256=digest, records=tuple(records))


def label_counts(records: Sequence[GoldenRecord]) -> dict[str, dict[str, int]]:
    """Counts per value of each label and descriptive field (sorted by value): what the manifest records."""
    fields = ("category", "sentiment", "urgency", "channel", "language", "source_dataset")
    counts = {field: Counter(str(getattr(r, field)) for r in records) for field in fields}
    counts["label_source"] = Counter(r.label_source.split(":")[0] for r in records)
    return {field: dict(sorted(counter.items())) for field, counter in counts.items()}


def manifest_figures(path: Path, records: Sequence[GoldenRecord]) -> dict[str, Any]:
    """The computed part of a manifest: file name, sha256, row counts and label counts.

    The manifest adds version, guideline and provenance by hand; tests check these figures still match.
    """
    return {
        "file": Path(path).name,
        "sha256": file_sha256(path),
        "rows": len(records),
        "urgent_rows": sum(r.urgent for r in records),
        "pii_rows": sum(bool(r.pii) for r in records),
        "counts": label_counts(records),
    }


def pii_fragments(value: str) -> list[str]:
    """What must not survive redaction of one PII value: the value itself, each run of 4+ digits in it, an
    e-mail's local part, and each capitalized word of a name (a value without digits or ``@``), so a
    half-redacted card number, e-mail or name still counts as a leak."""
    fragments = [value, *_DIGIT_GROUP.findall(value)]
    if "@" in value:
        fragments.append(value.split("@")[0])
    elif not any(char.isdigit() for char in value):
        fragments += [word for word in _NAME_WORD.findall(value) if word.lower() not in _TITLES]
    return fragments


def leaked_pii(record: GoldenRecord, redacted_text: str) -> list[str]:
    """The record's PII values of which something survives in ``redacted_text``."""
    return [value for value in record.pii if any(part in redacted_text for part in pii_fragments(value))]
