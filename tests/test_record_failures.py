"""One record never stops a stage, and huge texts are capped (issue 16 §1).

The runners, the clipping, the isolation and the failure tables are the real ones; where a record must fail,
a subclass of the real enricher (or a wrapper of the real embedder) returns an invalid value for that one
record only. Silver is a small hand-built table of the columns the stages read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from fakes.azure_openai_server import FakeAzureOpenAI
from feedback_ops.config import LanguageModelSettings, Settings
from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher
from feedback_ops.enrich.failures import isolate_failures
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.enrich.rich import LocalRichEnricher, RichInsight
from feedback_ops.enrich.rich_runner import enrich_rich_pending
from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.enrich.schemas import TEXT_TRUNCATED, FeedbackItem, clip_to_contract
from feedback_ops.report.summary import build_summary, render_summary
from feedback_ops.search.embedded import open_active_index
from feedback_ops.search.sync import sync_index
from feedback_ops.search.units import split_units
from feedback_ops.warehouse import open_warehouse

URL = "https://shop.example.com/checkout/session/" + "a1b2c3d4" * 33  # ~300 characters
HOSTILE = (
    f"Checkout broke after update 5.13.0 and I was charged twice. See {URL}?step=1 {URL}?step=2 {URL}?step=3 "
    + "x" * 100_000
)
TEXTS = {
    "f-hostile": HOSTILE,
    "f-bad": "The payment failed at checkout and I was charged twice, please refund me now.",
    "f-fine": "The app crashes every time I open my order history since the last update.",
    "f-other": "Delivery was late and the courier was rude, very disappointed with this order.",
}


def _silver(settings: Settings, texts: dict[str, str]) -> None:
    """A silver table of ``texts`` (negative support tickets: the routing rules send them to the rich pass)."""
    with open_warehouse(settings) as warehouse:
        warehouse.execute("create schema if not exists silver")
        warehouse.execute(
            "create or replace table silver.int_feedback_deduplicated (feedback_id varchar, text_hash varchar, "
            "feedback_text varchar, channel varchar, severity varchar, rating double, product_area varchar, "
            "locale varchar, created_at timestamp)"
        )
        warehouse.append(
            "silver.int_feedback_deduplicated",
            pd.DataFrame(
                {
                    "feedback_id": list(texts),
                    "text_hash": [hashlib.sha256(t.encode()).hexdigest() for t in texts.values()],
                    "feedback_text": list(texts.values()),
                    "channel": "support_ticket",
                    "severity": "high",
                    "rating": 1.0,
                    "product_area": "checkout",
                    "locale": "en-US",
                    "created_at": pd.Timestamp("2026-11-20 10:00"),
                }
            ),
        )


class OneBadRowEnricher(LocalEnricher):
    """The real local enricher, except that ``bad_id``'s row carries a sentiment label outside the contract."""

    bad_id = "f-bad"

    def _row(self, enrichment_version: str, item: FeedbackItem, *parts: Any) -> dict[str, Any]:
        row = super()._row(enrichment_version, item, *parts)
        return {**row, "sentiment_label": "furious"} if item.feedback_id == self.bad_id else row


class OneBadInsightEnricher(LocalRichEnricher):
    """The real rich enricher, except that ``bad_id``'s output has an empty summary (clipping cannot fix it)."""

    bad_id = "f-bad"

    def insight_fields(self, row: dict[str, Any]) -> dict[str, Any]:
        fields = super().insight_fields(row)
        return {**fields, "summary": ""} if row["feedback_id"] == self.bad_id else fields


@pytest.fixture(scope="module")
def local_enricher() -> LocalEnricher:
    return LocalEnricher(Settings())


# --- the helpers ---------------------------------------------------------------------------------------------


def test_isolation_finds_the_one_bad_item_and_keeps_the_rest_in_order() -> None:
    calls: list[list[int]] = []

    def process(part: list[int]) -> list[int]:
        calls.append(part)
        if 13 in part:
            raise ValueError("13 is refused")
        return [n * 2 for n in part]

    done, failed = isolate_failures(list(range(32)), process)
    assert [n for part, _ in done for n in part] == [n for n in range(32) if n != 13]
    assert [out for _, outs in done for out in outs] == [2 * n for n in range(32) if n != 13]
    assert [(item, str(error)) for item, error in failed] == [(13, "13 is refused")]
    assert len(calls) <= 2 * 5 + 1


def test_machinery_errors_are_not_record_errors() -> None:
    def process(part: list[int]) -> list[int]:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        isolate_failures([1, 2, 3], process)


