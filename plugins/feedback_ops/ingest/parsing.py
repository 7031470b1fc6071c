"""Parse export files (CSV, JSON Lines, JSON arrays) into bronze records without losing any.

A record that cannot be parsed is not dropped: it becomes a bronze row whose ``payload`` is the raw text and
whose ``parse_error`` says why, so silver can quarantine it and the counts reconcile.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ParsedRecord:
    """One record of an export file, parsed or not."""

    line_number: int
    payload: str
    parse_error: str | None = None


def _read_text(path: Path) -> str:
    # utf-8-sig drops the byte-order mark some exporters (Excel) write; undecodable bytes are kept visibly.
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def parse_csv(text: str) -> Iterator[ParsedRecord]:
    """CSV with a header row; each data row becomes a JSON object of ``{header: value}``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    for number, row in enumerate(reader, start=1):
        if not row:
            continue
        if len(row) != len(header):
            raw = io.StringIO()
            csv.writer(raw).writerow(row)
            yield ParsedRecord(
                number,
                raw.getvalue().rstrip("\r\n"),
                f"csv_field_count_mismatch: expected {len(header)}, got {len(row)}",
            )
            continue
        yield ParsedRecord(number, json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False))


def _object_record(number: int, raw: str) -> ParsedRecord:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        return ParsedRecord(number, raw, f"invalid_json: {error.msg} (column {error.colno})")
    if not isinstance(value, dict):
        return ParsedRecord(number, raw, f"not_a_json_object: got {type(value).__name__}")
    return ParsedRecord(number, json.dumps(value, ensure_ascii=False))


def parse_jsonl(text: str) -> Iterator[ParsedRecord]:
    """JSON Lines: one object per non-blank line."""
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        yield _object_record(number, line.strip())


def parse_json(text: str) -> Iterator[ParsedRecord]:
    """A JSON document holding an array of objects (or ``{"records": [...]}``)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        yield ParsedRecord(1, text, f"invalid_json: {error.msg} (line {error.lineno})")
        return
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        document = document["records"]
    if not isinstance(document, list):
        document = [document]
    for number, value in enumerate(document, start=1):
        yield _object_record(number, json.dumps(value, ensure_ascii=False))


PARSERS = {"csv": parse_csv, "jsonl": parse_jsonl, "json": parse_json}


def parse_file(path: Path, source_format: str) -> Iterator[ParsedRecord]:
    """Parse one landing file with the parser of its format."""
    return PARSERS[source_format](_read_text(path))
