"""Parse export files (CSV, JSON Lines, JSON arrays) into bronze records without losing any.

A record that cannot be parsed is not dropped: it becomes a bronze row whose ``payload`` is the raw text and
whose ``parse_error`` says why, so silver can quarantine it and the counts reconcile. A file that cannot be
read as text at all (an archive, a binary, bytes no text encoding explains) becomes one such row for the
whole file, its ``parse_error`` naming the file and the reason; it never stops the other files.

Bytes to text (``decode_export``): a gzip file is decompressed and its content read as below; other archives
(zip, bz2, xz, zstd, 7z) are refused as ``unsupported_compression``; a UTF-32 / UTF-16 / UTF-8 byte-order mark
selects that encoding; bytes mostly NUL or other control characters are a ``binary_file``; otherwise UTF-8,
and when that fails Windows-1252 (a superset of Latin-1 for text), recorded so the file is flagged; bytes
neither explains are an ``encoding_error``.

Records: JSON Lines split on ``\\n`` only (a trailing ``\\r`` dropped), as the Databricks load splits on
``\\r?\\n``: a U+2028 or a form feed inside a text is part of its record. CSV is parsed by the csv module (lines
end at ``\\r\\n``, ``\\r`` or ``\\n``). A quoted field that spans lines swallowed records when some of the
lines it took are full records by themselves (the header's field count, no quote left inside a field; checked
for three columns or more): two such lines, or one with a broken quoting or a wrong field count. Then a stray
``"`` swallowed the lines after it, and that stretch is
parsed line by line instead (each line its own record, malformed ones flagged), so no record vanishes into
another's field.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CSV_FIELD_SIZE_LIMIT = 64 * 1024 * 1024
"""Largest CSV cell read (characters). The csv module's default, 131,072, is below a long complaint; a cell
above this bound makes its lines malformed records rather than exhausting memory."""

MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024
"""A gzip export inflating past this many bytes is refused (``unsupported_compression``), not expanded."""

_ARCHIVE_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
)
_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x0b")
_BINARY_SAMPLE = 8192
_BINARY_CONTROL_SHARE = 0.1


@dataclass(frozen=True)
class ParsedRecord:
    """One record of an export file, parsed or not."""

    line_number: int
    payload: str
    parse_error: str | None = None


@dataclass(frozen=True)
class ParsedFile:
    """A whole export file read into records.

    Attributes:
        records: one per source record, malformed ones with ``parse_error``.
        source_records: the records the file holds: non-blank lines (JSON Lines), array elements (JSON), the
            records of the strict CSV parse (module docstring), 1 for a file that is not readable text.
        parsed_records: the records the format's parser delimited on its own, before any line-by-line
            recovery (a CSV whose stray quote swallowed 4 lines: 1 here, 5 ``source_records``).
        encoding: ``utf-8``, ``utf-8-sig``, ``utf-16``, ``utf-32`` or ``cp1252`` (the UTF-8 fallback); None
            when the bytes were not read as text.
        compression: ``gzip`` when the file was decompressed, else None.
    """

    records: list[ParsedRecord]
    source_records: int
    parsed_records: int
    encoding: str | None = None
    compression: str | None = None


class UnreadableFile(Exception):
    """An export file that is not readable text; ``reason`` is the ``parse_error`` code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inner = inflater.decompress(raw, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as error:
        raise UnreadableFile("unsupported_compression", f"corrupt gzip ({error})") from error
    if len(inner) > MAX_DECOMPRESSED_BYTES:
        raise UnreadableFile("unsupported_compression", f"gzip inflates past {MAX_DECOMPRESSED_BYTES} bytes")
    return inner


def _looks_binary(raw: bytes) -> bool:
    """Whether the first bytes are mostly not text: NUL and other control bytes (but tab and line ends) over
    ``_BINARY_CONTROL_SHARE`` of them. A stray NUL in a text export (a pasted cell) does not make it binary:
    silver's ``normalize_text`` removes control characters from the text."""
    sample = raw[:_BINARY_SAMPLE]
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in _TEXT_CONTROLS)
    return bool(sample) and controls / len(sample) > _BINARY_CONTROL_SHARE


def _decode_text(raw: bytes) -> tuple[str, str]:
    for mark, encoding in _BOMS:
        if raw.startswith(mark):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError as error:
                raise UnreadableFile("encoding_error", f"invalid {encoding} at byte {error.start}") from error
    if _looks_binary(raw):
        raise UnreadableFile("binary_file", "NUL or control bytes: not a text export")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            "encoding_error",
            f"neither UTF-8 nor Windows-1252 (byte 0x{raw[error.start]:02x} at {error.start})",
        ) from error


