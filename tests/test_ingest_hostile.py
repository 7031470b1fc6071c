"""Bronze on files made to break it: a huge CSV cell, a stray quote, line separators inside JSON Lines texts,
Latin-1 / UTF-16 / gzip / zip / binary files, symlinks out of the landing folder. Every file's records land
(or the file is one row naming the failure), no file stops another, and the manifest's ``source_records``
equals the rows bronze holds for the file."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile

import pytest

from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.ingest.landing import scan
from feedback_ops.ingest.parsing import read_csv, read_jsonl
from feedback_ops.pipeline import land
from feedback_ops.warehouse import open_warehouse

HEADER = "source_record_id,channel,text,created_at\n"


def _jsonl(*records: dict) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _record(number: int, text: str = "fine") -> dict:
    return {
        "source_record_id": f"R-{number}",
        "channel": "chat",
        "text": text,
        "created_at": "2026-11-01T00:00:00Z",
    }


@pytest.fixture
def hostile_settings(settings):
    for path in settings.landing_dir.iterdir():
        path.unlink()
    return settings


def _load(settings):
    with open_warehouse(settings) as warehouse:
        result = load_landing_to_bronze(warehouse, settings)
        rows = warehouse.query_df("select * from bronze.feedback_raw order by source_file, line_number")
        manifest = warehouse.query_df("select * from bronze.file_manifest order by source_file").set_index(
            "source_file"
        )
    return result, rows, manifest


def test_a_cell_past_the_csv_module_limit_loads_and_later_files_still_load(hostile_settings):
    landing = hostile_settings.landing_dir
    (landing / "a_huge.csv").write_text(
        HEADER + f"H-1,chat,{'x' * 200_000},2026-11-01T00:00:00Z\nH-2,chat,ok,2026\n"
    )
    (landing / "b_after.jsonl").write_text(_jsonl(_record(1), _record(2)))

    result, rows, manifest = _load(hostile_settings)

    assert result.files_loaded == ["a_huge.csv", "b_after.jsonl"]
    huge = rows[rows["source_file"] == "a_huge.csv"]
    assert huge["parse_error"].isna().all()
    assert len(json.loads(huge["payload"].iloc[0])["text"]) == 200_000
    assert manifest.loc["b_after.jsonl", "record_count"] == 2


def test_a_stray_quote_falls_back_to_line_by_line_and_no_record_vanishes():
    text = (
        HEADER
        + "R-1,chat,fine,2026-11-01\n"
        + 'R-2,chat,"broken quote starts here,2026-11-01\n'
        + "R-3,chat,three,2026-11-01\n"
        + 'R-4,chat,"four, quoted",2026-11-01\n'
        + "R-5,chat,five,2026-11-01\n"
    )
    parsed = read_csv(text)

    assert (parsed.source_records, parsed.parsed_records) == (5, 3)
    ids = [json.loads(r.payload)["source_record_id"] for r in parsed.records if r.parse_error is None]
    assert ids == ["R-1", "R-3", "R-4", "R-5"]
    broken = [r for r in parsed.records if r.parse_error]
    assert len(broken) == 1 and broken[0].parse_error.startswith("csv_unbalanced_quote")
    assert broken[0].payload.startswith("R-2,chat,")


def test_csv_with_old_mac_line_ends_still_parses():
    parsed = read_csv(HEADER.replace("\n", "\r") + "R-1,chat,one,2026\rR-2,chat,two,2026\r")
    assert [r.parse_error for r in parsed.records] == [None, None]
    assert parsed.source_records == 2


def test_a_stray_quote_that_swallows_a_single_record_is_caught_by_its_broken_quoting():
    parsed = read_csv(HEADER + 'R-1,chat,"broken,2026\nR-2,chat,"two",2026\nR-3,chat,three,2026\n')
    assert parsed.source_records == 3
    assert [r.parse_error is None for r in parsed.records] == [False, True, True]
    assert json.loads(parsed.records[1].payload)["source_record_id"] == "R-2"


def test_a_legitimate_multi_line_cell_stays_one_record():
    # its middle line has the header's field count (commas in prose), its quoting is proper
    text = 'R-1,chat,"first line\nthen, some, commas\nlast ""quoted"" line",2026-11-01\nR-2,chat,two,2026-11-01\n'
    parsed = read_csv(HEADER + text)
    assert (parsed.source_records, parsed.parsed_records) == (2, 2)
    assert [r.parse_error for r in parsed.records] == [None, None]
    assert (
        json.loads(parsed.records[0].payload)["text"] == 'first line\nthen, some, commas\nlast "quoted" line'
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_jsonl_splits_on_newlines_only(separator):
    # the separator raw in the file (json.dumps would escape the C0 ones), and a CRLF line end
    first = json.dumps(_record(1, "before@after"), ensure_ascii=False).replace("@", separator)
    text = first + "\r\n" + _jsonl(_record(2))
    parsed = read_jsonl(text)
    assert parsed.source_records == 2
    assert [r.parse_error for r in parsed.records] == [None, None]
    assert json.loads(parsed.records[0].payload)["text"] == f"before{separator}after"


def test_encodings_compression_and_binaries_are_detected_per_file(hostile_settings):
    landing = hostile_settings.landing_dir
    latin = HEADER + "L-1,review,Café crème brûlée,2026-11-01T00:00:00Z\n"
    (landing / "latin1.csv").write_bytes(latin.encode("latin-1"))
    (landing / "utf16.csv").write_bytes(latin.encode("utf-16"))
    (landing / "bom.csv").write_bytes(latin.encode("utf-8-sig"))
    (landing / "packed.jsonl").write_bytes(gzip.compress(_jsonl(_record(1), _record(2)).encode()))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("inner.jsonl", _jsonl(_record(3)))
    (landing / "zipped.jsonl").write_bytes(archive.getvalue())
    (landing / "image.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (landing / "undecodable.csv").write_bytes(HEADER.encode() + b"U-1,chat,\x81\x8d\x8f,2026\n")

    result, rows, manifest = _load(hostile_settings)

    assert len(result.files_loaded) == 7
    assert manifest.loc["latin1.csv", "encoding"] == "cp1252"
    assert manifest.loc["utf16.csv", "encoding"] == "utf-16"
    assert manifest.loc["bom.csv", "encoding"] == "utf-8-sig"
    for name in ("latin1.csv", "utf16.csv", "bom.csv"):
        payload = rows.loc[rows["source_file"] == name, "payload"].iloc[0]
        assert json.loads(payload)["text"] == "Café crème brûlée", name
    assert manifest.loc["packed.jsonl", "compression"] == "gzip"
    assert rows.loc[rows["source_file"] == "packed.jsonl", "parse_error"].isna().sum() == 2
    errors = rows.set_index("source_file")["parse_error"]
    assert errors["zipped.jsonl"].startswith("unsupported_compression: zipped.jsonl: zip")
    assert errors["image.json"].startswith("binary_file: image.json")
    assert errors["undecodable.csv"].startswith("encoding_error: undecodable.csv")
    assert sorted(result.files_unreadable) == ["image.json", "undecodable.csv", "zipped.jsonl"]
    assert not rows["payload"].str.contains("\x00").any()
    assert (manifest["source_records"] == manifest["record_count"]).all()
    per_file = rows.groupby("source_file").size()
    assert (per_file == manifest["record_count"]).all()


def test_links_out_of_the_landing_folder_are_reported_and_never_read(hostile_settings, tmp_path):
    landing = hostile_settings.landing_dir
    secret = tmp_path / "secret.jsonl"
    secret.write_text(_jsonl(_record(99, "TOKEN=do-not-load")))
    (landing / "good.jsonl").write_text(_jsonl(_record(1)))
    os.symlink(secret, landing / "outside.jsonl")
    os.symlink("/proc/self/environ", landing / "environ.json")
    os.symlink(landing / "good.jsonl", landing / "inside_link.jsonl")
    os.symlink(landing / "missing.jsonl", landing / "dangling.jsonl")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "more.jsonl").write_text(_jsonl(_record(98, "TOKEN=do-not-load")))
    os.symlink(tmp_path / "elsewhere", landing / "linked_dir")
    os.mkfifo(landing / "pipe.jsonl")

    found = scan(landing)
    reasons = {entry.source_file: entry.reason for entry in found.skipped}
    assert reasons == {
        "dangling.jsonl": "broken_symlink",
        "environ.json": "symlink_outside_landing",
        "linked_dir": "symlinked_directory",
        "outside.jsonl": "symlink_outside_landing",
        "pipe.jsonl": "not_a_regular_file",
    }
    assert sorted(f.source_file for f in found.files) == ["good.jsonl", "inside_link.jsonl"]

    landed = land(hostile_settings)
    assert {entry["source_file"] for entry in landed["skipped"]} == set(reasons)
    result, rows, _ = _load(hostile_settings)
    assert result.files_loaded == ["good.jsonl"] and result.files_skipped == ["inside_link.jsonl"]
    assert {entry["reason"] for entry in result.files_refused} == set(reasons.values())
    assert not rows["payload"].str.contains("TOKEN").any()


@pytest.fixture
def hostile_silver(hostile_settings):
    """A landing folder of hostile files, loaded into bronze and built into silver by the real dbt project."""
    from feedback_ops.transform.dbt_runner import run_dbt

    landing = hostile_settings.landing_dir
    (landing / "a_stray_quote.csv").write_text(
        HEADER
        + "Q-1,chat,one,2026-11-01T00:00:00Z\n"
        + 'Q-2,chat,"stray quote,2026-11-01T00:00:00Z\n'
        + "Q-3,chat,three,2026-11-01T00:00:00Z\n"
        + "Q-4,chat,four,2026-11-01T00:00:00Z\n"
    )
    (landing / "b_latin1.csv").write_bytes(
        (HEADER + "L-1,review,Café crème brûlée,2026-11-01T00:00:00Z\n").encode("latin-1")
    )
    texts = {
        "J-1": "line\u2028separator kept",
        "J-2": "&lt;script&gt;alert(1)&lt;/script&gt; escaped markup",
        "J-3": "terminal \x1b[31mred\x1b[0m and \x0cform feed and \u0085next line",
        "J-4": "&amp;lt;b&amp;gt; stays literal",
    }
    records = [{**_record(0), "source_record_id": key, "text": text} for key, text in texts.items()]
    records.append({**_record(0), "source_record_id": "F-1", "created_at": "2099-01-01T00:00:00Z"})
    (landing / "c_texts.jsonl").write_text(_jsonl(*records))
    (landing / "d_packed.jsonl").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with open_warehouse(hostile_settings) as warehouse:
        load_landing_to_bronze(warehouse, hostile_settings)
    result = run_dbt("build", hostile_settings, select="tag:silver")
    return hostile_settings, result


def test_hostile_files_reach_silver_accounted_for_with_clean_text(hostile_silver):
    from feedback_ops.quality.frames import gate_frames

    settings, result = hostile_silver
    assert set(result.counts) <= {"pass", "success"}, result.counts
    with open_warehouse(settings) as warehouse:
        silver = warehouse.query_df("select * from silver.int_feedback_deduplicated").set_index(
            "source_record_id"
        )
        quarantined = warehouse.query_df("select * from silver.int_feedback_quarantined")
        reconciliation = gate_frames("silver", warehouse, settings).frames["reconciliation"].iloc[0]

    assert sorted(silver.index) == ["J-1", "J-2", "J-3", "J-4", "L-1", "Q-1", "Q-3", "Q-4"]
    assert silver.loc["L-1", "feedback_text"] == "Café crème brûlée"
    assert silver.loc["J-1", "feedback_text"] == "line separator kept"
    assert silver.loc["J-2", "feedback_text"] == "alert(1) escaped markup"
    assert silver.loc["J-3", "feedback_text"] == "terminal [31mred [0m and form feed and next line"
    assert silver.loc["J-4", "feedback_text"] == "&lt;b&gt; stays literal"
    reasons = sorted(
        reason.split(":")[0] + ":" + reason.split(":")[1] for reason in quarantined["quarantine_reason"]
    )
    assert reasons == [
        "future_created_at: 2099-01-01T00",
        "malformed_record: csv_unbalanced_quote",
        "malformed_record: unsupported_compression",
    ]
    assert reconciliation.to_dict() == {
        "source_records": 11,
        "bronze_rows": 11,
        "silver_rows": 8,
        "quarantined_rows": 3,
        "duplicate_rows": 0,
        "unbalanced_files": 0,
        "parked_rows": 0,
        "dropped_rows": 0,
        "is_balanced": True,
    }


def test_a_file_whose_bronze_rows_differ_from_its_source_records_unbalances_the_silver_gate(hostile_silver):
    from feedback_ops.quality.frames import gate_frames

    settings, _ = hostile_silver
    with open_warehouse(settings) as warehouse:
        # one row lost from a file and one gained by another: the totals still agree, the files do not
        warehouse.execute(
            "delete from bronze.feedback_raw where source_file = 'c_texts.jsonl' and line_number = 1"
        )
        warehouse.execute(
            "insert into bronze.feedback_raw select * replace (bronze_row_id || '-copy' as bronze_row_id) "
            "from bronze.feedback_raw where source_file = 'b_latin1.csv'"
        )
        reconciliation = gate_frames("silver", warehouse, settings).frames["reconciliation"].iloc[0]

    assert reconciliation["source_records"] == reconciliation["bronze_rows"] == 11
    assert reconciliation["unbalanced_files"] == 2
    assert not reconciliation["is_balanced"]


def test_data_time_never_runs_ahead_of_the_latest_load(settings):
    from datetime import date, datetime

    from feedback_ops.alerts.dispatch import data_time
    from feedback_ops.report.figures import latest_day

    with open_warehouse(settings) as warehouse:
        warehouse.execute("create schema if not exists gold")
        warehouse.execute(
            "create table gold.fct_feedback as select * from (values "
            "(timestamp '2026-11-20 10:00:00', date '2026-11-20', timestamp '2026-11-21 08:00:00', true), "
            "(timestamp '2026-11-22 09:00:00', date '2026-11-22', timestamp '2026-11-21 08:00:00', true)"
            ") as t(created_at, created_date, ingested_at, is_enriched)"
        )
        assert data_time(warehouse) == datetime(2026, 11, 21, 8, 0)
        assert latest_day(warehouse) == date(2026, 11, 21)
