"""End to end: the real ``feedback_pipeline`` DAG, run by Airflow, over the shipped sample data — twice.

The first run must load, enrich, index and aggregate everything and surface the planted checkout incident;
the second must find nothing new and leave every gold table identical (idempotency).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import duckdb
import pytest

from airflow_runner import airflow_env, init_airflow, run_dag
from feedback_ops.alerts.routing import load_alert_routing
from feedback_ops.config import PROJECT_ROOT, Settings

pytestmark = pytest.mark.e2e

SAMPLE_DATA = PROJECT_ROOT / "include" / "sample_data"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def gold_snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every gold table's rows, sorted, so two runs can be compared value by value."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'gold' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        return {t: sorted(con.execute(f"select * from gold.{t}").fetchall(), key=repr) for t in tables}


def task_states(airflow_home: Path) -> dict[str, str]:
    """task_id -> state of the most recent run of feedback_pipeline, from Airflow's metadata database."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        run_id = db.execute(
            "select run_id from dag_run where dag_id = 'feedback_pipeline' order by id desc limit 1"
        ).fetchone()[0]
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = 'feedback_pipeline' and run_id = ?",
            [run_id],
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    env = airflow_env(root, SAMPLE_DATA)
    init_airflow(env)
    first = run_dag(env)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-6000:]
    warehouse = root / ".local" / "warehouse.duckdb"
    snapshot_one = gold_snapshot(warehouse)
    alerts_one = (root / ".local" / "alerts.jsonl").read_text()
    states_one = task_states(root / "airflow")
    second = run_dag(env)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-6000:]
    return {
        "root": root,
        "warehouse": warehouse,
        "first": first,
        "second": second,
        "snapshots": (snapshot_one, gold_snapshot(warehouse)),
        "alerts": (alerts_one, (root / ".local" / "alerts.jsonl").read_text()),
        "states": (states_one, task_states(root / "airflow")),
    }


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_stage_succeeded(two_runs):
    for states in two_runs["states"]:
        assert set(states.values()) == {"success"}, states
        assert len(states) == 15


def test_counts_reconcile_from_bronze_to_the_index(two_runs):
    wh = two_runs["warehouse"]
    bronze, silver, quarantined, duplicates = query(
        wh,
        "select (select count(*) from bronze.feedback_raw), (select count(*) from silver.int_feedback_deduplicated), "
        "(select count(*) from silver.int_feedback_quarantined), (select count(*) from silver.int_feedback_duplicates)",
    )[0]
    assert bronze >= 5000 and quarantined > 0 and duplicates > 0
    assert bronze == silver + quarantined + duplicates
    (enriched,) = query(wh, "select count(*) from gold.fct_feedback where is_enriched")[0]
    assert enriched == silver
    # every message and each of its claims (sentences, speaker turns) is one document of the active index
    index_dir = two_runs["root"] / ".local" / "index"
    index = index_dir / json.loads((index_dir / "ACTIVE.json").read_text())["file"]
    (indexed,) = query(index, "select count(*) from documents")[0]
    messages, units = query(
        wh, "select count(distinct feedback_id), count(*) from enrichment.feedback_units"
    )[0]
    assert messages == silver and indexed == units > silver
    (parents,) = query(
        index, "select count(distinct feedback_id) from documents where unit_kind = 'message'"
    )[0]
    assert parents == silver
    assert query(wh, "select is_balanced from gold.rpt_pipeline_reconciliation") == [(True,)]


def test_the_checkout_incident_is_detected_and_alerted(two_runs):
    spikes = query(
        two_runs["warehouse"],
        "select created_date, category, product_area from gold.rpt_theme_spikes where is_spike and product_area = 'checkout'",
    )
    assert {str(day) for day, _, _ in spikes} & {"2026-11-18", "2026-11-19"}
    alerts = [json.loads(line) for line in two_runs["alerts"][0].splitlines()]
    checkout = [a for a in alerts if a["theme"]["product_area"] == "checkout"]
    assert checkout, [a["title"] for a in alerts]
    alert = checkout[0]
    assert alert["owner"] and alert["owner"] != "unassigned"
    assert alert["feedback_ids"] and alert["examples"] and alert["volume_trend"]
    assert alert["versions"]["enrichment_version"]
    assert all(not EMAIL.search(example["redacted_text"]) for example in alert["examples"])
    assert all(example["link"] for example in alert["examples"]), "examples link back to their source records"
    assert len(alert["source_records"]) == len(alert["feedback_ids"])
    routed = [
        d.name
        for d in load_alert_routing(Settings().alert_routing_path).destinations_for(
            alert["theme"]["category"]
        )
    ]
    assert alert["status"] == "opened" and alert["routed_to"] == routed and routed
    statuses = dict(
        query(
            two_runs["warehouse"],
            f"select destination, status from alerts.alert_deliveries where alert_id = '{alert['alert_id']}'",
        )
    )
    # No Airflow connection is defined in the demo: the log has it, the routed destinations are unconfigured.
    assert statuses == {"log": "delivered", **dict.fromkeys(routed, "unconfigured")}


def test_no_raw_email_reaches_enrichment_or_the_index(two_runs):
    texts = [
        t for (t,) in query(two_runs["warehouse"], "select redacted_text from enrichment.feedback_enrichment")
    ]
    assert texts and not [t for t in texts if EMAIL.search(t)]
    (raw_with_email,) = query(
        two_runs["warehouse"],
        "select count(*) from silver.int_feedback_deduplicated where regexp_matches(feedback_text, '[\\w.+-]+@[\\w-]+\\.[\\w.-]+')",
    )[0]
    assert raw_with_email > 0, "the sample data should carry e-mail addresses for redaction to remove"
    index = two_runs["root"] / ".local" / "index" / "feedback_index.duckdb"
    indexed = [t for (t,) in query(index, "select text from documents")]
    assert not [t for t in indexed if EMAIL.search(t)]


def test_outputs_a_person_opens_exist(two_runs):
    local = two_runs["root"] / ".local"
    assert (local / "data_docs" / "index.html").stat().st_size > 0
    assert (local / "dbt" / "target" / "index.html").exists()
    summary = (local / "run_summary.txt").read_text()
    for heading in (
        "Records per stage",
        "Quarantined rows, by reason",
        "Top themes",
        "Spikes",
        "Alerts raised",
        "Where things are",
    ):
        assert heading in summary
    assert "bronze = silver + quarantined + duplicates + parked + dropped: yes" in summary
    report = (local / "reports" / "insights.html").read_text()
    assert "<script" not in report.lower() and "Spikes and their evidence" in report and "checkout" in report
    assert "insights report" in summary and str(local / "reports" / "insights.html") in summary
    assert sorted(p.name for p in (local / "reports").glob("*.md")) == [
        "daily_themes_2026-11-21.md",
        "weekly_trends_2026-W47.md",
    ]
    assert "checkout" in summary


def test_a_second_run_is_idempotent(two_runs):
    first, second = two_runs["snapshots"]
    assert first.keys() == second.keys() and "fct_feedback" in first
    for table in first:
        assert first[table] == second[table], f"gold.{table} changed on a re-run"
    assert two_runs["alerts"][0] == two_runs["alerts"][1], "a re-run must not raise the same alert again"
    output = two_runs["second"].stdout + two_runs["second"].stderr
    assert '"records_loaded": 0' in output or "'records_loaded': 0" in output
    assert "'enriched': 0" in output or '"enriched": 0' in output