def decode_export(raw: bytes) -> tuple[str, str, str | None]:
    """The text of an export file's bytes, the encoding it was read with and its compression (or None).

    Raises:
        UnreadableFile: an archive other than gzip, a binary file, or bytes no supported encoding explains.
    """
    compression = None
    if raw.startswith(b"\x1f\x8b"):
        raw, compression = _gunzip(raw), "gzip"
    for magic, kind in _ARCHIVE_MAGIC:
        if raw.startswith(magic):
            inside = " inside gzip" if compression else ""
            raise UnreadableFile("unsupported_compression", f"{kind} archive{inside}")
    text, encoding = _decode_text(raw)
    return text, encoding, compression


# --- CSV ------------------------------------------------------------------------------------------------------


def _physical_lines(text: str) -> list[str]:
    """The text's lines as the csv module reads a file opened with ``newline=""``: split on ``\r\n``, ``\r``
    or ``\n``, each keeping its line end."""
    return io.StringIO(text, newline="").readlines()


class _LineFeed:
    """The lines a csv reader consumes, with the position reached, so each row's physical lines are known."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


def _fields_of_line(line: str) -> list[str] | str:
    """The fields of one physical line parsed alone, or the csv error it raises."""
    try:
        return next(csv.reader([line.rstrip("\r\n")]), [])
    except csv.Error as error:
        return f"csv_error: {error}"


MIN_WIDTH_FOR_LOOKALIKES = 3
"""Below this many columns any line with a comma would look like a record: only field counts are checked."""


def _is_full_record(line: str, width: int) -> bool:
    """Whether a line read alone is a record: the header's field count and no quote left inside a field (the
    line that ends a legitimate multi-line cell holds its closing quote mid-field, ``tail",en-US,...``)."""
    fields = _fields_of_line(line)
    return isinstance(fields, list) and len(fields) == width and not any('"' in field for field in fields)


def _strictly_quoted(span: list[str]) -> bool:
    """Whether the lines parse as RFC 4180 quoting: every quoted field closed, and closed by a quote followed
    by a delimiter or the line end (a stray quote closes on some later record's quote, mid-field)."""
    try:
        list(csv.reader(span, strict=True))
    except csv.Error:
        return False
    return True


def _swallows_lines(row: list[str], span: list[str], width: int) -> bool:
    """Whether a row read over several lines holds records of its own. Evidence: a line after its first that
    is a full record by itself, together with a broken quoting or a wrong field count, or two such lines. (A
    long text with a comma-rich line, properly quoted, stays one record.)"""
    if width < MIN_WIDTH_FOR_LOOKALIKES:
        return False
    lookalikes = sum(1 for line in span[1:] if _is_full_record(line, width))
    if lookalikes >= 2:
        return True
    return lookalikes == 1 and (len(row) != width or not _strictly_quoted(span))


def _csv_row_record(number: int, row: list[str], header: list[str]) -> ParsedRecord:
    if len(row) != len(header):
        raw = io.StringIO()
        csv.writer(raw).writerow(row)
        return ParsedRecord(
            number,
            raw.getvalue().rstrip("\r\n"),
            f"csv_field_count_mismatch: expected {len(header)}, got {len(row)}",
        )
    return ParsedRecord(number, json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False))


def _line_by_line(lines: list[str], header: list[str], first_number: int, why: str) -> list[ParsedRecord]:
    """Each non-blank line its own record: a line with the header's field count is parsed, others are flagged
    with ``why`` (what made the stretch fall back)."""
    records: list[ParsedRecord] = []
    for line in lines:
        if not line.strip():
            continue
        number = first_number + len(records)
        fields = _fields_of_line(line)
        if isinstance(fields, list) and len(fields) == len(header):
            records.append(_csv_row_record(number, fields, header))
        else:
            detail = (
                fields if isinstance(fields, str) else f"expected {len(header)} fields, got {len(fields)}"
            )
            records.append(ParsedRecord(number, line.rstrip("\r\n"), f"{why} ({detail})"))
    return records


def _csv_header(feed: _LineFeed) -> list[str] | None:
    reader = csv.reader(feed)
    for row in reader:
        if row:
            return [name.strip() for name in row]
    return None


