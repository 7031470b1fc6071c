"""One file that breaks its contract is parked, and every other file flows on (issue 16 §2).

Each test builds its bad files in code next to the fixture landing area (``tickets.csv`` and ``chats.jsonl``,
20 records: silver 10 + quarantined 8 + duplicates 2) and runs the real stages: ``pipeline.land`` ->
``load_bronze`` -> ``build_silver`` (dbt, then parking) -> ``check_gate("silver")`` (GX). The operator's actions
go through ``apply_file_action``, the function the CLI and the ``file_actions`` DAG call.
"""

from __future__ import annotations

import json

import pytest

from feedback_ops import cli, pipeline
from feedback_ops.config import Settings, get_settings
from feedback_ops.ingest.parked_files import FileActionError, TooManyFilesParked
from feedback_ops.ops.file_actions import apply_file_action
from feedback_ops.quality.frames import gate_frames
from feedback_ops.warehouse import open_warehouse

FIXTURE_ROWS = {"silver": 10, "quarantined": 8, "duplicates": 2}


def semicolon_csv(rows: int = 5) -> str:
    """A vendor's export with ``;`` as separator: one column per line to a CSV reader."""
    lines = ["source_record_id;channel;text;created_at"]
    lines += [f"S-{n};chat;The app froze on screen {n};2026-11-20T10:00:00Z" for n in range(rows)]
    return "\n".join(lines) + "\n"


def csv_without_text(rows: int = 4) -> str:
    """A CSV export whose text column is missing: every row is empty_text."""
    lines = ["source_record_id,channel,created_at"]
    lines += [f"N-{n},review,2026-11-20T10:00:00Z" for n in range(rows)]
    return "\n".join(lines) + "\n"


def binary_named_jsonl(lines: int = 6) -> bytes:
    """Bytes that are no text at all under a ``.jsonl`` name (not gzip: no decompression applies)."""
    return b"\n".join(bytes([0x00, 0x9F, 0xFF, 0x13, n, 0xC3, 0x28]) * 4 for n in range(1, lines + 1)) + b"\n"


def run_to_silver(settings: Settings) -> dict:
    """land -> load_bronze -> build_silver; the build's result (with ``parked_files``)."""
    pipeline.land(settings)
    pipeline.load_bronze(settings)
    return pipeline.build_silver(settings)


def reconciliation(settings: Settings) -> dict:
    """The silver gate's reconciliation row, as the gate reads it."""
    with open_warehouse(settings) as warehouse:
        return gate_frames("silver", warehouse, settings).frames["reconciliation"].iloc[0].to_dict()


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with open_warehouse(settings) as warehouse:
        return [tuple(row) for row in warehouse.query_df(sql, params).itertuples(index=False)]


def statuses(settings: Settings) -> dict[str, str]:
    return {
        row["source_file"]: row["status"] for row in apply_file_action("list", settings=settings)["files"]
    }


def silver_rows_of(settings: Settings, source_file: str) -> int:
    counts = query(
        settings,
        "select (select count(*) from silver.int_feedback_deduplicated where source_file = ?)"
        " + (select count(*) from silver.int_feedback_quarantined where source_file = ?)"
        " + (select count(*) from silver.int_feedback_duplicates where source_file = ?)",
        [source_file] * 3,
    )
    return int(counts[0][0])


def file_parked_alerts(settings: Settings) -> list[dict]:
    if not settings.alert_log.exists():
        return []
    alerts = [
        json.loads(line) for line in settings.alert_log.read_text(encoding="utf-8").splitlines() if line
    ]
    return [a for a in alerts if a.get("check") == "file_parked"]


@pytest.fixture
def one_bad_file(settings: Settings) -> Settings:
    """The fixture landing area and one semicolon-separated export, run through silver."""
    (settings.landing_dir / "vendor_semicolon.csv").write_text(semicolon_csv(), encoding="utf-8")
    return settings


