"""Bronze: every record lands exactly once, malformed ones included; reloading a file writes nothing."""

from __future__ import annotations

import json
import shutil

from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.ingest.parsing import parse_csv, parse_jsonl
from feedback_ops.warehouse import open_warehouse


def test_csv_rows_keep_every_field_and_flag_wrong_field_counts():
    records = list(parse_csv('a,b\n1,"x, y"\n2\n3,"multi\nline"\n'))
    assert [r.line_number for r in records] == [1, 2, 3]
    assert json.loads(records[0].payload) == {"a": "1", "b": "x, y"}
    assert records[1].parse_error == "csv_field_count_mismatch: expected 2, got 1"
    assert json.loads(records[2].payload)["b"] == "multi\nline"


def test_jsonl_keeps_unknown_fields_and_flags_broken_lines():
    records = list(parse_jsonl('{"a": 1, "vendor": {"x": 2}}\n\n{"a": \n[1, 2]\n'))
    assert json.loads(records[0].payload) == {"a": 1, "vendor": {"x": 2}}
    assert records[1].parse_error.startswith("invalid_json")
    assert records[2].parse_error == "not_a_json_object: got list"
    assert records[2].payload == "[1, 2]"


def test_load_writes_every_record_once_and_skips_loaded_files(settings):
    with open_warehouse(settings) as warehouse:
        first = load_landing_to_bronze(warehouse, settings)
        second = load_landing_to_bronze(warehouse, settings)
        rows = warehouse.query_df("select * from bronze.feedback_raw order by source_file, line_number")
        manifest = warehouse.query_df("select * from bronze.file_manifest order by source_file")

    assert sorted(first.files_loaded) == ["chats.jsonl", "tickets.csv"]
    assert first.records_loaded == 20
    assert first.malformed_records == 3
    assert second.files_loaded == [] and second.records_loaded == 0
    assert sorted(second.files_skipped) == ["chats.jsonl", "tickets.csv"]
    assert len(rows) == 20 and rows["bronze_row_id"].is_unique
    assert manifest["record_count"].tolist() == [9, 11]
    broken = rows[rows["parse_error"].notna()]
    assert set(broken["parse_error"].str.split(":").str[0]) == {
        "invalid_json",
        "not_a_json_object",
        "csv_field_count_mismatch",
    }
    vendor = rows[rows["payload"].str.contains("vendor_field", na=False)]
    assert json.loads(vendor["payload"].iloc[0])["vendor_field"] == "kept in payload"


def test_same_content_under_a_new_name_is_skipped_and_new_files_are_appended(settings):
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
        shutil.copy(settings.landing_dir / "chats.jsonl", settings.landing_dir / "chats_copy.jsonl")
        (settings.landing_dir / "late.jsonl").write_text(
            '{"source_record_id": "L-1", "channel": "social", "text": "late", "created_at": "2026-11-20T00:00:00Z"}\n'
        )
        result = load_landing_to_bronze(warehouse, settings)
        total = warehouse.scalar("select count(*) from bronze.feedback_raw")

    assert result.files_loaded == ["late.jsonl"]
    assert "chats_copy.jsonl" in result.files_skipped
    assert total == 21


def test_bronze_row_ids_are_stable_across_warehouses(settings, tmp_path):
    import dataclasses

    other = dataclasses.replace(settings, warehouse_path=tmp_path / "other.duckdb")
    ids = []
    for configured in (settings, other):
        with open_warehouse(configured) as warehouse:
            load_landing_to_bronze(warehouse, configured)
            ids.append(
                warehouse.query_df("select bronze_row_id from bronze.feedback_raw order by 1")[
                    "bronze_row_id"
                ].tolist()
            )
    assert ids[0] == ids[1]


def test_an_older_warehouse_gains_the_columns_a_newer_ddl_declares(settings):
    import duckdb

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema bronze")
        con.execute(
            "create table bronze.file_manifest (file_checksum varchar primary key, source_file varchar not null)"
        )
        con.execute("insert into bronze.file_manifest values ('abc', 'old.csv')")
    with open_warehouse(settings) as warehouse:
        columns = set(warehouse.query_df("select * from bronze.file_manifest"))
        kept = warehouse.scalar("select source_file from bronze.file_manifest where file_checksum = 'abc'")
    assert {"record_count", "batch_id", "ingested_at"} <= columns
    assert kept == "old.csv"


def test_upsert_of_a_table_whose_columns_are_all_keys_is_idempotent(settings):
    import pandas as pd

    with open_warehouse(settings) as warehouse:
        warehouse.execute("create table main.pairs (a varchar, b varchar, primary key (a, b))")
        frame = pd.DataFrame({"a": ["x", "x"], "b": ["1", "2"]})
        warehouse.upsert("main.pairs", frame, keys=["a", "b"])
        warehouse.upsert("main.pairs", frame, keys=["a", "b"])
        assert warehouse.scalar("select count(*) from main.pairs") == 2
