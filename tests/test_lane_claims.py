"""Once per version: lanes running at the same time never enrich a record twice and never lose one.

Every test runs the real runner and the real local models on the fixture's silver records (10 of them).
Overlap: two lanes in two threads, each with its own connection to the same warehouse file, interleave their
batches (the first batch of each waits for the other to start). Crash: a lane in a subprocess is killed with
SIGKILL inside its second batch, then lanes run again: the dead lane's claimed records wait for its lease to
expire and are then enriched, once.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from counting_enricher import CountingEnricher
from feedback_ops.config import PROJECT_ROOT, LanesSettings
from feedback_ops.enrich.claims import ClaimBook, live_claims
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse
from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def silver_warehouse(tmp_path_factory) -> Path:
    """A warehouse file with the fixture's bronze and silver built once; each test works on a copy."""
    from conftest import FIXTURES, local_settings

    root = tmp_path_factory.mktemp("silver")
    landing = root / "landing"
    shutil.copytree(FIXTURES / "landing", landing)
    settings = local_settings(root, landing)
    settings.ensure_dirs()
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")
    with open_warehouse(settings) as warehouse:
        warehouse.execute("checkpoint")  # everything in the file itself: the tests copy it
    return settings.warehouse_path


@pytest.fixture
def lane_settings(settings, silver_warehouse):
    """The test's settings over a fresh copy of the silver warehouse, batches of 2 records."""
    shutil.copy(silver_warehouse, settings.warehouse_path)
    return dataclasses.replace(settings, batch_size=2)


def silver_ids(warehouse) -> list[str]:
    return sorted(
        warehouse.query_df("select feedback_id from silver.int_feedback_deduplicated")["feedback_id"]
    )


def enrichment_rows(warehouse, version: str):
    return warehouse.query_df(
        "select feedback_id, lane, count(*) over (partition by feedback_id) as copies "
        "from enrichment.feedback_enrichment where enrichment_version = ? order by feedback_id",
        [version],
    )


def run_lanes_at_once(warehouse_path: Path, lanes: list[str], work) -> dict:
    """Run ``work(warehouse, lane)`` for every lane at the same time, each in its own thread with its own
    connection to the warehouse file; returns each lane's result (any error fails the calling test)."""
    results, errors = {}, []

    def run(lane: str) -> None:
        warehouse = DuckDBWarehouse(warehouse_path)
        try:
            results[lane] = work(warehouse, lane)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            warehouse.close()

    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return results


def test_two_lanes_overlapping_enrich_each_record_once(lane_settings):
    local = LocalEnricher(lane_settings)
    version = local.enrichment_version
    model_lock = threading.Lock()
    both_started = threading.Barrier(2, timeout=120)

    def hold_first_batch(number: int, ids: list[str]) -> None:
        if number == 1:
            both_started.wait()  # neither lane writes before the other has claimed and started a batch

    lanes = {
        name: CountingEnricher(local, on_batch=hold_first_batch, model_lock=model_lock)
        for name in ("urgent", "micro_batch")
    }
    stats = run_lanes_at_once(
        lane_settings.warehouse_path,
        list(lanes),
        lambda warehouse, lane: enrich_pending(warehouse, lane_settings, enricher=lanes[lane], lane=lane),
    )

    sent = lanes["urgent"].sent_ids + lanes["micro_batch"].sent_ids
    with open_warehouse(lane_settings) as warehouse:
        expected = silver_ids(warehouse)
        rows = enrichment_rows(warehouse, version)
        claims_left = live_claims(warehouse, version)
        leftover_rows = warehouse.scalar("select count(*) from enrichment.enrichment_claims")
    # both lanes did part of the work, at the same time, and no record went to the model twice
    assert lanes["urgent"].calls and lanes["micro_batch"].calls
    assert sorted(sent) == expected and len(sent) == len(set(sent))
    # every record written once, by the lane that sent it
    assert rows["feedback_id"].tolist() == expected and set(rows["copies"]) == {1}
    by_lane = dict(zip(rows["feedback_id"], rows["lane"], strict=True))
    for lane, enricher in lanes.items():
        assert {by_lane[i] for i in enricher.sent_ids} == {lane}
    # the counts reconcile: each lane skipped what the other held, nothing is still claimed
    assert stats["urgent"].enriched + stats["micro_batch"].enriched == len(expected)
    assert stats["urgent"].claimed_elsewhere + stats["micro_batch"].claimed_elsewhere >= 2
    assert claims_left.empty and leftover_rows == 0


