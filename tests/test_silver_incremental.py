"""Silver is incremental: a build classifies only the bronze rows no silver table holds yet, and the three
tables it leaves (deduplicated, duplicates, quarantined) are the ones a full refresh gives.

Runs the real dbt project on the fixture landing data, then lands three more batches: new items and their
repeats, a repeat of an item kept three batches earlier, an edited repeat, a malformed line, and an occurrence
stamped as loaded together with an earlier batch but committed after it (a load that started first and
finished last), which must take the kept row's place. To see which rows a build rewrote, one row per table is
marked beforehand: a rewritten row loses the mark.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from feedback_ops import pipeline
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.transform.dbt_runner import dbt_vars, run_dbt, silver_refresh_args
from feedback_ops.warehouse import open_warehouse

MARK = "marked: not rewritten"
TABLES = ("int_feedback_deduplicated", "int_feedback_duplicates", "int_feedback_quarantined")
# one row per table, found by these columns in the fixture, and the column that carries the mark
MARKED = {
    "int_feedback_deduplicated": ("source_record_id = 'C-3'", "title"),
    "int_feedback_duplicates": ("source_record_id = 'T-1'", "source_file"),
    "int_feedback_quarantined": ("source_record_id = 'T-9'", "created_at_raw"),
}


def chat(record_id: str, text: str) -> str:
    return json.dumps(
        {"source_record_id": record_id, "channel": "chat", "text": text, "created_at": "2026-11-20T10:00:00Z"}
    )


def land(settings, name: str, lines: list[str]) -> None:
    (settings.landing_dir / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)


def tables(settings) -> dict[str, pd.DataFrame]:
    with open_warehouse(settings) as warehouse:
        return {
            name: warehouse.query_df(f"select * from silver.{name} order by bronze_row_id").reset_index(
                drop=True
            )
            for name in TABLES
        }


def marks_held(settings) -> dict[str, bool]:
    with open_warehouse(settings) as warehouse:
        return {
            name: warehouse.scalar(f"select {column} = ? from silver.{name} where {where}", [MARK])
            for name, (where, column) in MARKED.items()
        }


def set_marks(settings, originals: dict[str, str] | None = None) -> dict[str, str]:
    """Mark one row per table (or put ``originals`` back); return the values the marks replaced."""
    replaced = {}
    with open_warehouse(settings) as warehouse:
        for name, (where, column) in MARKED.items():
            replaced[name] = warehouse.scalar(f"select {column} from silver.{name} where {where}")
            value = originals[name] if originals else MARK
            warehouse.execute(f"update silver.{name} set {column} = ? where {where}", [value])
    return replaced


def kept(frame: pd.DataFrame, record_id: str) -> pd.Series:
    rows = frame[frame["source_record_id"] == record_id]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture
def silver(settings):
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    pipeline.build_silver(settings)
    return settings


def test_incremental_silver_equals_a_full_refresh(silver):
    settings = silver
    first = tables(settings)
    originals = set_marks(settings)

    # 1. nothing new: no row rewritten, the tables unchanged
    result = pipeline.build_silver(settings)
    assert set(result["counts"]) <= {"success", "pass"}
    assert marks_held(settings) == dict.fromkeys(TABLES, True)
    set_marks(settings, originals)
    for name, frame in tables(settings).items():
        pd.testing.assert_frame_equal(frame, first[name])
    set_marks(settings)

    # 2. two new items
    land(
        settings, "m_chats.jsonl", [chat("C-200", "Checkout button does nothing"), chat("C-201", "Slow app")]
    )
    pipeline.build_silver(settings)
    # 3. repeats of items kept one and three batches ago (one with edited text), a new item, a broken line
    land(
        settings,
        "z_chats.jsonl",
        [
            chat("C-1", "Love the new update, everything is faster!"),
            chat("C-200", "Checkout button does nothing"),
            chat("C-201", "Slow app, really slow"),
            chat("C-202", "Where is my refund"),
            '{"source_record_id": "C-203", "text": "cut',
        ],
    )
    pipeline.build_silver(settings)
    after_repeats = tables(settings)
    dedup, dups = after_repeats["int_feedback_deduplicated"], after_repeats["int_feedback_duplicates"]
    c1_repeat = dups[(dups["source_record_id"] == "C-1") & (dups["source_file"] == "z_chats.jsonl")]
    assert c1_repeat["duplicate_of_bronze_row_id"].tolist() == [kept(dedup, "C-1")["bronze_row_id"]]
    c201_repeat = dups[dups["source_record_id"] == "C-201"]
    assert c201_repeat["is_same_text"].tolist() == [False]
    assert kept(dedup, "C-200")["source_file"] == "m_chats.jsonl"
    assert "C-202" in set(dedup["source_record_id"])
    quarantined = after_repeats["int_feedback_quarantined"]
    assert (quarantined["source_file"] == "z_chats.jsonl").sum() == 1

    # 4. an occurrence of C-200 stamped with batch 2's load time whose file sorts first: it is the first
    # occurrence now; batch 2's row and batch 3's repeat both point at it
    land(settings, "a_chats.jsonl", [chat("C-200", "Checkout button does nothing at all")])
    with open_warehouse(settings) as warehouse:
        warehouse.execute(
            "update bronze.feedback_raw set ingested_at = "
            "(select max(ingested_at) from bronze.feedback_raw where source_file = 'm_chats.jsonl') "
            "where source_file = 'a_chats.jsonl'"
        )
    pipeline.build_silver(settings)
    assert marks_held(settings) == dict.fromkeys(TABLES, True), "a build rewrote rows it had no new input for"
    set_marks(settings, originals)
    incremental = tables(settings)
    dedup, dups = incremental["int_feedback_deduplicated"], incremental["int_feedback_duplicates"]
    c200 = kept(dedup, "C-200")
    assert (c200["source_file"], c200["feedback_text"]) == (
        "a_chats.jsonl",
        "Checkout button does nothing at all",
    )
    c200_repeats = dups[dups["source_record_id"] == "C-200"].sort_values("source_file")
    assert c200_repeats["source_file"].tolist() == ["m_chats.jsonl", "z_chats.jsonl"]
    assert set(c200_repeats["duplicate_of_bronze_row_id"]) == {c200["bronze_row_id"]}
    assert not c200_repeats["is_same_text"].any()

    with open_warehouse(settings) as warehouse:
        bronze_ids = set(warehouse.query_df("select bronze_row_id from bronze.feedback_raw")["bronze_row_id"])
    accounted = [frame["bronze_row_id"] for frame in incremental.values()]
    assert sum(len(ids) for ids in accounted) == len(bronze_ids) == 20 + 2 + 5 + 1
    assert set().union(*map(set, accounted)) == bronze_ids

    run_dbt(
        "build",
        settings,
        select="tag:silver",
        dbt_vars=dbt_vars(settings),
        extra_args=["--full-refresh"],
    )
    for name, frame in tables(settings).items():
        pd.testing.assert_frame_equal(incremental[name], frame, obj=name)


def test_a_silver_table_from_before_it_was_incremental_is_rebuilt_once(silver):
    """Full rebuilds did not write ``line_number``: the next build refreshes silver whole instead of failing
    on the missing column, and the builds after it are incremental again."""
    settings = silver
    before = tables(settings)
    with open_warehouse(settings) as warehouse:
        warehouse.execute("alter table silver.int_feedback_deduplicated drop column line_number")
    assert silver_refresh_args(settings) == ["--full-refresh"]
    pipeline.build_silver(settings)
    assert silver_refresh_args(settings) == []
    for name, frame in tables(settings).items():
        pd.testing.assert_frame_equal(frame, before[name], obj=name)
