"""The shipped sample data (``include/sample_data/``) and the builder that makes it.

The first tests read the committed files only, with a parser of their own, so they hold for anyone who
checks the project out. The last one rebuilds the files from the shared data folder and needs it. The builder
is a script outside the package (``tools/build_sample_data.py``), loaded from its path.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedback_ops.config import CHANNELS
from feedback_ops.synthetic.sample_text import TEST_CARD_NUMBERS, luhn_valid

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _load_builder():
    """``tools/build_sample_data.py`` as a module (registered first: its dataclasses look themselves up)."""
    spec = importlib.util.spec_from_file_location(
        "build_sample_data", PROJECT_ROOT / "tools" / "build_sample_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()
FILES, MissingSharedDataError = builder.FILES, builder.MissingSharedDataError
build_sample_data, main = builder.build_sample_data, builder.main
SAMPLE_DIR = PROJECT_ROOT / "include" / "sample_data"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CONTRACT_CHANNELS = set(CHANNELS)
PERMISSIVE_SOURCES = {"bitext-customer-support", "banking77", "uci-sentiment-labelled-sentences", "generated"}
RELEASE_DAY, SPIKE_DAYS = "2026-11-18", ("2026-11-18", "2026-11-19")
TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


@dataclass(frozen=True)
class Row:
    """One record of a sample file as a reader sees it."""

    file: str
    position: int
    record: dict | None
    error: str | None

    @property
    def created_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str((self.record or {}).get("created_at") or ""))
        except ValueError:
            return None

    @property
    def problem(self) -> str | None:
        """Why the row would be quarantined, or ``None`` for a valid record."""
        if self.error:
            return self.error
        record = self.record or {}
        if not record.get("source_record_id"):
            return "missing_source_record_id"
        if record.get("channel") not in CONTRACT_CHANNELS:
            return "unknown_channel"
        if not TAG.sub(" ", str(record.get("text") or "")).strip():
            return "empty_text"
        if not record.get("created_at"):
            return "missing_created_at"
        if self.created_at is None:
            return "invalid_created_at"
        return None

    @property
    def key(self) -> tuple[str, str]:
        return str(self.record["channel"]), str(self.record["source_record_id"])


def _jsonl_rows(name: str, text: str) -> list[Row]:
    rows = []
    for position, line in enumerate((line for line in text.split("\n") if line.strip()), start=1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            rows.append(Row(name, position, None, "invalid_json"))
            continue
        error = None if isinstance(value, dict) else "not_a_json_object"
        rows.append(Row(name, position, value if error is None else None, error))
    return rows


def _csv_rows(name: str, text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = []
    for position, values in enumerate(reader, start=1):
        if len(values) != len(header):
            rows.append(Row(name, position, None, "csv_field_count_mismatch"))
        else:
            rows.append(Row(name, position, dict(zip(header, values, strict=True)), None))
    return rows


def _read(path: Path) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    return _jsonl_rows(path.name, text) if path.suffix == ".jsonl" else _csv_rows(path.name, text)


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    paths = sorted(p for p in SAMPLE_DIR.iterdir() if p.suffix in (".csv", ".jsonl"))
    assert paths, f"no sample files in {SAMPLE_DIR}"
    return [row for path in paths for row in _read(path)]


@pytest.fixture(scope="module")
def unique_valid(rows: list[Row]) -> list[Row]:
    """The valid records, first export of each (channel, source_record_id) only: what silver keeps."""
    seen: set[tuple[str, str]] = set()
    result = []
    for row in rows:
        if row.problem is None and row.key not in seen:
            seen.add(row.key)
            result.append(row)
    return result


def test_the_expected_files_are_committed_and_small() -> None:
    committed = {p.name for p in SAMPLE_DIR.iterdir()}
    assert {spec.name for spec in FILES} | {"README.md"} <= committed
    assert sum(p.stat().st_size for p in SAMPLE_DIR.iterdir()) < 4 * 1024 * 1024
    assert (PROJECT_ROOT / "NOTICE").is_file()


def test_at_least_5000_records_over_at_least_five_contract_channels(unique_valid: list[Row]) -> None:
    assert len(unique_valid) >= 5000
    channels = Counter(row.record["channel"] for row in unique_valid)
    assert len(channels) >= 5, channels
    assert set(channels) <= CONTRACT_CHANNELS


def test_created_at_is_iso_with_timezone_and_spans_two_weeks(unique_valid: list[Row]) -> None:
    moments = [row.created_at for row in unique_valid]
    assert all(moment.tzinfo is not None for moment in moments)
    assert max(moments) - min(moments) >= timedelta(days=14)
    assert min(moments) >= datetime(2026, 11, 1, tzinfo=UTC)
    assert max(moments) < datetime(2026, 11, 22, tzinfo=UTC)


def test_checkout_spike_stands_out_after_the_release(unique_valid: list[Row]) -> None:
    per_day = Counter(
        row.created_at.astimezone(UTC).date().isoformat()
        for row in unique_valid
        if row.record.get("product_area") == "checkout"
    )
    earlier = [per_day.get(f"2026-11-{day:02d}", 0) for day in range(1, 18)]
    baseline = max(statistics.median(earlier), 1)
    for day in SPIKE_DAYS:
        assert per_day[day] >= 5 * baseline, (day, per_day[day], baseline)
    assert max(earlier) < min(per_day[day] for day in SPIKE_DAYS) / 5


def test_incident_texts_are_varied_and_negative(unique_valid: list[Row]) -> None:
    spike = [
        str(row.record["text"])
        for row in unique_valid
        if row.record.get("product_area") == "checkout"
        and row.created_at >= datetime(2026, 11, 18, 10, tzinfo=UTC)
        and row.created_at < datetime(2026, 11, 19, 16, tzinfo=UTC)
    ]
    assert len(spike) >= 200
    assert len(set(spike)) >= 0.9 * len(spike)
    assert {
        row.record["channel"] for row in unique_valid if row.record.get("product_area") == "checkout"
    } >= {
        "app_store",
        "support_ticket",
        "chat",
        "social",
    }


def test_malformed_rows_of_every_kind_are_planted(rows: list[Row]) -> None:
    problems = Counter(row.problem for row in rows if row.problem)
    for kind in (
        "invalid_json",
        "not_a_json_object",
        "csv_field_count_mismatch",
        "missing_created_at",
        "invalid_created_at",
        "unknown_channel",
        "empty_text",
    ):
        assert problems[kind] >= 1, (kind, problems)
    assert 0.003 <= sum(problems.values()) / len(rows) <= 0.01
    assert any(row.record and row.record.get("created_at") == "not-a-date" for row in rows)
    assert any(row.record and row.record.get("channel") == "fax" for row in rows)
    assert len({row.file for row in rows if row.problem}) >= 5, "malformed rows should be spread over files"


def test_duplicates_are_planted_in_the_same_and_in_another_file(rows: list[Row]) -> None:
    first: dict[tuple[str, str], Row] = {}
    same_file = other_file = 0
    for row in rows:
        if row.problem is not None:
            continue
        original = first.setdefault(row.key, row)
        if original is row:
            continue
        assert original.record == row.record, f"duplicate {row.key} differs from its first export"
        same_file += original.file == row.file
        other_file += original.file != row.file
    assert same_file >= 1 and other_file >= 1
    assert 0.01 <= (same_file + other_file) / len(rows) <= 0.03


def test_synthetic_pii_is_planted_and_cfpb_masks_kept(unique_valid: list[Row]) -> None:
    texts = [str(row.record["text"]) for row in unique_valid]
    email = re.compile(r"[\w.+-]+@(?:mail\.)?example\.(?:com|org|net)")
    phone = re.compile(r"\+1 \d{3}-555-01\d\d|\(\d{3}\) 555-01\d\d|\d{3}\.555\.01\d\d|7946 0\d{3}|496 0\d{3}")
    card = re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b|\b\d{4}[ -]?\d{6}[ -]?\d{5}\b")
    order = re.compile(r"\bORD-\d{6}\b")
    found = {
        "email": sum(bool(email.search(t)) for t in texts),
        "phone": sum(bool(phone.search(t)) for t in texts),
        "card": sum(any(luhn_valid(m) for m in card.findall(t)) for t in texts),
        "order": sum(bool(order.search(t)) for t in texts),
    }
    assert all(count >= 10 for count in found.values()), found
    with_pii = sum(any(p.search(t) for p in (email, phone, order)) or bool(card.search(t)) for t in texts)
    assert 0.03 <= with_pii / len(texts) <= 0.08
    assert any("XXXX" in t for t in texts)


def test_exports_carry_html_whitespace_and_csv_quoting(unique_valid: list[Row]) -> None:
    texts = [str(row.record["text"]) for row in unique_valid]
    assert sum("<p>" in t for t in texts) >= 20
    assert sum("<br" in t for t in texts) >= 20
    assert any("&amp;" in t for t in texts)
    assert sum("  " in t or t != t.strip() for t in texts) >= 50
    csv_texts = [str(row.record["text"]) for row in unique_valid if row.file.endswith(".csv")]
    assert (
        any("\n" in t for t in csv_texts)
        and any("," in t for t in csv_texts)
        and any('"' in t for t in csv_texts)
    )


def test_only_permissive_sources_and_attribution(rows: list[Row]) -> None:
    sources = {
        row.record["metadata"]["source_dataset"]
        for row in rows
        if row.record and isinstance(row.record.get("metadata"), dict)
    }
    assert sources <= PERMISSIVE_SOURCES, sources
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    notice = (PROJECT_ROOT / "NOTICE").read_text(encoding="utf-8")
    for text in (readme, notice):
        for name in (
            "Consumer Financial Protection Bureau",
            "CDLA-Sharing-1.0",
            "Casanueva",
            "Kotzias",
            "CC BY 4.0",
        ):
            assert name in text, name


def test_test_card_numbers_pass_luhn_and_others_do_not() -> None:
    assert all(luhn_valid(number) for number in TEST_CARD_NUMBERS)
    assert not luhn_valid("4111 1111 1111 1112") and not luhn_valid("")


def test_builder_fails_clearly_when_shared_data_lacks_a_file(tmp_path: Path, capsys) -> None:
    shared = tmp_path / "shared"
    (shared / "banking77").mkdir(parents=True)
    (shared / "banking77" / "train.csv").write_text("text,category\n", encoding="utf-8")
    with pytest.raises(MissingSharedDataError, match="cfpb_combined.csv"):
        build_sample_data(shared, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["--shared-data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "shared data folder not found" in capsys.readouterr().err


@pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data folder {SHARED_DATA} is not available")
def test_rebuild_gives_byte_identical_files(tmp_path: Path) -> None:
    counts = build_sample_data(SHARED_DATA, tmp_path, seed=7)
    assert set(counts) == {spec.name for spec in FILES}
    for name in [*counts, "README.md"]:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), (
            f"{name} differs: rebuild it"
        )
    for name, count in counts.items():
        assert len(_read(SAMPLE_DIR / name)) == count