def test_a_broken_file_is_parked_and_every_other_file_flows_on(one_bad_file: Settings) -> None:
    settings = one_bad_file
    built = run_to_silver(settings)

    assert [f["source_file"] for f in built["parked_files"]] == ["vendor_semicolon.csv"]
    parked = query(
        settings,
        "select source_file, status, quarantined_rows, total_rows, times_parked, actor, reason "
        "from bronze.parked_files",
    )
    assert len(parked) == 1
    source_file, status, quarantined, total, times, actor, reason = parked[0]
    assert (source_file, status, quarantined, total, times, actor) == (
        "vendor_semicolon.csv",
        "parked",
        5,
        5,
        1,
        "pipeline",
    )
    assert (
        reason.startswith("5 of 5 rows quarantined (100% > 50%)") and "missing_source_record_id x5" in reason
    )
    # none of its rows is in silver; the good files' rows are all there
    assert silver_rows_of(settings, "vendor_semicolon.csv") == 0
    assert sum(silver_rows_of(settings, name) for name in ("tickets.csv", "chats.jsonl")) == 20

    gate = pipeline.check_gate("silver", settings)  # passes: the parked file is outside its denominator
    assert gate["success"] and gate["tables"]["int_feedback_deduplicated"]["table_rows"] == 10

    counts = reconciliation(settings)
    assert (counts["bronze_rows"], counts["silver_rows"], counts["quarantined_rows"]) == (25, 10, 8)
    assert (counts["duplicate_rows"], counts["parked_rows"], counts["dropped_rows"]) == (2, 5, 0)
    assert bool(counts["is_balanced"])

    alerts = file_parked_alerts(settings)
    assert len(alerts) == 1
    assert alerts[0]["owner"] and "vendor_semicolon.csv" in alerts[0]["title"]
    assert "missing_source_record_id" in alerts[0]["summary"] and "feedback-ops files" in alerts[0]["summary"]

    summary = pipeline.summarize(settings)
    assert "bronze = silver + quarantined + duplicates + parked + dropped: yes" in summary
    assert "vendor_semicolon.csv" in summary and "parked" in summary


def test_a_row_that_repeated_a_parked_files_record_is_kept_instead(settings: Settings) -> None:
    # sorts before chats.jsonl, so before parking its copy of C-1 is the kept row and chats' C-1 a duplicate
    c1 = (settings.landing_dir / "chats.jsonl").read_text(encoding="utf-8").splitlines()[0]
    (settings.landing_dir / "a_broken.jsonl").write_text(
        f"{c1}\nnot json\n[1, 2]\n{{broken\n", encoding="utf-8"
    )

    built = run_to_silver(settings)

    assert [f["source_file"] for f in built["parked_files"]] == ["a_broken.jsonl"]
    kept = query(
        settings,
        "select d.source_file from silver.int_feedback_deduplicated d where d.source_record_id = 'C-1'",
    )
    assert kept == [("chats.jsonl",)]
    assert query(
        settings, "select count(*) from silver.int_feedback_duplicates where source_record_id = 'C-1'"
    ) == [(0,)]
    counts = reconciliation(settings)
    assert (counts["silver_rows"], counts["quarantined_rows"], counts["duplicate_rows"]) == (10, 8, 2)
    assert counts["parked_rows"] == 4 and bool(counts["is_balanced"])
    assert pipeline.check_gate("silver", settings)["success"]


def test_release_of_an_unfixed_file_parks_it_again(one_bad_file: Settings) -> None:
    settings = one_bad_file
    run_to_silver(settings)

    released = apply_file_action("release", "vendor_semicolon.csv", actor="ann", settings=settings)

    assert (released["action"], released["status"]) == ("released", "released")
    assert statuses(settings) == {
        "chats.jsonl": "loaded",
        "tickets.csv": "loaded",
        "vendor_semicolon.csv": "released",
    }
    again = pipeline.build_silver(settings)  # the next run validates it again: still broken
    assert [f["source_file"] for f in again["parked_files"]] == ["vendor_semicolon.csv"]
    row = query(settings, "select status, times_parked, released_at is not null from bronze.parked_files")
    assert row == [("parked", 2, True)]
    assert silver_rows_of(settings, "vendor_semicolon.csv") == 0
    assert len(file_parked_alerts(settings)) == 2, "parked again after a release: the operators hear it again"
    assert bool(reconciliation(settings)["is_balanced"])
    assert pipeline.check_gate("silver", settings)["success"]


def test_drop_keeps_the_counts_balanced_and_the_file_is_never_loaded_again(one_bad_file: Settings) -> None:
    settings = one_bad_file
    run_to_silver(settings)
    checksum = query(settings, "select file_checksum from bronze.parked_files")[0][0]

    dropped = apply_file_action("drop", checksum[:12], actor="ann", settings=settings)

    assert (dropped["source_file"], dropped["action"], dropped["status"]) == (
        "vendor_semicolon.csv",
        "dropped",
        "dropped",
    )
    assert query(settings, "select status, actor, dropped_at is not null from bronze.parked_files") == [
        ("dropped", "ann", True)
    ]
    counts = reconciliation(settings)
    assert (counts["bronze_rows"], counts["parked_rows"], counts["dropped_rows"]) == (25, 0, 5)
    assert bool(counts["is_balanced"])
    assert pipeline.build_silver(settings)["parked_files"] == []  # a dropped file is not judged again
    assert pipeline.check_gate("silver", settings)["success"]
    # the same bytes under another name are known: neither file is loaded again
    (settings.landing_dir / "vendor_semicolon_again.csv").write_text(semicolon_csv(), encoding="utf-8")
    assert pipeline.land(settings)["new_files"] == []
    assert pipeline.load_bronze(settings)["files_loaded"] == []
    assert apply_file_action("drop", checksum, actor="ann", settings=settings)["action"] == "none"