def test_output_is_clipped_to_the_contract_before_validation() -> None:
    raw = {
        "feedback_id": "f1",
        "enrichment_version": "v",
        "rich_version": "r",
        "rich_reasons": ["negative_and_urgent"],
        "summary": "word " * 500,
        "entities": [{"type": "error", "value": "E" * 1000}] * 80,
        "root_cause": "y" * 1000,
        "next_action": "Fix it.",
        "model_name": "m",
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": -0.0001,
        "latency_ms": 1.0,
    }
    insight = RichInsight.model_validate(clip_to_contract(RichInsight, raw))
    assert len(insight.summary) <= 400 and insight.summary.endswith("…")
    assert len(insight.entities) == 50 and all(len(e.value) <= 200 for e in insight.entities)
    assert len(insight.root_cause or "") <= 400 and insight.cost_usd == 0.0


# --- units ---------------------------------------------------------------------------------------------------


def test_a_one_megabyte_text_gives_at_most_the_cap_of_units() -> None:
    sentences = [f"Sentence number {n} says the checkout page is broken again." for n in range(20_000)]
    text = " ".join(sentences)
    assert len(text) > 1_000_000
    units = split_units("f1", text, "review", max_units=64, max_chars=20_000)
    assert len(units) == 64
    assert len(units[0].text) <= 20_000 and units[0].unit_kind == "message"
    assert [u.unit_index for u in units] == list(range(64))


def test_identical_repeated_sentences_are_one_unit() -> None:
    text = " ".join(["The checkout button does nothing when I tap it."] * 5000 + ["Please fix this today."])
    units = split_units("f1", text, "review", max_units=64, max_chars=1_000_000)
    claims = [u.text for u in units[1:]]
    assert claims == ["The checkout button does nothing when I tap it.", "Please fix this today."]
    assert len(set(claims)) == len(claims)


# --- the cheap pass ------------------------------------------------------------------------------------------


def test_a_huge_text_is_enriched_truncated_and_flagged(local_enricher: LocalEnricher) -> None:
    item = FeedbackItem(feedback_id="f1", text_hash="h", text=HOSTILE + " tail", channel="support_ticket")
    [result] = local_enricher.enrich([item])
    assert len(result.redacted_text) <= local_enricher.settings.max_text_chars
    assert result.enrichment_notes and result.enrichment_notes.startswith(TEXT_TRUNCATED)
    [short] = local_enricher.enrich([item.model_copy(update={"text": "Short and fine."})])
    assert short.enrichment_notes is None


def test_one_invalid_cheap_pass_row_is_quarantined_and_the_batch_goes_on(settings: Settings) -> None:
    _silver(settings, TEXTS)
    enricher = OneBadRowEnricher(settings)
    with open_warehouse(settings) as warehouse:
        first = enrich_pending(warehouse, settings, enricher)
        second = enrich_pending(warehouse, settings, enricher)
        enriched = warehouse.query_df(
            "select feedback_id, enrichment_notes from enrichment.feedback_enrichment"
        )
        quarantined = warehouse.query_df("select * from enrichment.enrichment_quarantine")
    assert (first.pending, first.enriched, first.quarantined) == (4, 3, 1)
    assert sorted(enriched["feedback_id"]) == ["f-fine", "f-hostile", "f-other"]
    [row] = quarantined.to_dict("records")
    assert (row["feedback_id"], row["reason"]) == ("f-bad", "invalid_output")
    assert "sentiment_label" in row["last_error"] and row["enrichment_version"] == enricher.enrichment_version
    assert (second.pending, second.enriched, second.quarantined) == (0, 0, 0), "never retried at this version"
    notes = dict(zip(enriched["feedback_id"], enriched["enrichment_notes"], strict=True))
    assert notes["f-hostile"].startswith(TEXT_TRUNCATED)


# --- the rich pass, units, embedding, index ------------------------------------------------------------------


