"""Operators' pipeline-health alerts: a failed gate (through the DAG's own failure callback), label drift,
source freshness and model latency / cost each raise one alert, to the ``operators`` route only (a loopback
webhook receiver), never to a customer-theme route, and the same occurrence reported again sends nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from feedback_ops.alerts.pipeline_health import (
    freshness_signals,
    on_task_failure,
    raise_pipeline_health_alerts,
)
from feedback_ops.alerts.routing import PipelineHealthPolicy, parse_alert_routing
from feedback_ops.enrich.drift import record_run_labels
from feedback_ops.quality.gates import ExpectationOutcome, GateFailed, GateResult
from feedback_ops.warehouse import open_warehouse
from webhook_receiver import WebhookReceiver

LOGICAL_DATE = datetime(2026, 11, 20, 10)

# Every customer theme routes to /customers, the operators to /operators. A health alert whose check name
# matched a theme route would still never go there: routing is by kind.
ROUTING = """
version: "test"
destinations:
  customers: {type: webhook, conn_id: fo_test_customers}
  operators_hook: {type: webhook, conn_id: fo_test_operators}
routes:
  gate_failed: [customers]
  schema_drift: [customers]
  label_drift: [customers]
default: [customers]
operators: [operators_hook]
pipeline_health:
  owner: "data platform on-call"
  max_p95_latency_ms: 2000
  max_run_cost_usd: 1.0
policy: {cooldown_minutes: 60, update_min_growth: 0.5, update_on_new_day: true}
delivery: {max_attempts: 1, backoff_base_s: 0.1, backoff_max_s: 0.1, timeout_s: 2, max_runs: 3}
"""


@pytest.fixture
def receiver(monkeypatch):
    with WebhookReceiver() as receiver:
        for conn_id, path in (("FO_TEST_CUSTOMERS", "/customers"), ("FO_TEST_OPERATORS", "/operators")):
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{conn_id}", json.dumps({"conn_type": "http", "host": receiver.url(path)})
            )
        yield receiver


@pytest.fixture
def ops_settings(settings, tmp_path):
    """Settings whose routing file is ROUTING."""
    import dataclasses

    routing = tmp_path / "alert_routing.yaml"
    routing.write_text(ROUTING)
    return dataclasses.replace(settings, alert_routing_path=routing)


def log_lines(settings) -> list[dict]:
    path = Path(settings.alert_log)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def incidents(settings) -> pd.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df("select * from alerts.alert_incidents order by opened_at, alert_id")


def silver_gate_failure() -> GateFailed:
    """The GateFailed the silver gate raises when a vendor's export changed shape (one file all quarantined)."""
    outcome = ExpectationOutcome(
        suite="silver.quarantine_by_file",
        table="quarantine_by_file",
        expectation_type="expect_column_values_to_be_between",
        column="quarantined_share",
        kwargs={"min_value": 0, "max_value": 0.5},
        success=False,
        element_count=4,
        unexpected_count=1,
        sample_rows=({"source_file": "vendor_export_v2.jsonl", "quarantined_share": 1.0},),
        observed=None,
    )
    passed = ExpectationOutcome(
        suite="silver.int_feedback_deduplicated",
        table="int_feedback_deduplicated",
        expectation_type="expect_column_values_to_not_be_null",
        column="feedback_id",
        kwargs={},
        success=True,
        element_count=10,
        unexpected_count=0,
        sample_rows=(),
        observed=None,
    )
    result = GateResult("silver", False, (outcome, passed), Path("/tmp/data_docs/index.html"))
    return GateFailed(result)


def failure_context(error: BaseException, try_number: int = 1, run_id: str = "manual__1") -> dict:
    """What Airflow's task runner hands an on_failure_callback: the task instance, the run, the exception."""
    ti = SimpleNamespace(
        dag_id="feedback_pipeline", task_id="gate_silver", run_id=run_id, try_number=try_number
    )
    return {
        "ti": ti,
        "task_instance": ti,
        "dag_run": SimpleNamespace(run_id=run_id, logical_date=LOGICAL_DATE),
        "logical_date": LOGICAL_DATE,
        "exception": error,
    }


