"""The rich pass: routing rules pick the subset, and the local rich enricher explains it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from feedback_ops.config import Settings
from feedback_ops.enrich.rich import LocalRichEnricher, find_entities, root_cause, summarize
from feedback_ops.enrich.routing import in_sample, load_routing, parse_routing


@pytest.fixture(scope="module")
def rules():
    return load_routing(Settings().routing_path)


def test_routing_sends_negative_urgent_and_unsure_items(rules):
    assert rules.rich_reasons("f1", "negative", "critical", 0.9) == ["negative_and_urgent"]
    assert rules.rich_reasons("f1", "negative", "high", 0.3) == ["negative_and_urgent", "low_confidence"]
    assert rules.rich_reasons("f1", "positive", "high", 0.3) == ["low_confidence"]
    routed = [rules.rich_reasons(f"id-{n}", "negative", "medium", 0.9) for n in range(2000)]
    sampled = sum(r == ["sampled"] for r in routed)
    assert 20 <= sampled <= 60, "about 2 % of the rest is sampled"
    assert all(r in ([], ["sampled"]) for r in routed)


def test_sampling_is_deterministic():
    assert [in_sample(f"id-{n}", 0.1) for n in range(50)] == [in_sample(f"id-{n}", 0.1) for n in range(50)]
    assert not any(in_sample(f"id-{n}", 0.0) for n in range(50))


def test_routing_file_is_validated_and_versioned():
    with pytest.raises(ValueError, match="negative_min_urgency"):
        parse_routing(b"rich_pass: {negative_min_urgency: urgent}")
    assert (
        parse_routing(b"version: '1'\nrich_pass: {sample_rate: 0.1}").version
        != parse_routing(b"version: '1'\nrich_pass: {sample_rate: 0.2}").version
    )


def test_summary_picks_the_sentence_that_states_the_problem(rules):
    text = (
        "Hi team, I have been a customer for years. Since the latest update the checkout spins and times out. "
        "Thanks for reading."
    )
    assert summarize(text, rules) == "Since the latest update the checkout spins and times out."


def test_entities_and_root_cause(rules):
    text = (
        "After update 5.13.0 I got error E_PAYMENT_TIMEOUT paying by credit card for [ORDER_ID] at checkout."
    )
    entities = {(e.type, e.value) for e in find_entities(text, "checkout", rules)}
    assert {
        ("product_area", "checkout"),
        ("feature", "checkout"),
        ("app_version", "5.13.0"),
        ("error", "E_PAYMENT_TIMEOUT"),
        ("payment_method", "credit card"),
        ("order", "[ORDER_ID]"),
    } <= entities
    assert root_cause("I was charged twice for one order", rules) == "duplicate capture in payment processing"
    assert (
        root_cause("Since the last update 5.13.0 nothing works", rules)
        == "regression introduced by release 5.13.0"
    )
    assert root_cause("Lovely colours", rules) is None


def test_local_rich_enricher_output_is_typed_and_owned(tmp_path):
    enricher = LocalRichEnricher(Settings())
    [insight] = enricher.enrich(
        [
            {
                "feedback_id": "f1",
                "enrichment_version": "v1",
                "redacted_text": "I was charged twice for my order. Please refund me at [EMAIL].",
                "category": "billing",
                "product_area": "payments",
                "rich_reasons": ["negative_and_urgent"],
            }
        ]
    )
    row = insight.model_dump()
    assert json.loads(row["rich_reasons"]) == ["negative_and_urgent"]
    assert insight.root_cause == "duplicate capture in payment processing"
    assert "Payments" in insight.next_action or "payments" in insight.next_action.lower()
    other = dataclasses.replace(Settings(), routing_path=tmp_path / "routing.yaml")
    other.routing_path.write_text(Settings().routing_path.read_text() + "\n# edited\n")
    assert LocalRichEnricher(other).rich_version != enricher.rich_version
