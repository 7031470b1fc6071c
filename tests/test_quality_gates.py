"""Great Expectations gates: valid frames pass, contract breaches fail naming the expectation and the rows.

Every test runs against a copy of the committed GX project under ``tmp_path`` (plus tmp runtime stores and
Data Docs), so nothing here writes to ``great_expectations/`` or the real ``.local/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from feedback_ops.config import PROJECT_ROOT, Settings
from feedback_ops.quality.gates import GateFailed, build_data_docs, reconciliation_frame, run_gate
from feedback_ops.quality.project import project_drift, prune_validation_history
from feedback_ops.quality.suites import BASELINE_TAXONOMY, FEEDBACK_ENRICHMENT, SILVER_FEEDBACK_COLUMNS

TS = pd.Timestamp("2026-11-20T10:00:00")


def gx_settings(root: Path, project_dir: Path) -> Settings:
    local = root / ".local"
    return dataclasses.replace(
        Settings(), local_dir=local, data_docs_dir=local / "data_docs", gx_project_dir=project_dir
    )


@pytest.fixture
def gx(tmp_path: Path) -> Settings:
    """Settings over a tmp copy of the committed GX project, runtime stores and Data Docs under tmp."""
    project = tmp_path / "great_expectations"
    shutil.copytree(
        PROJECT_ROOT / "great_expectations", project, ignore=shutil.ignore_patterns("uncommitted")
    )
    return gx_settings(tmp_path, project)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "uncommitted" not in path.parts
    }


# --- valid frames ------------------------------------------------------------------------------------------


def feedback_raw(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bronze_row_id": [f"b{i}" for i in range(n)],
            "batch_id": "batch-1",
            "source_file": "tickets.csv",
            "file_checksum": "c0ffee",
            "source_format": "csv",
            "line_number": list(range(1, n + 1)),
            "payload": [f'{{"source_record_id": "{i}", "text": "hi"}}' for i in range(n - 1)] + ["a,b,c"],
            "parse_error": [None] * (n - 1) + ["csv_field_count_mismatch: expected 9, got 3"],
            "ingested_at": TS,
        }
    )


def file_manifest() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file_checksum": ["c0ffee"],
            "source_file": ["tickets.csv"],
            "source_format": ["csv"],
            "size_bytes": [1024],
            "record_count": [4],
            "batch_id": ["batch-1"],
            "ingested_at": [TS],
            "source_records": [4],
            "parsed_records": [4],
            "encoding": ["cp1252"],
            "compression": [None],
        }
    )


def silver_feedback(n: int = 3) -> pd.DataFrame:
    frame = pd.DataFrame({column: [None] * n for column in SILVER_FEEDBACK_COLUMNS})
    frame["feedback_id"] = [f"f{i}" for i in range(n)]
    frame["source_record_id"] = [str(i) for i in range(n)]
    frame["channel"] = ["review", "support_ticket", "chat"][:n] + ["nps"] * max(0, n - 3)
    frame["feedback_text"] = "The app crashes on login"
    frame["created_at"] = TS
    frame["text_hash"] = "abc123"
    frame["bronze_row_id"] = [f"b{i}" for i in range(n)]
    frame["source_file"] = "tickets.csv"
    frame["batch_id"] = "batch-1"
    frame["ingested_at"] = TS
    return frame


def enrichment(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feedback_id": [f"f{i}" for i in range(n)],
            "enrichment_version": "ev1",
            "text_hash": "abc123",
            "redacted_text": "Write to [EMAIL] about the refund",
            "redaction_counts": '{"EMAIL": 1}',
            "language": "en",
            "language_confidence": 0.99,
            "category": ([*BASELINE_TAXONOMY] * (n // len(BASELINE_TAXONOMY) + 1))[:n],
            "sentiment_label": "negative",
            "sentiment_score": -0.6,
            "urgency": "high",
            "confidence": 0.8,
            "needs_review": False,
            "lane": "micro_batch",
            "model_name": "local-rules",
            "model_version": "1",
            "prompt_version": "p1",
            "taxonomy_version": "t1",
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": 0.0,
            "latency_ms": 1.5,
            "enriched_at": TS,
        }
    )


def theme_daily() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "created_date": [TS.date(), TS.date()],
            "category": ["bug", "billing"],
            "product_area": ["checkout", "unspecified"],
            "channel": ["review", "chat"],
            "locale": ["en-US", "de-DE"],
            "feedback_count": [3, 1],
            "negative_count": [2, 0],
            "negative_share": [2 / 3, 0.0],
            "mean_sentiment": [-0.4, 0.2],
        }
    )


def pipeline_reconciliation(balanced: bool = True) -> pd.DataFrame:
    frame = reconciliation_frame(bronze_rows=20, silver_rows=15, quarantined_rows=3, duplicate_rows=2)
    frame["enriched_rows"] = 15
    if not balanced:
        frame["silver_rows"] = 14
        frame["is_balanced"] = False
    return frame


def valid_frames(stage: str) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    if stage == "bronze":
        return {"feedback_raw": feedback_raw(), "file_manifest": file_manifest()}, {}
    if stage == "silver":
        counts = reconciliation_frame(bronze_rows=5, silver_rows=3, quarantined_rows=1, duplicate_rows=1)
        return {"int_feedback_deduplicated": silver_feedback(), "reconciliation": counts}, {}
    if stage == "enrichment":
        return {"feedback_enrichment": enrichment()}, {"taxonomy": list(BASELINE_TAXONOMY)}
    fct = pd.DataFrame({"feedback_id": ["f0", "f1"], "category": ["bug", None]})
    return {
        "fct_feedback": fct,
        "rpt_theme_daily": theme_daily(),
        "rpt_pipeline_reconciliation": pipeline_reconciliation(),
    }, {}


def gate_failure(stage: str, frames: dict[str, pd.DataFrame], settings: Settings, **params: object) -> str:
    with pytest.raises(GateFailed) as caught:
        run_gate(stage, frames, settings, **params)
    assert caught.value.result.success is False
    return str(caught.value)


# --- tests -------------------------------------------------------------------------------------------------


def test_committed_project_is_in_step_with_suites(tmp_path: Path) -> None:
    committed = PROJECT_ROOT / "great_expectations"
    before = tree_digest(committed)
    drift = project_drift(gx_settings(tmp_path, committed))
    assert drift == [], f"run `python -m feedback_ops.quality` and commit great_expectations/: {drift}"
    assert tree_digest(committed) == before


@pytest.mark.parametrize("stage", ["bronze", "silver", "enrichment", "gold"])
def test_valid_frames_pass_and_update_data_docs(gx: Settings, stage: str) -> None:
    frames, params = valid_frames(stage)
    result = run_gate(stage, frames, gx, **params)
    assert result.success and result.stage == stage
    assert result.statistics["unsuccessful_expectations"] == 0
    assert result.statistics["evaluated_expectations"] >= len(frames) * 2
    assert {outcome.table for outcome in result.outcomes} == set(frames)
    assert result.data_docs_index == gx.data_docs_dir / "index.html"
    assert result.data_docs_index.is_file()
    assert stage in result.data_docs_index.read_text(encoding="utf-8")
    assert list((gx.local_dir / "gx" / "validations").rglob("*.json"))


def test_bronze_gate_names_duplicate_row_ids_and_unparsed_payloads(gx: Settings) -> None:
    raw = feedback_raw()
    raw.loc[1, "bronze_row_id"] = "b0"
    raw.loc[2, "payload"] = "not json"  # parse_error is null, so it should have been a JSON object
    message = gate_failure("bronze", {"feedback_raw": raw, "file_manifest": file_manifest()}, gx)
    assert "quality gate 'bronze' failed" in message
    assert "suite 'bronze.feedback_raw'" in message
    assert "expect_column_values_to_be_unique column=bronze_row_id" in message
    assert "2 unexpected of 4 rows" in message
    assert "bronze_row_id='b0'" in message
    assert "expect_column_values_to_be_json_parseable column=payload" in message
    assert "bronze_row_id='b2' -> payload=<8 chars withheld>" in message
    assert "bronze.file_manifest" not in message


def test_silver_gate_names_duplicate_feedback_id_and_unknown_channel(gx: Settings) -> None:
    silver = silver_feedback()
    silver.loc[2, "feedback_id"] = "f1"
    silver.loc[0, "channel"] = "carrier_pigeon"
    counts = reconciliation_frame(bronze_rows=5, silver_rows=3, quarantined_rows=1, duplicate_rows=1)
    message = gate_failure("silver", {"int_feedback_deduplicated": silver, "reconciliation": counts}, gx)
    assert "expect_column_values_to_be_unique column=feedback_id" in message
    assert "feedback_id='f1'" in message
    assert "expect_column_values_to_be_in_set column=channel" in message
    assert "feedback_id='f0' -> channel='carrier_pigeon'" in message


def test_silver_gate_fails_an_unbalanced_reconciliation(gx: Settings) -> None:
    counts = reconciliation_frame(bronze_rows=6, silver_rows=3, quarantined_rows=1, duplicate_rows=1)
    message = gate_failure(
        "silver", {"int_feedback_deduplicated": silver_feedback(), "reconciliation": counts}, gx
    )
    assert "suite 'silver.reconciliation'" in message
    assert "expect_column_values_to_be_in_set column=is_balanced" in message
    assert (
        "source_records=6, bronze_rows=6, silver_rows=3, quarantined_rows=1, duplicate_rows=1, "
        "unbalanced_files=0, parked_rows=0, dropped_rows=0 -> is_balanced=False" in message
    )


def test_silver_gate_fails_when_bronze_rows_differ_from_the_source_records(gx: Settings) -> None:
    counts = reconciliation_frame(
        bronze_rows=5,
        silver_rows=3,
        quarantined_rows=1,
        duplicate_rows=1,
        source_records=9,
        unbalanced_files=1,
    )
    message = gate_failure(
        "silver", {"int_feedback_deduplicated": silver_feedback(), "reconciliation": counts}, gx
    )
    assert "expect_column_values_to_be_between column=unbalanced_files" in message
    assert "source_records=9, bronze_rows=5" in message and "is_balanced=False" in message


def test_silver_gate_reports_schema_drift(gx: Settings) -> None:
    silver = silver_feedback().drop(columns=["text_hash"]).assign(surprise=1)
    counts = reconciliation_frame(bronze_rows=5, silver_rows=3, quarantined_rows=1, duplicate_rows=1)
    message = gate_failure("silver", {"int_feedback_deduplicated": silver, "reconciliation": counts}, gx)
    assert "expect_table_columns_to_match_set" in message
    assert "'unexpected': ['surprise']" in message and "'missing': ['text_hash']" in message


def test_a_missing_key_column_is_reported_not_crashed(gx: Settings) -> None:
    silver = silver_feedback().drop(columns=["feedback_id"])
    counts = reconciliation_frame(bronze_rows=5, silver_rows=3, quarantined_rows=1, duplicate_rows=1)
    message = gate_failure("silver", {"int_feedback_deduplicated": silver, "reconciliation": counts}, gx)
    assert "expect_column_values_to_be_unique column=feedback_id" in message
    assert 'error: The column "feedback_id" in BatchData does not exist.' in message
    assert "'missing': ['feedback_id']" in message


def test_enrichment_gate_names_out_of_range_scores_unknown_categories_and_leaked_emails(gx: Settings) -> None:
    frame = enrichment(4)
    frame.loc[1, "sentiment_score"] = 1.7
    frame.loc[2, "category"] = "weather"
    frame.loc[3, "redacted_text"] = "mail me at jane.doe@example.com"
    frame.loc[0, "feedback_id"] = "f1"
    message = gate_failure("enrichment", {"feedback_enrichment": frame}, gx, taxonomy=list(BASELINE_TAXONOMY))
    assert "expect_column_values_to_be_between column=sentiment_score" in message
    assert "feedback_id='f1', enrichment_version='ev1' -> sentiment_score=1.7" in message
    assert "expect_column_values_to_be_in_set column=category" in message
    assert "feedback_id='f2', enrichment_version='ev1' -> category='weather'" in message
    assert "expect_column_values_to_not_match_regex column=redacted_text" in message
    assert "feedback_id='f3', enrichment_version='ev1' -> redacted_text=<31 chars withheld>" in message
    assert "jane.doe@example.com" not in message
    assert "expect_compound_columns_to_be_unique" in message


def test_enrichment_gate_catches_obfuscated_pii_left_in_redacted_text(gx: Settings) -> None:
    frame = enrichment(4)
    frame.loc[1, "redacted_text"] = "mail me at jane.doe&#64;example.com"
    frame.loc[2, "redacted_text"] = (
        "card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"
    )
    frame.loc[3, "redacted_text"] = "mail jane.doe\u200b@example.com or 4111.1111.1111.1111"
    message = gate_failure("enrichment", {"feedback_enrichment": frame}, gx, taxonomy=list(BASELINE_TAXONOMY))
    assert "expect_column_values_to_be_in_set column=redacted_text_pii_found" in message
    assert "feedback_id='f1', enrichment_version='ev1' -> redacted_text_pii_found='EMAIL'" in message
    assert "feedback_id='f2', enrichment_version='ev1' -> redacted_text_pii_found='CARD'" in message
    assert "feedback_id='f3', enrichment_version='ev1' -> redacted_text_pii_found='CARD,EMAIL'" in message
    assert "f0" not in message.split("redacted_text_pii_found", 1)[1]
    assert "jane.doe" not in message and "4111" not in message


def test_enrichment_taxonomy_is_the_callers(gx: Settings) -> None:
    frames, _ = valid_frames("enrichment")
    message = gate_failure("enrichment", frames, gx, taxonomy=["bug", "billing"])
    assert "feedback_id='f1', enrichment_version='ev1' -> category='feature_request'" in message
    assert "value_set=['bug', 'billing']" in message


def test_gold_gate_fails_shares_out_of_range_and_unbalanced_counts(gx: Settings) -> None:
    themes = theme_daily()
    themes.loc[1, "negative_share"] = 1.5
    themes.loc[0, "feedback_count"] = 0
    frames = {
        "rpt_theme_daily": themes,
        "rpt_pipeline_reconciliation": pipeline_reconciliation(balanced=False),
    }
    message = gate_failure("gold", frames, gx)
    assert "channel='chat', locale='de-DE' -> negative_share=1.5" in message, message
    assert "category='bug'" in message and "feedback_count=0" in message
    assert "suite 'gold.rpt_pipeline_reconciliation'" in message
    assert "silver_rows=14" in message and "is_balanced=False" in message


def test_gold_gate_names_duplicate_feedback_ids(gx: Settings) -> None:
    message = gate_failure("gold", {"fct_feedback": pd.DataFrame({"feedback_id": ["f0", "f0", "f1"]})}, gx)
    assert "expect_column_values_to_be_unique column=feedback_id" in message
    assert "feedback_id='f0'" in message


def test_wrong_arguments_are_refused(gx: Settings) -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        run_gate("platinum", {"x": pd.DataFrame()}, gx)
    with pytest.raises(ValueError, match="validates tables"):
        run_gate("silver", {"feedback_raw": feedback_raw()}, gx)
    with pytest.raises(ValueError, match="taxonomy"):
        run_gate("enrichment", {"feedback_enrichment": enrichment()}, gx)


def test_runs_leave_the_project_folder_untouched_and_build_docs(gx: Settings) -> None:
    before = tree_digest(gx.gx_project_dir)
    for _ in range(2):
        frames, params = valid_frames("silver")
        run_gate("silver", frames, gx, **params)
    index = build_data_docs(gx)
    assert index == gx.data_docs_dir / "index.html" and index.is_file()
    assert tree_digest(gx.gx_project_dir) == before


def test_validation_history_is_pruned_per_suite(gx: Settings) -> None:
    frames, params = valid_frames("enrichment")
    for _ in range(3):
        run_gate("enrichment", frames, gx, **params)
    results = gx.local_dir / "gx" / "validations" / "enrichment" / "feedback_enrichment"
    pages = gx.data_docs_dir / "validations" / "enrichment" / "feedback_enrichment"
    assert len(list(results.glob("*/*"))) == 3 and len(list(pages.glob("*/*"))) == 3
    assert prune_validation_history(gx, [FEEDBACK_ENRICHMENT], keep=1) == 2
    assert len(list(results.glob("*/*"))) == 1 and len(list(pages.glob("*/*"))) == 1


GATE_IN_SUBPROCESS = """
import sys
from test_quality_gates import gx_settings, valid_frames
from feedback_ops.quality.gates import run_gate
from pathlib import Path
frames, params = valid_frames("bronze")
print(run_gate("bronze", frames, gx_settings(Path(sys.argv[1]), Path(sys.argv[2])), **params).success)
"""


def test_an_empty_project_is_generated_once_by_concurrent_processes(tmp_path: Path) -> None:
    project = tmp_path / "fresh_project"
    env_path = f"{PROJECT_ROOT / 'plugins'}:{Path(__file__).parent}"
    command = [sys.executable, "-c", GATE_IN_SUBPROCESS, str(tmp_path), str(project)]
    processes = [
        subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": env_path},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
        assert stdout.decode().strip() == "True"
    settings = gx_settings(tmp_path, project)
    assert sorted(p.name for p in (project / "gx" / "checkpoints").iterdir()) == [
        "bronze.feedback_raw.json",
        "bronze.file_manifest.json",
    ]
    before = tree_digest(project)
    frames, params = valid_frames("bronze")
    assert run_gate("bronze", frames, settings, **params).success
    assert tree_digest(project) == before  # the concurrent first runs left a complete, consistent project
    assert "Calculating Metrics" not in "".join(stderr.decode() for _, stderr in outputs)  # no progress bars


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = "import sys, feedback_ops.quality; print('great_expectations' in sys.modules, 'pandas' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "plugins")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.stdout.strip() == "False False"