def test_a_lane_killed_mid_batch_loses_nothing_and_duplicates_nothing(lane_settings):
    lease_s = 6.0
    worker = subprocess.Popen(
        [
            sys.executable,
            str(TESTS / "lane_worker.py"),
            str(lane_settings.warehouse_path),
            "--lane",
            "batch",
            "--batch-size",
            "2",
            "--lease-s",
            str(lease_s),
            "--stall-at-batch",
            "2",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "plugins")},
    )
    batches: list[list[str]] = []
    try:
        for line in worker.stdout:
            if line.startswith("BATCH "):
                batches.append(line.split()[2].split(","))
                if len(batches) == 2:
                    break
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL and len(batches) == 2
    first, killed = batches
    killed_at = time.monotonic()

    local = LocalEnricher(lane_settings)
    version = local.enrichment_version
    settings = dataclasses.replace(
        lane_settings, lanes=dataclasses.replace(LanesSettings(), claim_lease_s=lease_s)
    )
    with open_warehouse(settings) as warehouse:
        expected = silver_ids(warehouse)
        # the dead lane's first batch is written; its second is claimed, not written
        written = enrichment_rows(warehouse, version)["feedback_id"].tolist()
        assert written == sorted(first)
        assert sorted(live_claims(warehouse, version)["feedback_id"]) == sorted(killed)

        # another lane at once: it enriches the rest and leaves the dead lane's live claims alone
        rerun = CountingEnricher(local)
        during_lease = enrich_pending(warehouse, settings, enricher=rerun, lane="micro_batch")
        assert set(rerun.sent_ids).isdisjoint(first + killed)
        assert during_lease.claimed_elsewhere == len(killed)

        # once the lease has expired, the next run takes the dead lane's records over
        time.sleep(max(0.0, lease_s - (time.monotonic() - killed_at)) + 0.5)
        after_lease = CountingEnricher(local)
        taken_over = enrich_pending(warehouse, settings, enricher=after_lease, lane="micro_batch")
        rows = enrichment_rows(warehouse, version)
        claims_left = warehouse.scalar("select count(*) from enrichment.enrichment_claims")

    assert sorted(after_lease.sent_ids) == sorted(killed) and taken_over.enriched == len(killed)
    # every record enriched exactly once at the version, none lost; the written ones never re-sent
    assert rows["feedback_id"].tolist() == expected and set(rows["copies"]) == {1}
    sent_after_crash = rerun.sent_ids + after_lease.sent_ids
    assert len(sent_after_crash) == len(set(sent_after_crash)) and set(sent_after_crash).isdisjoint(first)
    assert len(first) + during_lease.enriched + taken_over.enriched == len(expected)
    assert claims_left == 0


def test_micro_batch_skips_what_the_urgent_lane_enriched(lane_settings):
    local = LocalEnricher(lane_settings)
    version = local.enrichment_version
    with open_warehouse(lane_settings) as warehouse:
        ids = silver_ids(warehouse)
        urgent_ids = ids[:3]
        urgent = CountingEnricher(local)
        urgent_stats = enrich_pending(
            warehouse, lane_settings, enricher=urgent, lane="urgent", feedback_ids=urgent_ids
        )
        main_dag = CountingEnricher(local)
        micro = enrich_pending(warehouse, lane_settings, enricher=main_dag)
        rows = enrichment_rows(warehouse, version)

    assert sorted(urgent.sent_ids) == urgent_ids and urgent_stats.pending == 3
    assert micro.pending == len(ids) - 3 and set(main_dag.sent_ids).isdisjoint(urgent_ids)
    assert rows["feedback_id"].tolist() == ids and set(rows["copies"]) == {1}
    assert set(rows[rows["feedback_id"].isin(urgent_ids)]["lane"]) == {"urgent"}


