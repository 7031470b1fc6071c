"""Alert delivery against a loopback webhook receiver (a real HTTP server on 127.0.0.1).

Slack goes through the Slack provider's ``SlackWebhookHook``, Teams and the generic webhook through plain JSON
POSTs; all three are Airflow connections set with ``AIRFLOW_CONN_<ID>`` variables. Gold is written directly
(``gold_fixture``) so that many runs over a growing incident stay fast.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest

from feedback_ops.alerts.dispatch import raise_spike_alerts
from feedback_ops.alerts.routing import parse_alert_routing
from feedback_ops.warehouse import open_warehouse
from gold_fixture import burst, steady, write_gold
from webhook_receiver import WebhookReceiver

SPIKE_DAY = date(2026, 11, 17)
NOON = datetime(2026, 11, 17, 12)
ROUTING = b"""
version: "test"
destinations:
  eng_slack: {type: slack, conn_id: fo_test_slack}
  support_teams: {type: teams, conn_id: fo_test_teams}
  ops_hook: {type: webhook, conn_id: fo_test_webhook}
routes:
  bug: [eng_slack, support_teams, ops_hook]
default: []
policy: {cooldown_minutes: 60, update_min_growth: 0.5, update_on_new_day: true}
delivery: {max_attempts: 3, backoff_base_s: 0.5, backoff_max_s: 2, timeout_s: 1, max_runs: 3}
links:
  by_channel: {support_ticket: "https://desk.example.com/tickets/{source_record_id}"}
"""


@pytest.fixture
def receiver(monkeypatch):
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def connections(receiver, monkeypatch):
    """The three destinations' Airflow connections, pointing at the receiver."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_FO_TEST_SLACK",
        json.dumps({"conn_type": "slackwebhook", "password": receiver.url("/slack")}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_FO_TEST_TEAMS", json.dumps({"conn_type": "http", "host": receiver.url("/teams")})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_FO_TEST_WEBHOOK",
        json.dumps(
            {
                "conn_type": "http",
                "host": receiver.url("/hook"),
                "password": "s3cret",
                "extra": {"headers": {"X-Source": "feedback-ops"}},
            }
        ),
    )
    return receiver


def gold_with_spike(settings, spike_volume: int = 20, extra_days: dict[date, int] | None = None) -> None:
    """Seven quiet days of the bug / checkout theme, then a spike (three items explained by the rich pass)."""
    items = steady(SPIKE_DAY - timedelta(days=7), 7)
    items += burst(SPIKE_DAY, 3, start=900, insight=True) + burst(SPIKE_DAY, spike_volume - 3)
    for day, volume in (extra_days or {}).items():
        items += burst(day, volume)
    with open_warehouse(settings) as warehouse:
        write_gold(warehouse, items)


def run_alerts(settings, as_of: datetime, sleeps: list[float] | None = None, routing: bytes = ROUTING):
    with open_warehouse(settings) as warehouse:
        return raise_spike_alerts(
            warehouse,
            settings,
            {"enrichment_version": "e1"},
            as_of=as_of,
            routing=parse_alert_routing(routing),
            sleep=(sleeps if sleeps is not None else []).append,
        )


def deliveries(settings) -> dict[str, tuple]:
    with open_warehouse(settings) as warehouse:
        rows = warehouse.query_df(
            "select destination, status, attempts, runs, http_status from alerts.alert_deliveries"
        )
    return {r.destination: (r.status, r.attempts, r.runs, r.http_status) for r in rows.itertuples()}


def log_lines(settings) -> list[dict]:
    return [json.loads(line) for line in settings.alert_log.read_text().splitlines()]


