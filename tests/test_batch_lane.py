"""The batch lane: Azure OpenAI batch jobs against the loopback fake, backlog and backfill through the runner,
reconciliation of enrichment, embeddings and index documents."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from fakes.azure_openai_server import FakeAzureOpenAI, Fault
from feedback_ops.config import LanesSettings, LanguageModelSettings, Settings
from feedback_ops.enrich.budget import load_prices
from feedback_ops.enrich.schemas import FeedbackItem
from feedback_ops.enrich.versions import current_enrichment_version
from feedback_ops.lanes import batch
from feedback_ops.lanes.batch_api import BATCH_PRICE_SHARE, AzureOpenAIBatchEnricher
from feedback_ops.pipeline import build_silver
from feedback_ops.warehouse import open_warehouse

TEXTS = {
    "billing": "I was charged twice for my order, mail me at jo@example.com",
    "access": "Cannot log in since yesterday, the password reset email never arrives",
    "praise": "Love the new update, everything is faster, thanks",
    "slow": "The dashboard is slow to load every morning",
}


def batch_settings(base: Settings, fake: FakeAzureOpenAI, budget_usd: float = 5.0) -> Settings:
    """``base`` on the Azure backend at ``fake``, the batch lane polling without waiting."""
    llm = LanguageModelSettings(
        endpoint=fake.endpoint, api_key=fake.api_key, api_version="2024-10-21", run_budget_usd=budget_usd
    )
    lanes = dataclasses.replace(LanesSettings(), batch_poll_s=0.0)
    return dataclasses.replace(base, enrichment_backend="azure_openai", llm=llm, lanes=lanes)


@pytest.fixture
def fake() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as server:
        yield server


def items() -> list[FeedbackItem]:
    return [
        FeedbackItem(feedback_id=key, text_hash=f"h-{key}", text=text, channel="support_ticket")
        for key, text in TEXTS.items()
    ]


def test_batch_jobs_upload_poll_parse_retry_and_cost_half(fake):
    fake.inject(
        Fault("status", status=500, match="password reset", times=1),  # fails in job 1, answered in job 2
        Fault("malformed_json", match="dashboard is slow", times=99),  # never valid: quarantined
    )
    enricher = AzureOpenAIBatchEnricher(batch_settings(Settings(), fake), sleep=lambda s: None)
    outcome = enricher.enrich_batch(items())

    assert sorted(r.feedback_id for r in outcome.results) == ["access", "billing", "praise"]
    assert [(q.feedback_id, q.reason, q.attempts) for q in outcome.quarantined] == [
        ("slow", "invalid_output", 3)
    ]
    assert outcome.deferred == []
    # three jobs: all four lines, then the two failed ones, then the still-invalid one
    assert [job["lines"] for job in enricher.report.jobs] == [4, 2, 1]
    assert all(job["status"] == "completed" for job in enricher.report.jobs)

    uploads = [f for f in fake.files.values() if f["purpose"] == "batch"]
    first = [json.loads(line) for line in uploads[0]["content"].decode().splitlines()]
    assert [line["custom_id"] for line in first] == list(TEXTS)
    assert {line["url"] for line in first} == {"/chat/completions"}
    assert (
        "jo@example.com" not in uploads[0]["content"].decode() and "[EMAIL]" in uploads[0]["content"].decode()
    )
    assert first[0]["body"]["response_format"]["type"] == "json_schema"
    created = [r.json for r in fake.requests if r.path == "/openai/batches"]
    assert {(c["endpoint"], c["completion_window"]) for c in created} == {("/chat/completions", "24h")}
    assert any(r.path.startswith("/openai/batches/") for r in fake.requests)  # polled

    prices = load_prices(Settings().llm.prices_path)
    billing = next(r for r in outcome.results if r.feedback_id == "billing")
    full_price = prices.cost("gpt-4o", billing.tokens_in, billing.tokens_out)
    assert billing.tokens_in > 0 and billing.cost_usd == pytest.approx(
        full_price * BATCH_PRICE_SHARE, rel=1e-6
    )
    assert billing.category == "billing" and billing.enrichment_version == enricher.online.enrichment_version
    assert outcome.spent_usd == pytest.approx(enricher.spent_usd)


def test_batch_budget_defers_what_it_cannot_cover_before_sending(fake):
    enricher = AzureOpenAIBatchEnricher(
        batch_settings(Settings(), fake, budget_usd=0.0), sleep=lambda s: None
    )
    outcome = enricher.enrich_batch(items())
    assert [d.reason for d in outcome.deferred] == ["budget_exhausted"] * 4 and not outcome.results
    assert fake.files == {} and fake.batches == {}


def test_backlog_and_backfill_in_the_batch_lane_then_reconciled(settings, fake):
    cloud = batch_settings(settings, fake)
    from feedback_ops.ingest.bronze import load_landing_to_bronze

    with open_warehouse(cloud) as warehouse:
        load_landing_to_bronze(warehouse, cloud)
    build_silver(cloud)
    with open_warehouse(cloud) as warehouse:
        days = warehouse.query_df(
            "select cast(created_at as date) as day, count(*) as n from silver.int_feedback_deduplicated "
            "group by 1 order by 1"
        )
    first_day = days["day"].iloc[0]

    before = batch.reconcile(cloud)
    assert before.silver == days["n"].sum() and len(before.missing_enrichment) == before.silver

    with pytest.raises(ValueError, match="start and an end"):
        batch.enrich_backlog(cloud, backfill_start="2026-11-01")
    backfill = batch.enrich_backlog(cloud, backfill_start=str(first_day), backfill_end=str(first_day))
    assert backfill["pending"] == days["n"].iloc[0] and backfill["lane"] == "batch"
    assert backfill["provider_jobs"] and backfill["enriched"] + backfill["quarantined"] == backfill["pending"]

    rest = batch.enrich_backlog(cloud)
    version = current_enrichment_version(cloud)
    with open_warehouse(cloud) as warehouse:
        rows = warehouse.query_df(
            "select lane, cost_usd from enrichment.feedback_enrichment where enrichment_version = ?",
            [version],
        )
    assert rest["pending"] == before.silver - backfill["pending"]
    assert set(rows["lane"]) == {"batch"} and len(rows) == before.silver and rows["cost_usd"].sum() > 0
    middle = batch.reconcile(cloud)
    assert middle.missing_enrichment == [] and len(middle.missing_embedding) == before.silver
    assert len(middle.missing_index_document) == before.silver

    indexed = batch.embed_and_index(cloud)
    after = batch.reconcile(cloud)
    assert indexed["index_count"] >= before.silver and after.balanced, after.as_dict()
