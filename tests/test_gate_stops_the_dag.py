"""A systematic breakage stops the real DAG at the silver gate, naming the files; one broken file would not.

The batch: two vendors changed their export format — every record carries ``body`` instead of ``text`` — and
one export is as before. Row by row each drifted record is merely quarantined; a whole file quarantined breaks
its contract, so after the silver build both drifted files are parked (``feedback_ops.ingest.parked_files``).
One parked file lets every other file flow on; two of the latest load's three files parked is more than the
allowed share, so the silver gate stops the run before anything reaches a model.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from airflow_runner import airflow_env, init_airflow, run_dag
from feedback_ops.config import PROJECT_ROOT
from test_pipeline_e2e import task_states

pytestmark = pytest.mark.e2e


def drifted_export(vendor: str, count: int = 40) -> str:
    records = [
        {
            "source_record_id": f"{vendor}-{n}",
            "channel": "app_store",
            "body": f"Review number {n}: the app crashes when I open my cart",
            "created_at": "2026-11-20T10:00:00Z",
        }
        for n in range(count)
    ]
    return "\n".join(json.dumps(r) for r in records) + "\n"


def test_most_new_files_parked_stops_the_run_at_the_silver_gate(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(
        PROJECT_ROOT / "include" / "sample_data" / "zendesk_tickets_2026-11-20_incremental.csv", landing
    )
    (landing / "vendor_export_v2.jsonl").write_text(drifted_export("V2"))
    (landing / "other_vendor_v2.jsonl").write_text(drifted_export("OV2"))
    env = airflow_env(tmp_path, landing)
    init_airflow(env)

    result = run_dag(env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    states = task_states(tmp_path / "airflow")
    assert states["gate_bronze"] == "success" and states["build_silver"] == "success"
    assert states["gate_silver"] == "failed"
    assert states["enrich"] == "upstream_failed" and states["build_gold"] == "upstream_failed"
    assert "TooManyFilesParked" in output
    assert "2 of the 3 files of the latest load are parked, more than 50%" in output
    assert "vendor_export_v2.jsonl (40 of 40 rows quarantined (100% > 50%): empty_text x40)" in output
    assert "other_vendor_v2.jsonl (40 of 40 rows quarantined (100% > 50%): empty_text x40)" in output
    with duckdb.connect(str(tmp_path / ".local" / "warehouse.duckdb"), read_only=True) as con:
        parked = con.execute(
            "select source_file, status from bronze.parked_files order by source_file"
        ).fetchall()
        in_silver = con.execute(
            "select count(*) from silver.int_feedback_quarantined where source_file like '%v2.jsonl'"
        ).fetchone()[0]
        enriched = con.execute("select count(*) from enrichment.feedback_enrichment").fetchone()[0]
    assert parked == [("other_vendor_v2.jsonl", "parked"), ("vendor_export_v2.jsonl", "parked")]
    assert in_silver == 0, "a parked file's rows are out of silver"
    assert enriched == 0, "nothing may reach enrichment after a failed gate"
    alerts = [
        json.loads(line) for line in (tmp_path / ".local" / "alerts.jsonl").read_text().splitlines() if line
    ]
    assert {a["check"] for a in alerts} >= {"file_parked", "task_failed"}
