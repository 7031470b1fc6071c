"""Spike incidents, the routing file, the update policy and the per-channel messages (pure functions).

Delivery over HTTP, cooldown and retries across runs are in ``test_alert_delivery.py``.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest

from feedback_ops.alerts import messages
from feedback_ops.alerts.notifiers import DeliveryResult, is_retryable, send_with_retry
from feedback_ops.alerts.policy import SentAlert, decide
from feedback_ops.alerts.routing import (
    AlertPolicy,
    DeliveryPolicy,
    LinkTemplates,
    load_alert_routing,
    parse_alert_routing,
)
from feedback_ops.alerts.spikes import group_incidents, theme_owners
from feedback_ops.config import Settings


def spike(day: int, category: str = "bug", area: str | None = "checkout", volume: int = 20) -> dict:
    return {
        "created_date": date(2026, 11, day),
        "category": category,
        "product_area": area,
        "volume": volume,
        "baseline_median": 2.0,
        "robust_z": float(volume),
        "negative_share": 0.9,
    }


def test_consecutive_days_of_one_theme_are_one_incident():
    incidents = group_incidents([spike(18), spike(19, volume=30), spike(21), spike(18, category="billing")])
    assert [(i.category, i.first_day.day, i.last_day.day, i.volume) for i in incidents] == [
        ("bug", 18, 19, 50),
        ("bug", 21, 21, 20),
        ("billing", 18, 18, 20),
    ]
    assert incidents[0].peak_robust_z == 30.0


def test_null_product_area_is_a_theme_of_its_own():
    incidents = group_incidents([spike(18, area=None), spike(19, area="checkout")])
    assert len(incidents) == 2


def test_every_taxonomy_category_has_an_owner():
    owners = theme_owners(Settings())
    assert "bug" in owners and "other" in owners
    assert all(owner and owner != "unassigned" for owner in owners.values())


def test_the_shipped_routing_file_routes_only_to_declared_destinations():
    routing = load_alert_routing(Settings().alert_routing_path)
    assert routing.policy.cooldown == timedelta(minutes=60) and routing.policy.update_min_growth == 0.5
    assert {d.type for d in routing.destinations.values()} == {"slack", "teams", "webhook"}
    assert [d.name for d in routing.destinations_for("bug")] == ["product_slack", "incident_webhook"]
    assert routing.destinations_for("praise") == [], "unrouted themes go to the local log only"
    owners = theme_owners(Settings())
    assert set(routing.routes) <= set(owners), "routes name taxonomy categories"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"destinations: {x: {type: pager, conn_id: c}}", "type 'pager'"),
        (b"destinations: {x: {type: slack}}", "no conn_id"),
        (b"destinations: {log: {type: slack, conn_id: c}}", "local alert log"),
        (b"routes: {bug: [nowhere]}", "unknown destinations"),
        (b"policy: {cooldown_minutes: -5}", "must not be negative"),
    ],
)
def test_routing_file_is_validated(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_alert_routing(raw)


def test_routing_version_changes_with_the_file():
    assert (
        parse_alert_routing(b"version: '1'\ndefault: []").version
        != parse_alert_routing(b"version: '1'\npolicy: {cooldown_minutes: 30}").version
    )


def test_links_come_from_the_configured_templates_only_never_from_the_record_url():
    links = LinkTemplates(by_channel={"support_ticket": "https://desk.example.com/t/{source_record_id}"})
    ticket = {"feedback_id": "f1", "channel": "support_ticket", "source_record_id": "T 7/8"}
    assert links.link(ticket) == "https://desk.example.com/t/T%207%2F8"
    for url in ("https://shop.example.com/r/1", "https://x.example|<!channel>", "javascript:alert(1)"):
        assert links.link({**ticket, "url": url}) == "https://desk.example.com/t/T%207%2F8"
    assert links.link({"feedback_id": "f2", "channel": "review", "url": "https://evil.example"}) == (
        "feedback-ops://feedback/f2"
    )
    hostile_id = {**ticket, "source_record_id": "1|<!channel> <https://evil.example|click>"}
    assert links.link(hostile_id) == (
        "https://desk.example.com/t/1%7C%3C%21channel%3E%20%3Chttps%3A%2F%2Fevil.example%7Cclick%3E"
    )


def _sent(volume: int = 20, last_day: int = 17, minutes_ago: int = 90) -> SentAlert:
    now = datetime(2026, 11, 17, 12)
    return SentAlert(
        "a1", "r1", date(2026, 11, last_day), volume, 0, now, now - timedelta(minutes=minutes_ago)
    )


@pytest.mark.parametrize(
    ("volume", "last_day", "revision", "previous", "action"),
    [
        (20, 17, "r1", None, "open"),
        (20, 17, "r1", _sent(), "none"),  # same revision: dedupe
        (25, 17, "r2", _sent(), "none"),  # +25 %: not material
        (30, 17, "r2", _sent(), "update"),  # +50 %
        (30, 17, "r2", _sent(minutes_ago=30), "hold"),  # material, but inside the cooldown
        (21, 18, "r2", _sent(), "update"),  # a new day
        (21, 18, "r2", _sent(minutes_ago=59), "hold"),
    ],
)
def test_policy_opens_once_and_updates_only_on_material_growth_after_the_cooldown(
    volume, last_day, revision, previous, action
):
    decision = decide(
        volume, date(2026, 11, last_day), revision, previous, datetime(2026, 11, 17, 12), AlertPolicy()
    )
    assert decision.action == action, decision.reason


def test_retry_policy_backs_off_on_5xx_and_timeouts_but_not_on_4xx():
    assert [is_retryable(s) for s in (500, 503, 429, 400, 404)] == [True, True, True, False, False]
    policy = DeliveryPolicy(max_attempts=4, backoff_base_s=1, backoff_max_s=3)
    answers, sleeps = iter([503, TimeoutError("timed out"), 502, 200]), []

    def send() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert send_with_retry(send, policy, sleeps.append) == DeliveryResult("delivered", 4, 200)
    assert sleeps == [1, 2, 3], "exponential, capped at backoff_max_s"
    answers, sleeps = iter([404]), []
    assert send_with_retry(send, policy, sleeps.append).status == "failed" and sleeps == []


ALERT = {
    "alert_id": "alert_1",
    "revision": "rev1",
    "status": "updated",
    "update_number": 2,
    "title": "Spike in bug / checkout: 30 items since 2026-11-17 (15x normal)",
    "summary": "30 feedback items about bug / checkout <b>",
    "owner": "Product Engineering (#eng-bugs-oncall)",
    "window": {"first_day": "2026-11-17", "last_day": "2026-11-18"},
    "volume_trend": [{"day": "2026-11-16", "volume": 2}, {"day": "2026-11-17", "volume": 30}],
    "examples": [
        {
            "feedback_id": "f1",
            "channel": "review",
            "source_record_id": "R-1",
            "redacted_text": "Pay <@here> & <https://evil.example|click> fails",
            "root_cause": "payment timeout",
            "next_action": "page payments",
            "link": "https://shop.example.com/r/1",
        },
        {"feedback_id": "f2", "channel": "chat", "redacted_text": "x", "link": "feedback-ops://feedback/f2"},
    ],
    "feedback_ids": ["f1", "f2"],
    "versions": {"enrichment_version": "e1"},
}


def test_slack_message_escapes_customer_text_and_links_web_records_only():
    body = messages.slack_message(ALERT)
    assert body["text"].startswith("[update 2] Spike in bug / checkout")
    assert body["blocks"][0]["type"] == "header"
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    first, second = sections[2:4]
    assert "&lt;@\u200bhere&gt; &amp; &lt;https://evil.example|click&gt;" in first
    assert "<@here>" not in first and "root cause: payment timeout; next action: page payments" in first
    assert "<https://shop.example.com/r/1|review R-1>" in first
    assert "`feedback-ops://feedback/f2`" in second and "<feedback-ops://" not in second


def test_teams_cards_carry_facts_and_open_only_web_links():
    card = messages.teams_adaptive_card(ALERT)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = card["content"]
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.4"
    facts = {f["title"]: f["value"] for f in content["body"][2]["facts"]}
    assert (
        facts["Owner"].startswith("Product Engineering") and facts["Daily volume"] == "11-16: 2 · 11-17: 30"
    )
    assert [a["url"] for a in content["actions"]] == ["https://shop.example.com/r/1"]
    legacy = messages.teams_message_card(ALERT)
    assert legacy["@type"] == "MessageCard" and legacy["potentialAction"][0]["targets"][0]["uri"].startswith(
        "https://"
    )


HOSTILE_ALERT = {
    **ALERT,
    "title": "Spike in bug / <!channel> checkout",
    "summary": "@channel look <!here> [click here](https://evil.example) ![x](https://evil.example/p.png)",
    "examples": [
        {
            "feedback_id": "f1",
            "channel": "review",
            "source_record_id": "R-1|<!channel>",
            "url": "https://evil.example|<!channel>",
            "redacted_text": "Refund now <!channel> <https://evil.example|your order> @here @Everyone "
            "[track parcel](https://evil.example) <at>boss</at>",
            "root_cause": "see <!subteam^S1> ![img](https://evil.example/i.png)",
            "link": LinkTemplates().link({"feedback_id": "f 1/<x>", "url": "https://evil.example"}),
        }
    ],
}


def test_slack_message_never_carries_a_mention_or_a_link_made_of_customer_text():
    body = messages.slack_message(HOSTILE_ALERT)
    dumped = json.dumps(body, ensure_ascii=False)
    for forbidden in (
        "<!channel>",
        "<!here>",
        "<!subteam",
        "<https://evil",
        "@channel",
        "@here",
        "@Everyone",
    ):
        assert forbidden not in dumped, forbidden
    assert "evil.example|" not in dumped.replace("&lt;https://evil.example|", "")  # only as escaped text
    example = next(b["text"]["text"] for b in body["blocks"] if "Refund now" in b["text"].get("text", ""))
    assert "&lt;!channel&gt; &lt;https://evil.example|your order&gt; @\u200bhere @\u200bEveryone" in example
    assert "`feedback-ops://feedback/f%201%2F%3Cx%3E`" in example  # the template's link, id encoded
    assert "R-1|&lt;!channel&gt;" in example
    assert body["blocks"][0]["text"]["text"] == "[update 2] Spike in bug / <\u200b!channel> checkout"
    assert body["text"] == "[update 2] Spike in bug / &lt;!channel&gt; checkout"


def test_teams_cards_show_customer_markdown_as_text():
    content = messages.teams_adaptive_card(HOSTILE_ALERT)["attachments"][0]["content"]
    texts = [block["text"] for block in content["body"] if block["type"] == "TextBlock"]
    legacy = messages.teams_message_card(HOSTILE_ALERT)
    every = [*texts, legacy["title"], legacy["text"], *(s.get("text", "") for s in legacy["sections"])]
    for text in every:
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text), text  # no [label](url) left
        assert not re.search(r"(?<!\\)<", text), text  # no <at> mention, no HTML
    assert "\\[click here\\]\\(https://evil.example\\)" in texts[1]
    assert "\\!\\[x\\]\\(https://evil.example/p.png\\)" in texts[1]
    assert "\\<at\\>boss\\</at\\>" in texts[2]
    assert content["actions"] == [] and legacy["potentialAction"] == []  # the template link is not http(s)
