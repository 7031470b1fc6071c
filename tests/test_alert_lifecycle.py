"""Alert lifecycle: acknowledge and resolve from the CLI and from webhook callbacks (a real HTTP server on
127.0.0.1), recorded as append-only events with who and when."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from feedback_ops import cli
from feedback_ops.alerts.callbacks import TOKEN_ENV, CallbackConfigError, callback_token, make_server
from feedback_ops.alerts.dispatch import raise_spike_alerts
from feedback_ops.alerts.lifecycle import (
    AlertLifecycleError,
    UnknownAlertError,
    acknowledge,
    get_alert,
    list_alerts,
    record_event,
    resolve,
)
from feedback_ops.alerts.routing import parse_alert_routing
from feedback_ops.warehouse import open_warehouse
from gold_fixture import burst, steady, write_gold

SPIKE_DAY = date(2026, 11, 17)
ROUTING = b"""
version: "test"
destinations: {}
routes: {}
default: []
policy: {cooldown_minutes: 60, update_min_growth: 0.5, update_on_new_day: true}
delivery: {max_attempts: 1, backoff_base_s: 0.1, backoff_max_s: 0.1, timeout_s: 1, max_runs: 3}
"""
TOKEN = "test-callback-secret"


@pytest.fixture
def alert_id(settings, monkeypatch) -> str:
    """One spike alert opened (log destination only); its id. The CLI reads these settings."""
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("feedback_ops.alerts.terminal.get_settings", lambda: settings)
    items = steady(SPIKE_DAY - timedelta(days=7), 7) + burst(SPIKE_DAY, 20)
    with open_warehouse(settings) as warehouse:
        write_gold(warehouse, items)
        run = raise_spike_alerts(
            warehouse,
            settings,
            {"enrichment_version": "e1"},
            as_of=datetime(2026, 11, 17, 12),
            routing=parse_alert_routing(ROUTING),
            sleep=lambda _: None,
        )
    assert len(run.alerts) == 1
    return run.alerts[0]["alert_id"]


def events(settings) -> list[tuple]:
    with open_warehouse(settings) as warehouse:
        frame = warehouse.query_df(
            "select alert_id, event, actor, coalesce(note, '<none>') as note, source from alerts.alert_events "
            "order by occurred_at"
        )
    return [tuple(None if v == "<none>" else v for v in row) for row in frame.itertuples(index=False)]


def test_sending_an_alert_records_the_items_it_named(settings, alert_id):
    with open_warehouse(settings) as warehouse:
        alerted = warehouse.query_df("select * from alerts.alerted_items")
        payload = json.loads(warehouse.scalar("select payload from alerts.alert_incidents"))
    assert set(alerted["feedback_id"]) == set(payload["feedback_ids"])
    assert set(alerted["alert_id"]) == {alert_id}
    assert set(alerted["alerted_at"]) == {datetime(2026, 11, 17, 12)}


def test_ack_then_resolve_records_who_and_when_once(settings, alert_id):
    at = datetime(2026, 11, 17, 12, 30)
    with open_warehouse(settings) as warehouse:
        assert get_alert(warehouse, alert_id).status == "open"
        state, recorded = acknowledge(warehouse, alert_id, "ana")
        assert recorded and state.status == "acknowledged" and state.acknowledged_by == "ana"
        state, recorded = resolve(warehouse, alert_id, "bo", note="rolled back the payment release")
        assert recorded and state.status == "resolved"
        assert (state.resolved_by, state.resolution_note) == ("bo", "rolled back the payment release")
        again, recorded = resolve(warehouse, alert_id, "cy", note="me too")
        assert not recorded and again == state
        assert list_alerts(warehouse, include_resolved=False) == []
        assert state.acknowledged_at is not None and state.acknowledged_at > at
    assert events(settings) == [
        (alert_id, "acknowledged", "ana", None, "cli"),
        (alert_id, "resolved", "bo", "rolled back the payment release", "cli"),
    ]


def test_unknown_alert_and_missing_actor_are_clear_errors(settings, alert_id):
    with open_warehouse(settings) as warehouse:
        with pytest.raises(UnknownAlertError, match="no alert 'alert_nope'"):
            acknowledge(warehouse, "alert_nope", "ana")
        with pytest.raises(AlertLifecycleError, match="who acts is required"):
            resolve(warehouse, alert_id, "  ")
    assert events(settings) == []


def test_cli_list_ack_resolve(settings, alert_id, capsys):
    assert cli.main(["alerts", "list"]) == 0
    assert alert_id in capsys.readouterr().out
    assert cli.main(["alerts", "ack", alert_id, "--by", "ana"]) == 0
    assert "acknowledged by ana" in capsys.readouterr().out
    assert cli.main(["alerts", "resolve", alert_id, "--by", "bo", "--note", "fixed"]) == 0
    assert cli.main(["alerts", "resolve", alert_id, "--by", "bo"]) == 0
    assert "already resolved: nothing recorded" in capsys.readouterr().out
    assert cli.main(["alerts", "ack", "alert_nope", "--by", "ana"]) == 1
    assert "error: no alert 'alert_nope'" in capsys.readouterr().err
    assert cli.main(["alerts", "list", "--open"]) == 0
    assert capsys.readouterr().out.startswith("0 alert(s)")
    assert len(events(settings)) == 2


@pytest.fixture
def callback_url(settings, alert_id, monkeypatch) -> Iterator[str]:
    """The callback server on 127.0.0.1 (a free port), serving in a thread."""
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    server = make_server(settings, "127.0.0.1", 0, token=TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, body: object, token: str | None = TOKEN) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Feedback-Ops-Token"] = token
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_callbacks_ack_and_resolve_over_http(settings, alert_id, callback_url):
    status, body = post(f"{callback_url}/alerts/{alert_id}/ack", {"by": "pagerduty:ana"})
    assert status == 200 and body["recorded"] and body["alert"]["status"] == "acknowledged"
    status, body = post(f"{callback_url}/alerts/{alert_id}/resolve", {"by": "ana", "note": "fixed"})
    assert status == 200 and body["recorded"] and body["alert"]["resolution_note"] == "fixed"
    status, body = post(f"{callback_url}/alerts/{alert_id}/resolve", {"by": "ana"})
    assert status == 200 and not body["recorded"] and body["alert"]["resolved_by"] == "ana"
    assert [e[1:] for e in events(settings)] == [
        ("acknowledged", "pagerduty:ana", None, "callback"),
        ("resolved", "ana", "fixed", "callback"),
    ]


def test_callbacks_refuse_without_the_token_and_reject_bad_requests(settings, alert_id, callback_url):
    assert post(f"{callback_url}/alerts/{alert_id}/ack", {"by": "ana"}, token=None)[0] == 401
    assert post(f"{callback_url}/alerts/{alert_id}/ack", {"by": "ana"}, token="wrong")[0] == 401
    status, body = post(f"{callback_url}/alerts/alert_nope/ack", {"by": "ana"})
    assert status == 404 and "no alert" in body["error"]
    assert post(f"{callback_url}/alerts/{alert_id}/ack", {"note": "no one"})[0] == 400
    assert post(f"{callback_url}/alerts/{alert_id}/ack", ["by", "ana"])[0] == 400
    assert post(f"{callback_url}/alerts/{alert_id}/close", {"by": "ana"})[0] == 404
    assert events(settings) == []


def test_the_server_does_not_start_without_a_secret(settings, monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(CallbackConfigError):
        callback_token()
    with pytest.raises(CallbackConfigError):
        make_server(settings, "127.0.0.1", 0)
    monkeypatch.setattr("feedback_ops.alerts.terminal.get_settings", lambda: settings)
    assert cli.main(["alerts", "serve-callbacks", "--port", "0"]) == 2
    assert TOKEN_ENV in capsys.readouterr().err
    monkeypatch.setenv(TOKEN_ENV, "s")
    assert callback_token() == "s"


def test_lifecycle_and_alerted_items_feed_the_daily_kpis(settings):
    """dbt gold over the fixture data: an alert acknowledged after 10 minutes naming an urgent item 30 minutes
    after it was created shows in gold.rpt_kpis_daily; the first gold build (no alert yet) already works."""
    from feedback_ops import pipeline
    from test_review import build_through_gold

    build_through_gold(settings)
    with open_warehouse(settings) as warehouse:
        assert warehouse.scalar("select sum(alerts_opened) from gold.rpt_kpis_daily") == 0
        urgent = warehouse.query_df(
            "select feedback_id, created_at, created_date from gold.fct_feedback "
            "where urgency in ('high', 'critical') order by created_at limit 1"
        ).to_dict("records")[0]
        created_at = urgent["created_at"].to_pydatetime()
        opened_at = created_at + timedelta(minutes=30)
        warehouse.execute(
            "insert into alerts.alert_incidents (alert_id, category, product_area, first_day, last_day, volume, "
            "revision, last_event, update_count, opened_at, sent_at, payload) values "
            "('alert_k', 'bug', null, ?, ?, 1, 'r1', 'opened', 0, ?, ?, '{}')",
            [created_at.date(), created_at.date(), opened_at, opened_at],
        )
        warehouse.execute(
            "insert into alerts.alerted_items values ('alert_k', ?, ?)", [urgent["feedback_id"], opened_at]
        )
        record_event(warehouse, "alert_k", "acknowledged", "ana", at=opened_at + timedelta(minutes=10))
    pipeline.build_gold(settings)
    with open_warehouse(settings) as warehouse:
        day = warehouse.query_df(
            "select * from gold.rpt_kpis_daily where created_date = ?", [urgent["created_date"]]
        ).to_dict("records")[0]
    assert (day["alerts_opened"], day["alerts_acknowledged"], day["alerts_resolved"]) == (1, 1, 0)
    assert day["median_minutes_to_acknowledge"] == 10.0
    assert day["alerts_acknowledged_within_sla_share"] == 1.0
    assert day["alerts_resolved_share"] == 0.0
    assert day["urgent_items_alerted_within_1h"] >= 1