def test_the_rich_pass_clips_hostile_output_and_sets_aside_one_invalid_record(settings: Settings) -> None:
    _silver(settings, TEXTS)
    with open_warehouse(settings) as warehouse:
        cheap = enrich_pending(warehouse, settings)
        forced = {"negative_and_urgent"}
        warehouse.execute(
            "update enrichment.feedback_enrichment set sentiment_label = 'negative', urgency = 'high'"
        )
        rich_enricher = OneBadInsightEnricher(settings)
        stats = enrich_rich_pending(warehouse, settings, cheap.enrichment_version, rich_enricher)
        again = enrich_rich_pending(warehouse, settings, cheap.enrichment_version, rich_enricher)
        insights = warehouse.query_df("select feedback_id, summary from enrichment.feedback_insights")
        failures = warehouse.query_df("select * from enrichment.record_failures")
        summary = render_summary(build_summary(warehouse, settings), settings)
    assert set(stats.reasons) >= forced
    assert (stats.routed, stats.failed) == (3, 1)
    assert (again.candidates, again.routed, again.failed) == (0, 0, 0), "the failed record is not retried"
    summaries = dict(zip(insights["feedback_id"], insights["summary"], strict=True))
    assert sorted(summaries) == ["f-fine", "f-hostile", "f-other"]
    assert 0 < len(summaries["f-hostile"]) <= 400
    [failure] = failures.to_dict("records")
    assert (failure["stage"], failure["feedback_id"], failure["reason"]) == (
        "rich",
        "f-bad",
        "invalid_output",
    )
    assert "summary" in failure["error"] and failure["text_hash"]
    assert "rich / invalid_output" in summary and "(e.g. f-bad)" in summary


class OneBadTextEmbedder:
    """The real local embedder, refusing (as a cloud service would) any text mentioning ``courier``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_name, self.version, self.dimensions = inner.model_name, inner.version, inner.dimensions

    def embed(self, texts: list[str]) -> Any:
        if any("courier" in text for text in texts):
            raise ValueError("input refused by the embedding service")
        return self.inner.embed(texts)


def test_a_unit_the_embedder_refuses_is_set_aside_and_the_index_stays_in_sync(
    settings: Settings, local_enricher: LocalEnricher
) -> None:
    _silver(settings, TEXTS)
    embedder = OneBadTextEmbedder(local_enricher.embedder)
    with open_warehouse(settings) as warehouse:
        version = enrich_pending(warehouse, settings).enrichment_version
        warehouse.execute("delete from enrichment.embeddings")  # the embed stage computes every vector itself
        index = open_active_index(settings, embedder.dimensions)
        try:
            first = sync_index(warehouse, index, settings, embedder, version)
            second = sync_index(warehouse, index, settings, embedder, version)
        finally:
            index.close()
        failures = warehouse.query_df(
            "select stage, item_id, feedback_id, reason from enrichment.record_failures"
        )
        units = warehouse.query_df("select unit_id, feedback_id from enrichment.feedback_units")
    refused = units[units["feedback_id"] == "f-other"]["unit_id"].tolist()
    assert refused and first.failed == {"embed": len(refused)}
    assert set(failures["item_id"]) == set(refused) and set(failures["stage"]) == {"embed"}
    assert set(failures["reason"]) == {"processing_error"}
    assert first.index_count == first.expected_count == len(units) - len(refused)
    assert (second.embedded, second.upserted, second.failed) == (0, 0, {}), "nothing retried, nothing fails"
    hostile_units = units[units["feedback_id"] == "f-hostile"]
    assert 1 <= len(hostile_units) <= settings.max_units_per_message


# --- Azure OpenAI: the request stays inside the context -----------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as server:
        yield server


def test_the_azure_request_for_a_huge_text_stays_under_the_context(fake: FakeAzureOpenAI) -> None:
    llm = LanguageModelSettings(
        endpoint=fake.endpoint,
        api_key=fake.api_key,
        timeout_s=5.0,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        context_tokens=8_000,
        cheap_context_tokens=6_000,
    )
    settings = dataclasses.replace(
        Settings(), enrichment_backend="azure_openai", llm=llm, max_text_chars=1_000_000
    )
    huge = "Checkout fails with error E_PAYMENT_TIMEOUT again. " * 22_000  # 1.1 MB
    batch = AzureOpenAIEnricher(settings).enrich_batch(
        [FeedbackItem(feedback_id="big", text_hash="h", text=huge, channel="support_ticket")]
    )
    [request] = fake.requests
    sent = request.json
    content_bytes = sum(len(m["content"].encode("utf-8")) for m in sent["messages"])
    schema_bytes = len(json.dumps(sent["response_format"]).encode("utf-8"))
    # one token per byte at most, whatever the tokenizer: the request fits the smaller deployment's context
    assert content_bytes + schema_bytes // 4 + sent["max_tokens"] <= 6_000
    assert 1_000 < len(request.feedback_text) < 6_000
    [result] = batch.results
    assert result.enrichment_notes and result.enrichment_notes.startswith(TEXT_TRUNCATED)
    assert len(result.redacted_text) < 6_000
