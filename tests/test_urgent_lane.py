"""The urgent lane: the landing trigger, the lane's stages on new arrivals, per-item alerts, the cloud trigger."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedback_ops.config import PROJECT_ROOT, LanesSettings
from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.lanes import urgent
from feedback_ops.lanes.triggers import (
    ArrivalLedger,
    LandingArrivalTrigger,
    new_arrivals,
    urgent_lane_trigger,
)
from feedback_ops.lanes.urgent_alerts import URGENT_ITEM, urgent_alert_id
from feedback_ops.warehouse import open_warehouse

URGENT_RECORD = {
    "source_record_id": "U-1",
    "channel": "support_ticket",
    "text": "I was charged twice for my order and the payment failed again. Fix it now!",
    "created_at": "2026-11-20T09:00:00Z",
    "product_area": "checkout",
}
CALM_RECORD = {
    "source_record_id": "U-2",
    "channel": "review",
    "text": "Nice colours in the new theme.",
    "created_at": "2026-11-20T09:05:00Z",
}


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_landing_trigger_reports_each_new_complete_file_once_and_deletes_nothing(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_jsonl(landing / "old.jsonl", [CALM_RECORD])
    ledger = ArrivalLedger(tmp_path / "ledger.json")
    arrived, snapshot = new_arrivals(landing, ledger, {})
    assert arrived == [] and ledger.exists  # switched on: what is there already is the main DAG's

    write_jsonl(landing / "new.jsonl", [URGENT_RECORD])
    arrived, snapshot = new_arrivals(landing, ledger, snapshot)
    assert arrived == []  # seen once: it may still be being written
    arrived, snapshot = new_arrivals(landing, ledger, snapshot)
    assert arrived == ["new.jsonl"]

    (landing / "copy.jsonl").write_bytes((landing / "new.jsonl").read_bytes())  # same content, new name
    reloaded = ArrivalLedger(tmp_path / "ledger.json")  # as the re-created trigger reads it
    arrived, snapshot = new_arrivals(landing, reloaded, snapshot)
    arrived_later, _ = new_arrivals(landing, reloaded, snapshot)
    assert arrived == arrived_later == []
    assert sorted(p.name for p in landing.iterdir()) == ["copy.jsonl", "new.jsonl", "old.jsonl"]


def test_trigger_run_fires_one_event_with_the_file_names_and_serializes(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    ledger_path = tmp_path / "ledger.json"
    trigger = LandingArrivalTrigger(str(landing), str(ledger_path), poll_interval=0.05)
    classpath, kwargs = trigger.serialize()
    assert classpath == "feedback_ops.lanes.triggers.LandingArrivalTrigger"
    assert kwargs == {"landing_dir": str(landing), "ledger_path": str(ledger_path), "poll_interval": 0.05}

    async def first_event():
        events = trigger.run()
        task = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.2)  # the baseline poll has run
        write_jsonl(landing / "drop_1.jsonl", [URGENT_RECORD])
        event = await asyncio.wait_for(task, timeout=10)
        with pytest.raises(StopAsyncIteration):
            await events.__anext__()
        return event

    event = asyncio.run(first_event())
    assert event.payload == {"files": ["drop_1.jsonl"]}
    assert (landing / "drop_1.jsonl").exists()
    assert urgent.arrived_files([{"extra": {"from_trigger": True, "payload": event.payload}}]) == [
        "drop_1.jsonl"
    ]


def test_service_bus_message_bodies_name_the_files():
    events = [
        {"extra": {"payload": {"message": json.dumps({"files": ["a.jsonl"]}), "queue": "q"}}},
        {"extra": {"payload": {"message": json.dumps({"data": {"url": "https://x/landing/b.csv"}})}}},
        {"extra": {"payload": {"message": "c.jsonl"}}},
    ]
    assert urgent.arrived_files(events) == ["a.jsonl", "b.csv", "c.jsonl"]


def test_cloud_trigger_is_the_providers_service_bus_queue_trigger(settings):
    from airflow.providers.microsoft.azure.triggers.message_bus import AzureServiceBusQueueTrigger
    from airflow.triggers.base import BaseEventTrigger

    cloud = dataclasses.replace(
        settings, lanes=dataclasses.replace(LanesSettings(), urgent_trigger="service_bus", urgent_poll_s=5.0)
    )
    trigger = urgent_lane_trigger(cloud)
    assert isinstance(trigger, AzureServiceBusQueueTrigger) and isinstance(trigger, BaseEventTrigger)
    assert trigger.serialize()[1]["queues"] == ["feedback-landed"]
    assert isinstance(urgent_lane_trigger(settings), LandingArrivalTrigger)

    # the DAG wires the configured trigger into its asset's watcher
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder='dags/urgent_lane.py')\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "asset = bag.dags['urgent_lane'].timetable.asset_condition.objects[0]\n"
        "print(type(asset.watchers[0].trigger).__name__)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
        "FEEDBACK_OPS_URGENT_TRIGGER": "service_bus",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "AzureServiceBusQueueTrigger", out.stderr[-2000:]


def test_urgent_lane_screens_only_arrivals_alerts_urgent_items_once_and_micro_batch_skips_them(settings):
    # the main DAG has already loaded and enriched what was there
    from feedback_ops.pipeline import build_silver

    urgent.load_arrivals([], settings)
    build_silver(settings)
    with open_warehouse(settings) as warehouse:
        enrich_pending(warehouse, settings)
        before = warehouse.scalar("select count(*) from enrichment.feedback_enrichment")

    write_jsonl(settings.landing_dir / "arrival.jsonl", [URGENT_RECORD, CALM_RECORD])
    loaded = urgent.load_arrivals(["arrival.jsonl"], settings)
    urgent.build_silver(settings)
    result = urgent.screen_enrich_alert(loaded["files"], settings)

    assert loaded["files_loaded"] == ["arrival.jsonl"] and result["records"] == 2
    assert result["screened"]["pending"] == 2 and result["screened"]["enriched"] == 2
    assert result["screened"]["lane"] == "urgent"
    assert result["alerts"]["urgent_items"] == 1 and len(result["alerts"]["alerts"]) == 1
    log = [json.loads(line) for line in settings.alert_log.read_text().splitlines()]
    sent = [a for a in log if a.get("kind") == URGENT_ITEM]
    assert len(sent) == 1 and sent[0]["theme"]["category"] == "billing"
    with open_warehouse(settings) as warehouse:
        urgent_id = warehouse.scalar(
            "select feedback_id from silver.int_feedback_deduplicated where source_record_id = 'U-1'"
        )
        alerted = warehouse.query_df("select alert_id, feedback_id from alerts.alerted_items")
        rows = warehouse.query_df(
            "select e.lane, e.urgency from enrichment.feedback_enrichment e "
            "join silver.int_feedback_deduplicated s using (feedback_id) where s.source_file = 'arrival.jsonl'"
        )
    assert sent[0]["feedback_ids"] == [urgent_id] and sent[0]["alert_id"] == urgent_alert_id(urgent_id)
    assert (urgent_alert_id(urgent_id), urgent_id) in set(
        zip(alerted["alert_id"], alerted["feedback_id"], strict=True)
    )
    assert set(rows["lane"]) == {"urgent"} and "critical" in set(rows["urgency"])

    # a re-run alerts nothing again; the hourly main DAG finds nothing left to enrich
    again = urgent.screen_enrich_alert(["arrival.jsonl"], settings)
    assert again["screened"]["pending"] == 0 and again["alerts"]["already_alerted"] == 1
    assert not again["alerts"]["alerts"]
    with open_warehouse(settings) as warehouse:
        micro = enrich_pending(warehouse, settings)
        after = warehouse.scalar("select count(*) from enrichment.feedback_enrichment")
    assert micro.pending == 0 and after == before + 2
    assert len([line for line in settings.alert_log.read_text().splitlines() if URGENT_ITEM in line]) == 1

    # gold's alert staging (and its data tests) accept the urgent lane's alerts
    from feedback_ops.transform.dbt_runner import run_dbt

    run_dbt("build", settings, select="stg_alerts__alert_lifecycle")
    with open_warehouse(settings) as warehouse:
        kinds = warehouse.query_df("select kind from silver.stg_alerts__alert_lifecycle")["kind"].tolist()
    assert kinds == [URGENT_ITEM]