def test_a_failed_gate_raises_one_operators_alert_naming_the_contract(ops_settings, receiver):
    error = silver_gate_failure()
    run = on_task_failure(failure_context(error), ops_settings)

    assert run is not None and [a["action"] for a in run.alerts] == ["open"]
    [alert] = log_lines(ops_settings)
    assert alert["kind"] == "pipeline_health" and alert["check"] == "schema_drift"
    assert alert["subject"] == "silver.quarantine_by_file"
    assert "silver.quarantine_by_file" in alert["title"]
    assert "vendor_export_v2.jsonl" in alert["summary"]
    assert alert["details"]["failed_expectations"][0]["column"] == "quarantined_share"
    assert alert["details"]["task"] == "feedback_pipeline.gate_silver"
    assert [r.path for r in receiver.requests] == ["/operators"]
    assert receiver.requests[0].body["alert"]["subject"] == "silver.quarantine_by_file"
    stored = incidents(ops_settings)
    assert stored["kind"].tolist() == ["pipeline_health"]
    assert stored["opened_at"].iloc[0].to_pydatetime() == LOGICAL_DATE

    # the same failure reported again (a re-delivered callback) sends nothing
    again = on_task_failure(failure_context(error), ops_settings)
    assert [a["action"] for a in again.alerts] == ["none"]
    assert len(log_lines(ops_settings)) == 1 and len(receiver.requests) == 1


def dag_default_args() -> dict:
    """The default_args of the real DAG file (imported from its path, as the scheduler does)."""
    import importlib.util

    from feedback_ops.config import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "feedback_pipeline_dag", PROJECT_ROOT / "dags" / "feedback_pipeline.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.default_args


def test_the_dag_wires_the_failure_callback_and_it_never_raises(ops_settings, monkeypatch):
    callback = dag_default_args()["on_failure_callback"]
    monkeypatch.setattr("feedback_ops.config.get_settings", lambda: ops_settings)
    callback(failure_context(RuntimeError("dbt exploded")))
    [alert] = log_lines(ops_settings)
    assert (alert["check"], alert["subject"]) == ("task_failed", "feedback_pipeline.gate_silver")
    assert "RuntimeError: dbt exploded" in alert["summary"]

    broken = SimpleNamespace(alert_routing_path=Path("/nonexistent/routing.yaml"))
    assert on_task_failure(failure_context(RuntimeError("x")), broken) is None  # logged, not raised


def _enrich_rows(warehouse, categories: dict[str, int], enriched_at: datetime, prefix: str, **values) -> None:
    rows = [
        {
            "feedback_id": f"{prefix}-{category}-{n}",
            "enrichment_version": "v1",
            "text_hash": f"h-{prefix}-{category}-{n}",
            "category": category,
            "sentiment_label": "negative",
            "urgency": "high",
            "enriched_at": pd.Timestamp(enriched_at),
            **values,
        }
        for category, count in categories.items()
        for n in range(count)
    ]
    warehouse.append("enrichment.feedback_enrichment", pd.DataFrame(rows))


def test_label_drift_over_threshold_raises_one_operators_alert(ops_settings, receiver):
    first, second = datetime(2026, 11, 1), datetime(2026, 11, 2)
    with open_warehouse(ops_settings) as warehouse:
        _enrich_rows(warehouse, {"bug": 60, "billing": 40}, first, "a", latency_ms=50.0, cost_usd=0.0)
        assert not record_run_labels(warehouse, "v1", first, run_id="run-1").flagged
        run = raise_pipeline_health_alerts(warehouse, ops_settings, as_of=LOGICAL_DATE)
        assert run.alerts == [], "no drift, fast and free: nothing to say"

        _enrich_rows(warehouse, {"delivery": 90, "bug": 10}, second, "b", latency_ms=50.0, cost_usd=0.0)
        assert record_run_labels(warehouse, "v1", second, run_id="run-2").flagged
        run = raise_pipeline_health_alerts(warehouse, ops_settings, as_of=LOGICAL_DATE)
        rerun = raise_pipeline_health_alerts(warehouse, ops_settings, as_of=LOGICAL_DATE + timedelta(hours=3))
    assert [(a["check"], a["action"]) for a in run.alerts] == [("label_drift", "open")]
    assert [a["action"] for a in rerun.alerts] == ["none"], "the same run's drift is one alert"
    [alert] = log_lines(ops_settings)
    assert alert["kind"] == "pipeline_health" and alert["details"]["run_id"] == "run-2"
    assert alert["details"]["distance"] > alert["details"]["threshold"]
    assert [r.path for r in receiver.requests] == ["/operators"]