def read_csv(text: str) -> ParsedFile:
    """CSV with a header row; each data row becomes a JSON object of ``{header: value}``. Rows a stray quote
    merged are parsed line by line (module docstring)."""
    csv.field_size_limit(CSV_FIELD_SIZE_LIMIT)
    feed = _LineFeed(_physical_lines(text))
    try:
        header = _csv_header(feed)
    except csv.Error as error:
        unreadable = _line_by_line(feed.lines, ["?"], 1, f"csv_header_unreadable: {error}")
        return ParsedFile(unreadable, len(unreadable), 0)
    if header is None:
        return ParsedFile([], 0, 0)
    reader = csv.reader(feed)
    records: list[ParsedRecord] = []
    parsed = 0
    while feed.position < len(feed.lines):
        start = feed.position
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed += 1
            span = feed.lines[start : feed.position]
            records += _line_by_line(span, header, len(records) + 1, f"csv_error: {error}")
            continue
        if not row:
            continue
        parsed += 1
        span = [line for line in feed.lines[start : feed.position] if line.strip()]
        if len(span) > 1 and _swallows_lines(row, span, len(header)):
            why = f"csv_unbalanced_quote: a quoted field took {len(span)} lines"
            records += _line_by_line(span, header, len(records) + 1, why)
        else:
            records.append(_csv_row_record(len(records) + 1, row, header))
    return ParsedFile(records, len(records), parsed)


def parse_csv(text: str) -> Iterator[ParsedRecord]:
    """The records of a CSV text (see ``read_csv``)."""
    return iter(read_csv(text).records)


# --- JSON -----------------------------------------------------------------------------------------------------


def _object_record(number: int, raw: str) -> ParsedRecord:
    try:
        # strict=False: a control character inside a string (a form feed in pasted text) is part of the text;
        # silver's normalize_text removes it.
        value = json.loads(raw, strict=False)
    except json.JSONDecodeError as error:
        return ParsedRecord(number, raw, f"invalid_json: {error.msg} (column {error.colno})")
    except RecursionError:
        return ParsedRecord(number, raw, "invalid_json: nested deeper than the parser's recursion limit")
    if not isinstance(value, dict):
        return ParsedRecord(number, raw, f"not_a_json_object: got {type(value).__name__}")
    return ParsedRecord(number, json.dumps(value, ensure_ascii=False))


def read_jsonl(text: str) -> ParsedFile:
    """JSON Lines: one object per non-blank line, lines split on ``\\n`` only (``\\r\\n`` too)."""
    records: list[ParsedRecord] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r").strip(" \t\r")  # JSON's own whitespace; U+2028 and the like are text
        if not line:
            continue
        records.append(_object_record(len(records) + 1, line))
    return ParsedFile(records, len(records), len(records))


def parse_jsonl(text: str) -> Iterator[ParsedRecord]:
    """The records of a JSON Lines text (see ``read_jsonl``)."""
    return iter(read_jsonl(text).records)


def read_json(text: str) -> ParsedFile:
    """A JSON document holding an array of objects (or ``{"records": [...]}``)."""
    try:
        document = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        return ParsedFile([ParsedRecord(1, text, f"invalid_json: {error.msg} (line {error.lineno})")], 1, 0)
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        document = document["records"]
    if not isinstance(document, list):
        document = [document]
    records = [
        _object_record(number, json.dumps(value, ensure_ascii=False))
        for number, value in enumerate(document, start=1)
    ]
    return ParsedFile(records, len(document), len(document))


def parse_json(text: str) -> Iterator[ParsedRecord]:
    """The records of a JSON document (see ``read_json``)."""
    return iter(read_json(text).records)


READERS = {"csv": read_csv, "jsonl": read_jsonl, "json": read_json}
PARSERS = {"csv": parse_csv, "jsonl": parse_jsonl, "json": parse_json}


def unreadable_file(source_file: str, size_bytes: int, reason: str, detail: str) -> ParsedFile:
    """The one record standing for a file that could not be read: its ``parse_error`` names the file and the
    reason; its payload describes the file (its bytes are never stored)."""
    record = ParsedRecord(
        1, f"[{reason}: {size_bytes} bytes not parsed]", f"{reason}: {source_file}: {detail}"
    )
    return ParsedFile([record], 1, 0)


def read_export(path: Path, source_format: str, source_file: str | None = None) -> ParsedFile:
    """Read one landing file into records with the reader of its format; never raises for the file's content:
    an unreadable file (or a reader failure) is one record with ``parse_error`` naming the file."""
    name = source_file or path.name
    raw = path.read_bytes()
    try:
        text, encoding, compression = decode_export(raw)
    except UnreadableFile as error:
        return unreadable_file(name, len(raw), error.reason, error.detail)
    try:
        parsed = READERS[source_format](text)
    except Exception as error:  # noqa: BLE001 - one file's failure is its record, never the load's
        return unreadable_file(name, len(raw), "parse_failed", f"{type(error).__name__}: {error}")
    return ParsedFile(parsed.records, parsed.source_records, parsed.parsed_records, encoding, compression)


def parse_file(path: Path, source_format: str) -> Iterator[ParsedRecord]:
    """Parse one landing file with the parser of its format (see ``read_export``)."""
    return iter(read_export(path, source_format).records)