def test_actions_on_the_wrong_file_say_why(one_bad_file: Settings) -> None:
    settings = one_bad_file
    run_to_silver(settings)
    with pytest.raises(FileActionError, match="no loaded file is named 'nope.csv'"):
        apply_file_action("release", "nope.csv", settings=settings)
    with pytest.raises(FileActionError, match="tickets.csv is loaded: only a parked file is dropped"):
        apply_file_action("drop", "tickets.csv", settings=settings)
    with pytest.raises(FileActionError, match="unknown action 'purge'"):
        apply_file_action("purge", "tickets.csv", settings=settings)
    assert statuses(settings)["tickets.csv"] == "loaded"


def test_the_run_stops_naming_the_files_when_most_new_files_are_parked(settings: Settings) -> None:
    (settings.landing_dir / "vendor_semicolon.csv").write_text(semicolon_csv(), encoding="utf-8")
    (settings.landing_dir / "vendor_no_text.csv").write_text(csv_without_text(), encoding="utf-8")
    (settings.landing_dir / "vendor_binary.jsonl").write_bytes(binary_named_jsonl())

    built = run_to_silver(settings)

    assert sorted(f["source_file"] for f in built["parked_files"]) == [
        "vendor_binary.jsonl",
        "vendor_no_text.csv",
        "vendor_semicolon.csv",
    ]
    with pytest.raises(TooManyFilesParked) as stopped:
        pipeline.check_gate("silver", settings)
    message = str(stopped.value)
    assert message.startswith("3 of the 5 files of the latest load are parked, more than 50%")
    for name, reason in (
        ("vendor_semicolon.csv", "missing_source_record_id"),
        ("vendor_no_text.csv", "empty_text"),
        ("vendor_binary.jsonl", "malformed_record"),
    ):
        assert name in message and reason in message
    # still stopped on the next run with nothing new; the operator drops two: 1 of 5 parked, the run goes on
    with pytest.raises(TooManyFilesParked):
        pipeline.check_gate("silver", settings)
    apply_file_action("drop", "vendor_binary.jsonl", actor="ann", settings=settings)
    apply_file_action("drop", "vendor_no_text.csv", actor="ann", settings=settings)
    assert pipeline.check_gate("silver", settings)["success"]
    assert bool(reconciliation(settings)["is_balanced"])


def test_the_files_command_lists_releases_and_drops(
    one_bad_file: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = one_bad_file
    run_to_silver(settings)
    capsys.readouterr()  # dbt's log of the build
    monkeypatch.setenv("FEEDBACK_OPS_LOCAL_DIR", str(settings.local_dir))
    monkeypatch.setenv("FEEDBACK_OPS_WAREHOUSE", str(settings.warehouse_path))
    monkeypatch.setenv("FEEDBACK_OPS_LANDING_DIR", str(settings.landing_dir))
    get_settings.cache_clear()
    try:
        assert cli.main(["files", "list"]) == 0
        listing = capsys.readouterr().out
        assert cli.main(["files", "drop", "vendor_semicolon.csv", "--by", "ann"]) == 0
        dropped = capsys.readouterr().out
        assert cli.main(["files", "release", "tickets.csv", "--by", "ann"]) == 2
        refused = capsys.readouterr()
    finally:
        get_settings.cache_clear()
    lines = {line.split()[0]: line for line in listing.splitlines()[1:] if line.strip()}
    assert set(lines) == {"tickets.csv", "chats.jsonl", "vendor_semicolon.csv"}
    assert (
        " parked " in lines["vendor_semicolon.csv"]
        and "missing_source_record_id" in lines["vendor_semicolon.csv"]
    )
    assert " loaded " in lines["tickets.csv"]
    assert "vendor_semicolon.csv" in dropped and "dropped" in dropped
    assert "only a parked or dropped file is released" in refused.err
    assert statuses(settings)["vendor_semicolon.csv"] == "dropped"