def test_model_latency_and_cost_over_budget_and_stale_sources_alert_operators(ops_settings, receiver):
    started = datetime(2026, 11, 3)
    with open_warehouse(ops_settings) as warehouse:
        _enrich_rows(warehouse, {"bug": 5}, started, "c", latency_ms=4000.0, cost_usd=0.3)
        record_run_labels(warehouse, "v1", started, run_id="run-3")
        freshness = [
            {
                "unique_id": "source.feedback_ops.bronze.feedback_raw",
                "status": "error",
                "max_loaded_at": "2026-11-01T00:00:00",
                "snapshotted_at": "2026-11-09T00:00:00",
                "max_loaded_at_time_ago_in_s": 8 * 86400,
                "criteria": {"error_after": {"count": 7, "period": "day"}},
            },
            {"unique_id": "source.feedback_ops.bronze.file_manifest", "status": "pass"},
        ]
        run = raise_pipeline_health_alerts(warehouse, ops_settings, as_of=LOGICAL_DATE, freshness=freshness)
    checks = sorted((a["check"], a["subject"], a["action"]) for a in run.alerts)
    assert checks == [
        ("model_cost", "v1", "open"),
        ("model_latency", "v1", "open"),
        ("source_freshness", "bronze.feedback_raw", "open"),
    ]
    by_check = {a["check"]: a for a in log_lines(ops_settings)}
    assert by_check["model_cost"]["details"]["cost_usd"] == pytest.approx(1.5)
    assert by_check["model_latency"]["details"]["p95_latency_ms"] == pytest.approx(4000.0)
    assert "last loaded 192.0 h ago" in by_check["source_freshness"]["title"]
    assert {r.path for r in receiver.requests} == {"/operators"} and len(receiver.requests) == 3


def test_freshness_signals_follow_the_configured_statuses():
    results = [
        {"unique_id": "source.feedback_ops.bronze.feedback_raw", "status": "warn", "max_loaded_at": "t1"},
        {"unique_id": "source.feedback_ops.bronze.file_manifest", "status": "pass", "max_loaded_at": "t1"},
    ]
    assert [s.subject for s in freshness_signals(results, PipelineHealthPolicy())] == ["bronze.feedback_raw"]
    only_errors = PipelineHealthPolicy(freshness_statuses=("error",))
    assert freshness_signals(results, only_errors) == []


def test_operators_route_must_name_declared_destinations():
    with pytest.raises(ValueError, match="unknown destinations"):
        parse_alert_routing(b"destinations: {}\noperators: [nowhere]\n")
    with pytest.raises(ValueError, match="max_p95_latency_ms"):
        parse_alert_routing(b"pipeline_health: {max_p95_latency_ms: -1}\n")
    routing = parse_alert_routing(ROUTING.encode())
    health = {"kind": "pipeline_health", "theme": {"category": "gate_failed", "product_area": None}}
    spike = {"kind": "theme_spike", "theme": {"category": "gate_failed", "product_area": None}}
    assert [d.name for d in routing.destinations_for_alert(health)] == ["operators_hook"]
    assert [d.name for d in routing.destinations_for_alert(spike)] == ["customers"]


def test_a_stale_bronze_source_found_by_dbt_source_freshness_alerts_operators(ops_settings, receiver):
    from feedback_ops.alerts.pipeline_health import source_freshness
    from feedback_ops.ingest.bronze import load_landing_to_bronze

    with open_warehouse(ops_settings) as warehouse:
        load_landing_to_bronze(warehouse, ops_settings)
        # the last load was eight days ago: past error_after (7 days) in _bronze__sources.yml
        warehouse.execute("update bronze.feedback_raw set ingested_at = ingested_at - interval 8 day")
    results = source_freshness(ops_settings)
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert statuses["source.feedback_ops.bronze.feedback_raw"] == "error"
    assert statuses["source.feedback_ops.bronze.file_manifest"] == "pass"
    with open_warehouse(ops_settings) as warehouse:
        run = raise_pipeline_health_alerts(warehouse, ops_settings, as_of=LOGICAL_DATE, freshness=results)
        again = raise_pipeline_health_alerts(
            warehouse, ops_settings, as_of=LOGICAL_DATE + timedelta(hours=2), freshness=results
        )
    assert [(a["check"], a["subject"], a["action"]) for a in run.alerts] == [
        ("source_freshness", "bronze.feedback_raw", "open")
    ]
    assert [a["action"] for a in again.alerts] == ["none"], "the same stale snapshot is one alert"
    [alert] = log_lines(ops_settings)
    assert alert["details"]["status"] == "error" and "error_after" in alert["summary"]
    assert [r.path for r in receiver.requests] == ["/operators"]