def test_each_channel_gets_its_payload_shape(settings, connections):
    gold_with_spike(settings)
    run = run_alerts(settings, NOON)
    assert [a["action"] for a in run.alerts] == ["open"]
    assert run.alerts[0]["deliveries"] == dict.fromkeys(
        ["log", "eng_slack", "support_teams", "ops_hook"], "delivered"
    )

    (logged,) = log_lines(settings)
    assert logged["status"] == "opened" and logged["routed_to"] == ["eng_slack", "support_teams", "ops_hook"]
    assert logged["owner"].startswith("Product Engineering")
    assert len(logged["feedback_ids"]) == 20 and logged["volume_trend"][-1] == {
        "day": "2026-11-17",
        "volume": 20,
    }
    example = logged["examples"][0]
    assert example["root_cause"] and example["next_action"], "explained items come first, with their insight"
    assert example["link"] == f"https://desk.example.com/tickets/{example['source_record_id']}"
    assert all(r["link"] for r in logged["source_records"])
    assert logged["versions"]["enrichment_version"] == "e1" and logged["versions"]["models"]

    (slack,) = connections.to("/slack")
    assert slack.body["text"].startswith("Spike in bug / checkout: 20 items")
    assert [b["type"] for b in slack.body["blocks"]][:3] == ["header", "section", "section"]
    assert f"<{example['link']}|support_ticket {example['source_record_id']}>" in json.dumps(slack.body)
    assert "root cause: timeout in a downstream service" in json.dumps(slack.body)

    (teams,) = connections.to("/teams")
    card = teams.body["attachments"][0]["content"]
    assert teams.body["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["actions"][0]["url"] == example["link"]

    (hook,) = connections.to("/hook")
    assert hook.body["event"] == "feedback_ops.alert.opened"
    assert hook.body["alert"]["alert_id"] == logged["alert_id"] and hook.body["alert"]["revision"]
    assert hook.headers["Authorization"] == "Bearer s3cret" and hook.headers["X-Source"] == "feedback-ops"


HOSTILE_TEXT = (
    "Checkout fails <!channel> @here <https://evil.example/login|reset your password> "
    "[track your parcel](https://evil.example) ![x](https://evil.example/p.png)"
)


def test_customer_text_and_urls_reach_slack_and_teams_as_text_and_links_only_from_the_template(
    settings, connections
):
    items = steady(SPIKE_DAY - timedelta(days=7), 7)
    items += burst(SPIKE_DAY, 20, text=HOSTILE_TEXT, url="https://evil.example/x|<!channel>", insight=True)
    with open_warehouse(settings) as warehouse:
        write_gold(warehouse, items)
    run = run_alerts(settings, NOON)
    assert (
        run.alerts[0]["deliveries"]["eng_slack"]
        == run.alerts[0]["deliveries"]["support_teams"]
        == ("delivered")
    )
    (slack,) = connections.to("/slack")
    dumped = json.dumps(slack.body, ensure_ascii=False)
    assert "<!channel>" not in dumped and "<https://evil" not in dumped and "@here" not in dumped
    assert "&lt;!channel&gt; @\u200bhere &lt;https://evil.example/login|reset your password&gt;" in dumped
    links = re.findall(r"<(https?://[^|>]+)\|", dumped)
    assert links and all(link.startswith("https://desk.example.com/tickets/BUG-1117-") for link in links)

    (teams,) = connections.to("/teams")
    card = teams.body["attachments"][0]["content"]
    dumped = json.dumps(card, ensure_ascii=False)
    assert "\\\\[track your parcel\\\\]\\\\(https://evil.example\\\\)" in dumped
    assert "<!channel>" not in dumped and "](https://evil" not in dumped
    assert card["actions"] and "evil" not in json.dumps(card["actions"])
    assert all(a["url"].startswith("https://desk.example.com/tickets/BUG-1117-") for a in card["actions"])


def test_a_rerun_on_the_same_data_sends_nothing(settings, connections):
    gold_with_spike(settings)
    run_alerts(settings, NOON)
    log_before, requests_before = settings.alert_log.read_bytes(), len(connections.requests)
    second = run_alerts(settings, NOON)
    later = run_alerts(settings, NOON + timedelta(hours=5))
    assert [a["action"] for a in second.alerts + later.alerts] == ["none", "none"]
    assert second.retries == [] and later.retries == []
    assert settings.alert_log.read_bytes() == log_before
    assert len(connections.requests) == requests_before


def test_5xx_is_retried_with_backoff_and_4xx_is_not(settings, connections):
    connections.script("/slack", [(503, 0), (502, 0)])
    connections.script("/teams", [(400, 0)])
    gold_with_spike(settings)
    sleeps: list[float] = []
    run_alerts(settings, NOON, sleeps)
    assert len(connections.to("/slack")) == 3 and len(connections.to("/teams")) == 1
    assert sleeps == [0.5, 1.0]
    state = deliveries(settings)
    assert state["eng_slack"] == ("delivered", 3, 1, 200)
    assert state["support_teams"] == ("failed", 1, 1, 400), "recorded, not lost"
    assert state["log"][0] == "delivered" and state["ops_hook"][0] == "delivered"

    # The next run (same data, nothing new to say) retries the failed delivery only.
    second = run_alerts(settings, NOON + timedelta(minutes=10))
    assert second.retries == [
        {"alert_id": second.alerts[0]["alert_id"], "destination": "support_teams", "status": "delivered"}
    ]
    assert len(connections.to("/teams")) == 2 and len(connections.to("/slack")) == 3
    assert deliveries(settings)["support_teams"] == ("delivered", 2, 2, 200)
    assert len(log_lines(settings)) == 1


def test_a_timeout_is_retried(settings, connections):
    connections.script("/hook", [(200, 2.5)])  # answers after the 1 s client timeout
    gold_with_spike(settings)
    run_alerts(settings, NOON)
    assert deliveries(settings)["ops_hook"][:2] == ("delivered", 2)
    assert len(connections.to("/hook")) == 2


def test_a_delivery_failing_run_after_run_is_abandoned_after_max_runs(settings, connections):
    connections.script("/slack", [(500, 0)] * 9)
    gold_with_spike(settings)
    for minutes in (0, 15, 30):
        run_alerts(settings, NOON + timedelta(minutes=minutes))
    assert deliveries(settings)["eng_slack"] == ("failed", 9, 3, 500)
    run_alerts(settings, NOON + timedelta(minutes=45))
    assert deliveries(settings)["eng_slack"][0] == "abandoned"
    assert len(connections.to("/slack")) == 9, "bounded: max_attempts x max_runs calls, then it stops"


def test_a_destination_without_a_connection_is_unconfigured_and_the_log_still_gets_the_alert(
    settings, receiver
):
    gold_with_spike(settings)
    run = run_alerts(settings, NOON)
    assert run.alerts[0]["deliveries"] == {
        "log": "delivered",
        "eng_slack": "unconfigured",
        "support_teams": "unconfigured",
        "ops_hook": "unconfigured",
    }
    assert len(log_lines(settings)) == 1 and receiver.requests == []
    assert run_alerts(settings, NOON + timedelta(hours=1)).retries == [], "unconfigured is not retried"


def test_a_growing_incident_is_one_alert_with_a_bounded_number_of_updates(settings, connections):
    """Runs every 15 minutes while the spike grows by 3 items a run, then spills into the next day."""
    runs = 16
    for n in range(runs):
        as_of = NOON + timedelta(minutes=15 * n)
        extra = {SPIKE_DAY + timedelta(days=1): 12} if n >= 12 else {}
        gold_with_spike(settings, spike_volume=12 + 3 * n, extra_days=extra)
        run_alerts(settings, as_of)

    messages = log_lines(settings)
    assert [m["status"] for m in messages].count("opened") == 1
    assert len({m["alert_id"] for m in messages}) == 1, "one incident, one alert id"
    updates = [m for m in messages if m["status"] == "updated"]
    assert 1 <= len(updates) <= 4, [(m["sent_at"], m["volume"]) for m in messages]
    assert [m["update_number"] for m in messages] == list(range(len(messages)))
    sent_at = [datetime.fromisoformat(m["sent_at"]) for m in messages]
    assert all(b - a >= timedelta(minutes=60) for a, b in zip(sent_at, sent_at[1:], strict=False)), "cooldown"
    for before, after in zip(messages, messages[1:], strict=False):
        grew = after["volume"] >= 1.5 * before["volume"]
        new_day = after["window"]["last_day"] > before["window"]["last_day"]
        assert grew or new_day, "an update needs material growth"
    assert messages[-1]["window"]["last_day"] == "2026-11-18"
    for path in ("/slack", "/teams", "/hook"):
        assert len(connections.to(path)) == len(messages), "each channel got exactly the messages the log got"


def test_a_spike_without_a_product_area_is_alerted(settings, connections):
    """A theme of items with no product area (NULL in gold) spikes: one alert, for 'any area'."""
    items = steady(SPIKE_DAY - timedelta(days=7), 7, area=None) + burst(SPIKE_DAY, 20, area=None)
    # and a theme with an area spiking too, so gold's spike rows mix areas and NULL
    items += steady(SPIKE_DAY - timedelta(days=7), 7, category="billing", area="payments")
    items += burst(SPIKE_DAY, 20, start=700, category="billing", area="payments")
    with open_warehouse(settings) as warehouse:
        write_gold(warehouse, items)
    run_alerts(settings, datetime.combine(SPIKE_DAY, datetime.min.time()) + timedelta(hours=12))
    alerts = {a["theme"]["category"]: a for a in log_lines(settings)}
    assert alerts["billing"]["theme"]["product_area"] == "payments"
    alert = alerts["bug"]
    assert alert["theme"] == {"category": "bug", "product_area": None}
    assert alert["volume_trend"][-1] == {"day": str(SPIKE_DAY), "volume": 20}
    assert len(alert["feedback_ids"]) == 20


def test_the_pipelines_alerts_carry_the_configured_backends_enrichment_version(settings, tmp_path):
    """``pipeline.send_alerts`` (the DAG task, dbt source freshness included) with the azure_openai backend
    configured: the alert names the version that backend stamps, not the local backend's."""
    import dataclasses

    from feedback_ops import pipeline
    from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher
    from feedback_ops.enrich.local import LocalEnricher

    routing = tmp_path / "alert_routing.yaml"
    routing.write_text("version: test\ndestinations: {}\nroutes: {}\ndefault: []\n")
    cloud = dataclasses.replace(settings, enrichment_backend="azure_openai", alert_routing_path=routing)
    gold_with_spike(cloud)
    result = pipeline.send_alerts(cloud, as_of=NOON)
    assert [a["action"] for a in result["alerts"]] == ["open"]

    [spike] = [alert for alert in log_lines(cloud) if alert["kind"] == "theme_spike"]
    stamped = AzureOpenAIEnricher(cloud).enrichment_version
    assert spike["versions"]["enrichment_version"] == stamped
    assert stamped != LocalEnricher(cloud).enrichment_version
