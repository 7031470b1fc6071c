"""A contract-breaking batch stops the real DAG at the right gate, and the failure names the contract and rows.

The batch: a vendor changed its export format — every record carries ``body`` instead of ``text``. Row by row
each record is merely quarantined, but a whole file quarantined is schema drift, so the silver gate's
``quarantine_by_file`` contract stops the run before anything reaches a model.
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


def drifted_export(count: int = 40) -> str:
    records = [
        {
            "source_record_id": f"V2-{n}",
            "channel": "app_store",
            "body": f"Review number {n}: the app crashes when I open my cart",
            "created_at": "2026-11-20T10:00:00Z",
        }
        for n in range(count)
    ]
    return "\n".join(json.dumps(r) for r in records) + "\n"


def test_schema_drift_stops_the_run_at_the_silver_gate(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(PROJECT_ROOT / "include" / "sample_data", landing)
    (landing / "vendor_export_v2.jsonl").write_text(drifted_export())
    env = airflow_env(tmp_path, landing)
    init_airflow(env)

    result = run_dag(env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    states = task_states(tmp_path / "airflow")
    assert states["gate_bronze"] == "success" and states["build_silver"] == "success"
    assert states["gate_silver"] == "failed"
    assert states["enrich"] == "upstream_failed" and states["build_gold"] == "upstream_failed"
    assert "quality gate 'silver' failed" in output
    assert "silver.quarantine_by_file" in output
    assert "expect_column_values_to_be_between column=quarantined_share" in output
    assert "source_file='vendor_export_v2.jsonl'" in output
    with duckdb.connect(str(tmp_path / ".local" / "warehouse.duckdb"), read_only=True) as con:
        reasons = con.execute(
            "select distinct quarantine_reason from silver.int_feedback_quarantined where source_file = 'vendor_export_v2.jsonl'"
        ).fetchall()
        enriched = con.execute("select count(*) from enrichment.feedback_enrichment").fetchone()[0]
    assert reasons == [("empty_text",)]
    assert enriched == 0, "nothing may reach enrichment after a failed gate"