def test_a_live_claim_is_not_taken_and_an_expired_one_is(lane_settings):
    from datetime import datetime, timedelta

    with open_warehouse(lane_settings) as warehouse:
        ids = silver_ids(warehouse)[:2]
        start = datetime(2026, 11, 28, 12, 0, 0)
        first = ClaimBook(warehouse, "v1", "urgent", lease_s=60)
        second = ClaimBook(warehouse, "v1", "batch", lease_s=60)
        assert first.claim(ids, now=start) == ids
        assert second.claim(ids, now=start + timedelta(seconds=59)) == []
        assert second.claim(ids, now=start + timedelta(seconds=60)) == ids
        assert first.held(ids) == []
        lanes = warehouse.query_df("select distinct lane from enrichment.enrichment_claims")["lane"].tolist()
    assert lanes == ["batch"]
    with pytest.raises(ValueError, match="lease must be positive"):
        ClaimBook(None, "v1", "urgent", lease_s=0)


class CountingRichEnricher:
    """The real local rich pass, recording which records each lane sent to it (and holding its first batch)."""

    def __init__(self, inner, on_batch) -> None:
        self.inner, self.on_batch, self.calls = inner, on_batch, []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def enrich(self, rows):
        self.calls.append([row["feedback_id"] for row in rows])
        self.on_batch(len(self.calls))
        return self.inner.enrich(rows)


@pytest.fixture
def rich_settings(lane_settings, tmp_path):
    """``lane_settings`` routing every record to the rich pass (a routing-file change, as an operator makes)."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        (PROJECT_ROOT / "include" / "routing.yaml")
        .read_text()
        .replace("sample_rate: 0.02", "sample_rate: 1.0")
    )
    return dataclasses.replace(lane_settings, routing_path=routing)


def test_two_lanes_overlapping_in_the_rich_pass_explain_each_record_once(rich_settings):
    settings = rich_settings
    from feedback_ops.enrich.rich import LocalRichEnricher
    from feedback_ops.enrich.rich_runner import enrich_rich_pending

    with open_warehouse(settings) as warehouse:
        version = enrich_pending(warehouse, settings).enrichment_version
        expected = silver_ids(warehouse)
    both_started = threading.Barrier(2, timeout=120)

    def hold_first_batch(number: int) -> None:
        if number == 1:
            both_started.wait()  # neither lane writes before the other has claimed a batch

    lanes = {
        name: CountingRichEnricher(LocalRichEnricher(settings), hold_first_batch)
        for name in ("urgent", "micro_batch")
    }
    stats = run_lanes_at_once(
        settings.warehouse_path,
        list(lanes),
        lambda warehouse, lane: enrich_rich_pending(warehouse, settings, version, lanes[lane], lane=lane),
    )

    sent = [i for enricher in lanes.values() for batch in enricher.calls for i in batch]
    with open_warehouse(settings) as warehouse:
        insights = warehouse.query_df(
            "select feedback_id, count(*) as copies from enrichment.feedback_insights "
            "where enrichment_version = ? group by 1 order by 1",
            [version],
        )
        leftover = warehouse.scalar("select count(*) from enrichment.enrichment_claims")
    assert all(enricher.calls for enricher in lanes.values())  # both lanes explained part of it
    assert sorted(sent) == expected and len(sent) == len(set(sent))  # no record went to the model twice
    assert insights["feedback_id"].tolist() == expected and set(insights["copies"]) == {1}
    assert stats["urgent"].routed + stats["micro_batch"].routed == len(expected)
    assert stats["urgent"].claimed_elsewhere + stats["micro_batch"].claimed_elsewhere >= 2
    assert leftover == 0


def test_the_urgent_lane_explains_only_its_arrivals(rich_settings):
    settings = rich_settings
    from feedback_ops.enrich.rich_runner import enrich_rich_pending

    with open_warehouse(settings) as warehouse:
        version = enrich_pending(warehouse, settings).enrichment_version
        arrivals = silver_ids(warehouse)[:3]
        stats = enrich_rich_pending(warehouse, settings, version, lane="urgent", feedback_ids=arrivals)
        explained = warehouse.query_df("select feedback_id from enrichment.feedback_insights order by 1")
    assert stats.candidates == 3 and stats.routed == 3
    assert explained["feedback_id"].tolist() == arrivals
