"""Spend per lane in gold: ``rpt_lane_spend_daily`` built by dbt from the enrichment rows the lanes wrote."""

from __future__ import annotations

from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.enrich.versions import current_enrichment_version
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.pipeline import enrich
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse


def test_lane_spend_counts_each_lanes_records_per_day(settings):
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")
    with open_warehouse(settings) as warehouse:
        ids = warehouse.query_df("select feedback_id from silver.int_feedback_deduplicated order by 1")
        urgent = enrich_pending(
            warehouse, settings, lane="urgent", feedback_ids=ids["feedback_id"][:4].tolist()
        )
    micro = enrich(settings)  # the main DAG's stage: the micro-batch lane, whatever each record's urgency
    version = current_enrichment_version(settings)
    # the mart, its parents (the enrichment staging view), its data tests and its unit test
    run_dbt("build", settings, select="+rpt_lane_spend_daily", dbt_vars={"enrichment_version": version})
    with open_warehouse(settings) as warehouse:
        spend = warehouse.query_df("select * from gold.rpt_lane_spend_daily order by lane")

    assert spend["lane"].tolist() == ["micro_batch", "urgent"]
    by_lane = dict(zip(spend["lane"], spend["records"], strict=True))
    assert micro["lane"] == "micro_batch"
    assert by_lane == {
        "urgent": urgent.enriched,
        "micro_batch": micro["enriched"] + micro["reused_by_text_hash"],
    }
    assert set(spend["enrichment_version"]) == {version}
    assert spend["cost_usd"].sum() == 0.0  # local models cost nothing


def test_lane_cost_controls_come_from_the_environment(monkeypatch):
    from feedback_ops.config import LanesSettings, Settings

    monkeypatch.setenv("FEEDBACK_OPS_BATCH_SIZE", "64")
    monkeypatch.setenv("FEEDBACK_OPS_LLM_RUN_BUDGET_USD", "2.5")
    monkeypatch.setenv("FEEDBACK_OPS_LANE_URGENT_BATCH_SIZE", "8")
    lanes = LanesSettings.from_env()
    # the main DAG is the micro-batch lane: without lane settings it keeps the general knobs
    assert (lanes.lane("micro_batch").batch_size, lanes.lane("micro_batch").budget_usd) == (64, 2.5)
    assert lanes.lane("urgent").batch_size == 8 and lanes.lane("batch").batch_size == 2000
    monkeypatch.setenv("FEEDBACK_OPS_LANE_MICRO_BATCH_BATCH_SIZE", "128")
    micro = Settings.from_env().for_lane("micro_batch")
    assert micro.batch_size == 128 and micro.llm.run_budget_usd == 2.5
