"""The Azure OpenAI enrichment backend against a loopback fake of the Azure OpenAI REST API.

Everything runs offline: ``tests/fakes/azure_openai_server.py`` serves the chat-completions path the ``openai``
SDK calls, on 127.0.0.1, and can be scripted to answer 429 / 500, to stall past the client timeout and to
return malformed or schema-violating output. Backoff settings are short so the whole file stays fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.azure_openai_server import FakeAzureOpenAI, Fault
from feedback_ops.config import LanguageModelSettings, Settings
from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher
from feedback_ops.enrich.backends import Enricher, make_enricher
from feedback_ops.enrich.budget import PriceTable, RunBudget, load_prices
from feedback_ops.enrich.outcomes import EnrichmentBatch
from feedback_ops.enrich.schemas import EnrichmentResult, FeedbackItem
from feedback_ops.enrich.taxonomy import load_taxonomy
from feedback_ops.throttle import RateLimiter, backoff_delay, retry_after_seconds

API_VERSION = "2024-10-21"

TEXTS = {
    "billing": "I was charged twice for my order and I want a refund",
    "access": "Cannot log in since yesterday, the password reset email never arrives",
    "feature": "Please add an export to CSV button on the reports page",
    "praise": "Love the new update, everything is faster, thanks",
    "delivery": "My delivery is three days late and the parcel is lost",
    "slow": "The dashboard is slow to load every morning",
}


def item(feedback_id: str, text: str, channel: str = "support_ticket") -> FeedbackItem:
    return FeedbackItem(feedback_id=feedback_id, text_hash=f"h-{feedback_id}", text=text, channel=channel)


def cloud_settings(base: Settings, fake: FakeAzureOpenAI, **llm: object) -> Settings:
    """``base`` switched to the Azure backend on ``fake``, with short timeouts and backoff."""
    options: dict[str, object] = {
        "endpoint": fake.endpoint,
        "api_key": fake.api_key,
        "api_version": API_VERSION,
        "timeout_s": 2.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "concurrency": 4,
        **llm,
    }
    return dataclasses.replace(base, enrichment_backend="azure_openai", llm=LanguageModelSettings(**options))


@pytest.fixture
def fake() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as server:
        yield server


@pytest.fixture
def enricher(fake: FakeAzureOpenAI) -> AzureOpenAIEnricher:
    return AzureOpenAIEnricher(cloud_settings(Settings(), fake))


def outcome_ids(batch: EnrichmentBatch) -> dict[str, str]:
    """feedback_id -> where it ended; fails when an id ends in two places."""
    places = [
        *((r.feedback_id, "result") for r in batch.results),
        *((q.feedback_id, "quarantined") for q in batch.quarantined),
        *((d.feedback_id, "deferred") for d in batch.deferred),
    ]
    ids = [feedback_id for feedback_id, _ in places]
    assert len(ids) == len(set(ids)), f"an item ended in two places: {places}"
    return dict(places)


# --- happy path ----------------------------------------------------------------------------------------------


def test_happy_path_results_validate_with_usage_cost_and_latency(
    fake: FakeAzureOpenAI, enricher: AzureOpenAIEnricher
) -> None:
    items = [item(name, text) for name, text in TEXTS.items()]
    batch = enricher.enrich_batch(items)

    assert [r.feedback_id for r in batch.results] == list(TEXTS)
    assert not batch.quarantined and not batch.deferred
    by_id = {r.feedback_id: r for r in batch.results}
    assert by_id["billing"].category == "billing"
    assert by_id["access"].category == "account_access"
    assert by_id["praise"].category == "praise" and by_id["praise"].sentiment_label == "positive"
    assert by_id["slow"].category == "performance"
    # "charged twice" is an incident cue of the taxonomy: the urgency rules raise the model's answer
    assert by_id["billing"].urgency == "critical" and by_id["billing"].lane == "urgent"
    prices = load_prices(enricher.llm.prices_path)
    taxonomy = load_taxonomy(enricher.settings.taxonomy_path)
    for result in batch.results:
        EnrichmentResult.model_validate(result.model_dump(), context={"taxonomy": taxonomy})
        assert result.tokens_in > 0 and result.tokens_out > 0 and result.latency_ms > 0
        assert result.cost_usd == pytest.approx(prices.cost("gpt-4o", result.tokens_in, result.tokens_out))
        assert (result.model_name, result.model_version) == ("gpt-4o", f"gpt-4o@{API_VERSION}")
        assert result.enrichment_version == enricher.enrichment_version
        assert result.prompt_version == enricher.prompt_version
    assert batch.spent_usd == pytest.approx(sum(r.cost_usd for r in batch.results))

    assert len(fake.requests) == len(items)
    request = fake.requests[0]
    assert request.path == "/openai/deployments/gpt-4o/chat/completions"
    assert request.query["api-version"] == [API_VERSION]
    assert request.headers["api-key"] == fake.api_key
    body = request.json
    schema = body["response_format"]["json_schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert set(schema["schema"]["properties"]["category"]["enum"]) == taxonomy.category_ids
    assert request.headers["x-stainless-retry-count"] == "0"


def test_openai_compatible_endpoint_uses_base_url_and_bearer_key(fake: FakeAzureOpenAI) -> None:
    settings = cloud_settings(Settings(), fake, endpoint=None, base_url=fake.base_url)
    enricher = make_enricher(dataclasses.replace(settings, enrichment_backend="openai_compatible"))
    assert isinstance(enricher, Enricher)

    batch = enricher.enrich_batch([item("praise", TEXTS["praise"])])

    assert [r.category for r in batch.results] == ["praise"]
    assert batch.results[0].model_version == "gpt-4o@openai-compatible"
    assert fake.requests[0].path == "/v1/chat/completions"
    assert fake.requests[0].json["model"] == "gpt-4o"
    assert enricher.enrichment_version != AzureOpenAIEnricher(settings).enrichment_version


def test_versions_need_no_call_and_no_credentials(fake: FakeAzureOpenAI) -> None:
    bare = AzureOpenAIEnricher(Settings())
    assert bare.enrichment_version == AzureOpenAIEnricher(Settings()).enrichment_version
    assert bare.enrichment_version != make_enricher(Settings()).enrichment_version  # the local backend
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        bare.enrich_batch([item("x", "hello")])
    assert fake.requests == []


# --- transient failures are retried --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected_wait_s"),
    [({"retry-after-ms": "400"}, 0.4), ({"retry-after": "1"}, 1.0)],
    ids=["retry-after-ms", "retry-after"],
)
def test_429_then_success_honours_retry_after(
    fake: FakeAzureOpenAI,
    enricher: AzureOpenAIEnricher,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    expected_wait_s: float,
) -> None:
    fake.inject(Fault("status", status=429, headers=headers, match="charged twice"))
    with caplog.at_level(logging.WARNING, logger="feedback_ops.enrich.azure_openai"):
        batch = enricher.enrich_batch([item("billing", TEXTS["billing"])])

    assert [r.feedback_id for r in batch.results] == ["billing"]
    first, second = fake.requests
    assert second.received_at - first.received_at >= expected_wait_s - 0.02
    assert "RateLimitError" in caplog.text and "retrying in" in caplog.text


def test_5xx_are_retried_with_backoff(fake: FakeAzureOpenAI, enricher: AzureOpenAIEnricher) -> None:
    fake.inject(Fault("status", status=500, times=2, match="slow"), Fault("status", status=503, match="slow"))
    batch = enricher.enrich_batch([item("slow", TEXTS["slow"])])

    assert [r.category for r in batch.results] == ["performance"]
    assert len(fake.requests) == 4


def test_timeout_is_retried(fake: FakeAzureOpenAI) -> None:
    # generous margins: a loaded 2-core CI machine must not turn ordinary answers into timeouts
    enricher = AzureOpenAIEnricher(cloud_settings(Settings(), fake, timeout_s=1.5))
    fake.inject(Fault("delay", delay_s=4.0, match="slow"))
    batch = enricher.enrich_batch([item("slow", TEXTS["slow"])])

    assert [r.feedback_id for r in batch.results] == ["slow"]
    assert len(fake.requests) == 2


def test_a_service_that_stays_down_defers_the_record(fake: FakeAzureOpenAI) -> None:
    enricher = AzureOpenAIEnricher(cloud_settings(Settings(), fake, max_attempts=3))
    fake.inject(Fault("status", status=500, times=99, match="slow"))
    batch = enricher.enrich_batch([item("slow", TEXTS["slow"]), item("praise", TEXTS["praise"])])

    assert outcome_ids(batch) == {"praise": "result", "slow": "deferred"}
    assert batch.deferred[0].reason == "service_unavailable" and "500" in batch.deferred[0].detail
    assert len(fake.requests_matching("slow")) == 3


def test_configuration_errors_stop_the_batch(fake: FakeAzureOpenAI) -> None:
    import openai

    enricher = AzureOpenAIEnricher(cloud_settings(Settings(), fake, api_key="wrong-key"))
    with pytest.raises(openai.AuthenticationError):
        enricher.enrich_batch([item("slow", TEXTS["slow"])])
    assert len(fake.requests) == 1  # a 401 is not retried


# --- invalid output is retried, then quarantined -------------------------------------------------------------


def test_invalid_output_is_retried_then_quarantined(
    fake: FakeAzureOpenAI, enricher: AzureOpenAIEnricher
) -> None:
    fake.inject(
        Fault("malformed_json", times=99, match="charged twice"),
        Fault("bad_label", times=99, match="password reset"),
        Fault("schema_violation", times=1, match="export to CSV"),
        Fault("content_filter", times=1, match="parcel"),
    )
    items = [item(name, text) for name, text in TEXTS.items()]
    batch = enricher.enrich_batch(items)

    places = outcome_ids(batch)
    assert places == {
        "billing": "quarantined",
        "access": "quarantined",
        "delivery": "quarantined",
        "feature": "result",
        "praise": "result",
        "slow": "result",
    }
    quarantined = {q.feedback_id: q for q in batch.quarantined}
    assert quarantined["billing"].reason == "invalid_output" and quarantined["billing"].attempts == 3
    assert "json_invalid" in quarantined["billing"].last_error
    assert (
        quarantined["access"].reason == "invalid_output"
        and "not_a_category" in quarantined["access"].last_error
    )
    assert quarantined["delivery"].reason == "content_filter" and quarantined["delivery"].attempts == 1
    assert all(q.enrichment_version == enricher.enrichment_version for q in batch.quarantined)
    assert len(fake.requests_matching("charged twice")) == 3
    assert len(fake.requests_matching("export to CSV")) == 2  # one invalid answer, then a valid one
    feature = next(r for r in batch.results if r.feedback_id == "feature")
    assert feature.category == "feature_request"
    # tokens and cost count every call the record took, the invalid answer's too
    assert feature.tokens_in == sum(len(r.user_message) // 4 for r in fake.requests_matching("export to CSV"))


def test_no_record_lost_or_enriched_twice_under_faults(fake: FakeAzureOpenAI) -> None:
    enricher = AzureOpenAIEnricher(cloud_settings(Settings(), fake, timeout_s=1.5, max_attempts=3))
    texts = list(TEXTS.values())
    items = [item(f"r{i:02d}", f"{texts[i % len(texts)]} (ticket {i:02d})") for i in range(24)]
    fake.inject(
        # every fault targets one record, so no record meets more failures than max_attempts allows, whatever
        # order the concurrent requests arrive in
        Fault("status", status=429, headers={"retry-after-ms": "50"}, times=2, match="ticket 01"),
        Fault("status", status=500, times=2, match="ticket 03"),
        Fault("delay", delay_s=4.0, times=1, match="ticket 05"),
        Fault("malformed_json", times=99, match="ticket 07"),
        Fault("schema_violation", times=1, match="ticket 11"),
        Fault("status", status=502, times=99, match="ticket 13"),
        Fault("bad_label", times=2, match="ticket 17"),
    )
    batch = enricher.enrich_batch(items)

    places = outcome_ids(batch)
    assert sorted(places) == [i.feedback_id for i in items]
    assert places["r07"] == "quarantined" and places["r13"] == "deferred"
    assert sum(place == "result" for place in places.values()) == 22
    answered = [r for r in fake.requests if r.feedback_text.endswith("(ticket 07)")]
    assert len(answered) == 3


# --- budget --------------------------------------------------------------------------------------------------


def test_budget_degrades_to_the_cheap_deployment_then_defers(fake: FakeAzureOpenAI, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "version: test\ndeployments:\n"
        "  strong: {input_per_1k: 0.01, output_per_1k: 0.01}\n"
        "  cheap: {input_per_1k: 0.005, output_per_1k: 0.005}\n"
    )
    settings = cloud_settings(
        Settings(), fake, deployment="strong", cheap_deployment="cheap", prices_path=prices, concurrency=1
    )
    items = [item(f"b{i:02d}", f"{TEXTS['slow']} (ticket {i:02d})") for i in range(12)]
    probe = AzureOpenAIEnricher(settings)
    strong_estimate = probe.prices.cost("strong", *probe.estimate_call_tokens(items[0]))
    budget = 4 * strong_estimate
    enricher = AzureOpenAIEnricher(
        dataclasses.replace(
            settings, llm=dataclasses.replace(settings.llm, run_budget_usd=budget, degrade_at_share=0.5)
        )
    )

    batch = enricher.enrich_batch(items)

    places = outcome_ids(batch)
    assert sorted(places) == [i.feedback_id for i in items]
    deployments = [r.model_name for r in batch.results]
    assert deployments[0] == "strong" and "cheap" in deployments
    assert deployments == sorted(deployments, key=["strong", "cheap"].index)  # never back to strong
    assert batch.deferred and all(d.reason == "budget_exhausted" for d in batch.deferred)
    assert enricher.spent_usd <= budget
    assert [r.deployment for r in fake.requests] == deployments  # deferred records made no call
    enricher.begin_run()
    assert enricher.spent_usd == 0.0


def test_run_budget_tiers() -> None:
    table = PriceTable.model_validate(
        {
            "version": "t",
            "deployments": {
                "strong": {"input_per_1k": 1.0, "output_per_1k": 0.0},
                "cheap": {"input_per_1k": 0.5, "output_per_1k": 0.0},
            },
        }
    )
    budget = RunBudget(
        table, limit_usd=2.0, degrade_at_share=0.5, deployment="strong", cheap_deployment="cheap"
    )
    first = budget.reserve(1000, 0)
    assert first is not None and first.deployment == "strong"
    second = budget.reserve(1000, 0)  # 1.0 + 1.0 > 1.0 on strong; 1.0 + 0.5 <= 2.0 on cheap
    assert second is not None and second.deployment == "cheap"
    budget.settle(first, 1.0)
    budget.settle(second, 0.5)
    assert budget.spent_usd == 1.5
    third = budget.reserve(1000, 0)  # 1.5 + 0.5 == 2.0 fits the cheap tier exactly
    assert third is not None and third.deployment == "cheap"
    assert budget.reserve(1000, 0) is None  # nothing fits any more: the record is deferred
    with pytest.raises(KeyError, match="known: cheap, strong"):
        RunBudget(table, 1.0, 0.5, "gpt-x", "cheap")


# --- PII -----------------------------------------------------------------------------------------------------

PII = {
    "email": ("jane.doe@example.com", "j.smith+billing@corp.co.uk"),
    "phone": ("+44 20 7946 0958", "(415) 555-0123", "415-555-0199"),
    "card": ("4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"),
    "iban": ("GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"),
    "ip": ("192.168.1.20", "2001:db8:85a3::8a2e:370:7334"),
    "order": ("ORD-1234567", "ORDER#7654321", "ACC-123456"),
}


def test_structured_pii_never_reaches_a_model_call(
    fake: FakeAzureOpenAI, enricher: AzureOpenAIEnricher
) -> None:
    texts = [
        f"I was charged twice, write to {PII['email'][0]} or {PII['email'][1]}",
        f"Call me at {PII['phone'][0]}, {PII['phone'][1]} or {PII['phone'][2]} about the refund",
        f"My card {PII['card'][0]} was charged, and {PII['card'][1]}, and {PII['card'][2]}",
        f"Refund to IBAN {PII['iban'][0]} or {PII['iban'][1]} please",
        f"Login fails from IP {PII['ip'][0]} and {PII['ip'][1]}",
        f"Where is my delivery {PII['order'][0]} / {PII['order'][1]} on account {PII['order'][2]}",
    ]
    fake.inject(Fault("malformed_json", times=1), Fault("status", status=500, times=1))  # retries resend text
    batch = enricher.enrich_batch([item(f"p{i}", text) for i, text in enumerate(texts)])

    assert len(batch.results) == len(texts)
    bodies = fake.raw_bodies()
    assert len(bodies) >= len(texts) + 2
    values = [value for group in PII.values() for value in group]
    compact = [value.replace(" ", "").replace("-", "") for value in PII["card"] + PII["iban"] + PII["phone"]]
    leaks = [value for value in values + compact for body in bodies if value in body]
    assert leaks == [], f"PII reached a model call: {leaks}"
    everything_else = "".join(f"{r.path}?{r.query}{r.headers}" for r in fake.requests)
    assert not [value for value in values + compact if value in everything_else]
    placeholders = "".join(r.redacted_text for r in batch.results)
    for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]", "[IP]", "[ORDER_ID]", "[ACCOUNT_ID]"):
        assert placeholder in placeholders


# --- throttling ----------------------------------------------------------------------------------------------


def test_retry_after_parsing_and_backoff() -> None:
    assert retry_after_seconds({"Retry-After-Ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert backoff_delay(1, 1.0, 30.0, rng=lambda: 0.0) == 0.5
    assert backoff_delay(4, 1.0, 30.0, rng=lambda: 1.0) == 8.0
    assert backoff_delay(10, 1.0, 30.0, rng=lambda: 1.0) == 30.0


def test_rate_limiter_paces_requests_and_tokens() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def scenario() -> None:
        limiter = RateLimiter(2, 1000, clock=lambda: now[0], sleep=sleep)
        await limiter.acquire(100)
        await limiter.acquire(100)
        await limiter.acquire(100)  # third request in the minute: waits for the first to age out
        assert slept == [60.0]
        tokens = RateLimiter(100, 1000, clock=lambda: now[0], sleep=sleep)
        await tokens.acquire(600)
        now[0] += 10
        await tokens.acquire(600)  # 1,200 tokens > 1,000: waits until the first call leaves the window
        assert slept[-1] == pytest.approx(50.0)
        tokens.pause(5.0)
        await tokens.acquire(1)
        assert slept[-1] == pytest.approx(5.0)

    asyncio.run(scenario())


# --- end to end through the runner ---------------------------------------------------------------------------


def load_and_build_silver(settings: Settings) -> None:
    from feedback_ops.ingest.bronze import load_landing_to_bronze
    from feedback_ops.transform.dbt_runner import run_dbt
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")


def test_runner_end_to_end_through_the_azure_backend(
    settings: Settings,
    fake: FakeAzureOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from feedback_ops import cli
    from feedback_ops.enrich.estimate import estimate_pending, render_estimate
    from feedback_ops.enrich.runner import enrich_pending
    from feedback_ops.enrich.versions import current_enrichment_version
    from feedback_ops.quality.frames import gate_frames
    from feedback_ops.warehouse import open_warehouse

    load_and_build_silver(settings)
    cloud = cloud_settings(settings, fake)
    fake.inject(Fault("bad_label", times=99, match="pricing went up"))

    with open_warehouse(cloud) as warehouse:
        enricher = make_enricher(cloud)
        before = estimate_pending(warehouse, enricher)
        assert fake.requests == []  # estimating calls nothing
        first = enrich_pending(warehouse, cloud, enricher)
        requests_after_first = len(fake.requests)
        second = enrich_pending(warehouse, cloud)
        rows = warehouse.query_df("select * from enrichment.feedback_enrichment")
        quarantine = warehouse.query_df("select * from enrichment.enrichment_quarantine")
        vectors = warehouse.scalar("select count(*) from enrichment.embeddings")
        frames = gate_frames("enrichment", warehouse, cloud).frames
        after = estimate_pending(warehouse, enricher)

    assert (before.pending, before.to_send, before.tiers["gpt-4o"].records) == (10, 10, 10)
    assert "gpt-4o-mini" in render_estimate(before)
    assert (first.pending, first.enriched, first.quarantined, first.deferred) == (10, 9, 1, 0)
    assert first.cost_usd > 0 and first.tokens_in > 0
    assert (second.pending, second.enriched, second.quarantined) == (0, 0, 0)
    assert len(fake.requests) == requests_after_first  # the second run called nothing
    assert len(rows) == 9 and set(rows["enrichment_version"]) == {current_enrichment_version(cloud)}
    assert set(rows["model_name"]) == {"gpt-4o"} and (rows["cost_usd"] > 0).all()
    assert not rows["redacted_text"].str.contains("@").any()
    assert len(quarantine) == 1 and quarantine.iloc[0]["reason"] == "invalid_output"
    assert quarantine.iloc[0]["feedback_id"] not in set(rows["feedback_id"])
    assert vectors == 0  # the cloud backend returns none: the embed stage embeds the redacted text
    coverage = frames["coverage"].iloc[0]
    assert (coverage["silver_rows"], coverage["enriched_rows"], coverage["missing_rows"]) == (10, 9, 0)
    assert (after.pending, after.to_send) == (0, 0)

    monkeypatch.setattr(cli, "get_settings", lambda: cloud)
    assert cli.main(["estimate"]) == 0
    printed = capsys.readouterr().out
    assert "to send             0" in printed and "backend             azure_openai" in printed

    # the same text sent again under another id: reused, no call, and its cost is not counted twice
    (settings.landing_dir / "resent.jsonl").write_text(
        '{"source_record_id": "R-1", "channel": "social", "text": "Love the new update, everything is faster!", '
        '"created_at": "2026-11-19T10:00:00Z"}\n'
    )
    load_and_build_silver(settings)
    with open_warehouse(cloud) as warehouse:
        third = enrich_pending(warehouse, cloud)
        copies = warehouse.query_df(
            "select feedback_id, cost_usd, tokens_in from enrichment.feedback_enrichment "
            "where redacted_text like 'Love the new update%' order by cost_usd"
        )
    assert (third.pending, third.reused_by_text_hash, third.enriched) == (1, 1, 0)
    assert len(fake.requests) == requests_after_first
    assert copies["cost_usd"].tolist()[0] == 0.0 and copies["tokens_in"].tolist()[0] == 0
    assert copies["cost_usd"].tolist()[1] > 0
