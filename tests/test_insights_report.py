"""The insights report and the summaries for people, from a small gold layer written directly.

The report is opened in headless Chromium (Debian's package): it must render, and a review carrying a
``<script>`` must show as text without running. A control page proves the harness would notice a script that
runs. The screenshot is kept under the test's tmp dir (its path is printed).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from feedback_ops.alerts.dispatch import raise_spike_alerts
from feedback_ops.alerts.pipeline_health import HealthSignal, raise_health_signals
from feedback_ops.alerts.routing import parse_alert_routing
from feedback_ops.report.insights import write_insights_report
from feedback_ops.report.people import write_people_summaries
from feedback_ops.search.emerging import EmergingTheme, EmergingThemes, store_emerging_themes
from feedback_ops.warehouse import open_warehouse
from gold_fixture import burst, steady, write_gold

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "headless Chromium is needed to check the insights report renders: install Debian's package with "
    "`apt-get update && apt-get install -y chromium` (as root; `make install` does it on Debian)"
)
PAYLOAD = "<script>document.title='pwned'</script>"
LAST_DAY = date(2026, 11, 21)  # a Saturday: ISO week 2026-W47 from Monday 16 November
TITLE = f"Feedback Ops — insights through {LAST_DAY}"


def small_gold() -> list[dict]:
    """Three weeks of three themes; the checkout bug spikes on the last two days, one review carries a script."""
    first = LAST_DAY - timedelta(days=20)
    items = steady(first, 21, per_day=2)
    items += steady(
        first, 21, per_day=3, category="billing", area="payments", channel="review", negative=False
    )
    items += steady(first, 21, per_day=1, category="delivery", area="shipping", channel="chat")
    items += burst(LAST_DAY - timedelta(days=1), 14, start=600, insight=True)
    items += burst(LAST_DAY, 16, start=700, insight=True)
    angry = f"Checkout broke again {PAYLOAD} & my card was charged"
    items += burst(LAST_DAY, 1, start=800, text=angry, insight=True, score=-0.99)
    return items


@pytest.fixture
def reports(settings) -> dict[str, Path]:
    with open_warehouse(settings) as warehouse:
        write_gold(warehouse, small_gold())
        raise_spike_alerts(
            warehouse,
            settings,
            {"enrichment_version": "e1"},
            as_of=datetime(2026, 11, 21, 12),
            routing=parse_alert_routing(b"default: []"),
        )
        # an operators' alert is open too: shown under data quality, never counted as a customer alert
        drift = HealthSignal("label_drift", "e1", "run-9", "Label drift: categories moved 40%", "moved")
        raise_health_signals(
            warehouse, settings, [drift], datetime(2026, 11, 21, 12), parse_alert_routing(b"default: []")
        )
        # a growing theme the taxonomy misses, one of its quotes carrying the script too
        theme = EmergingTheme(
            "t1",
            "loyalty points / balance",
            ["loyalty points", "balance"],
            9,
            8,
            7,
            1,
            4.0,
            {"other": 6, "billing": 2},
            [{"feedback_id": "fb-801", "unit_id": "fb-801:0", "text": f"points {PAYLOAD}"}],
            ["fb-801"],
        )
        found = EmergingThemes(datetime(2026, 11, 21, 23), 7, 40, 12, [theme])
        store_emerging_themes(warehouse, found, "e1", "m1")
        report = write_insights_report(warehouse, settings)
        daily, weekly = write_people_summaries(warehouse, settings)
    return {"report": report, "daily": daily, "weekly": weekly}


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.fail(INSTALL_HINT)
    command = [
        str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_report_is_self_contained_and_escapes_customer_text(reports):
    html = reports["report"].read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and f"<title>{TITLE}</title>" in html
    assert "<script" not in html.lower(), "no script element at all: not ours, not a customer's"
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt; &amp; my card" in html
    assert not re.search(r"<link\b|\bsrc=|@import|url\(", html), "nothing is fetched"
    assert "script-src" not in html and "default-src 'none'" in html, "a CSP that allows no script"
    for heading in (
        "Key figures",
        "Leadership KPIs, last 7 days",
        "Theme trends",
        "Spikes and their evidence",
        "Top negative themes by product area",
        "Emerging themes the taxonomy misses",
        "Data quality",
    ):
        assert f">{heading}</h2>" in html
    assert html.count("<svg") >= 3, "the daily and the hourly trend chart and a chart per spike"
    assert "Hour by hour, the last 48 hours (UTC)" in html
    assert "Hourly feedback volume of the top 3 themes, the last 48 hours through 2026-11-21" in html
    # 52 urgent items in the last 7 days of data, none acknowledged (no one acknowledged the alert)
    assert "Urgent items acknowledged within SLA" in html and "of 52 urgent items" in html
    assert "Customer signal to action" in html and "Alerts resolved" in html
    assert "Open pipeline-health alerts (operators)" in html and "Label drift: categories moved 40%" in html
    assert '<div class="label">Alerts raised</div><div class="value">1</div>' in html, "customer alerts only"
    assert "Spike in bug / checkout" in html and "Root cause:</b> timeout in a downstream service" in html
    assert '<a href="../data_docs/index.html">' in html, "Data Docs linked relatively"
    assert "payments" in html and "shipping" in html
    assert (
        "<h3>loyalty points / balance</h3>" in html
        and "7 items in the last 7 days vs 1 the week before (x4)" in html
    )
    assert "points &lt;script&gt;" in html


def test_report_renders_in_headless_chromium_and_the_script_does_not_run(reports, tmp_path):
    report = reports["report"]
    dom = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile").stdout
    assert f"<title>{TITLE}</title>" in dom, "title unchanged: the customer's script did not run"
    assert "pwned</title>" not in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom, "shown as text"
    assert "Spikes and their evidence" in dom and "<svg" in dom

    screenshot = tmp_path / "report.png"
    chromium(
        f"--screenshot={screenshot}", "--window-size=1400,2000", report.as_uri(), profile=tmp_path / "profile"
    )
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (1400, 2000)
    assert screenshot.stat().st_size > 50_000, "a blank page compresses to almost nothing"
    print(f"insights report screenshot: {screenshot}")


def test_the_harness_would_notice_a_script_that_runs(tmp_path):
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>unchanged</title></head><body>{PAYLOAD}</body></html>")
    dom = chromium("--dump-dom", control.as_uri(), profile=tmp_path / "profile").stdout
    assert "<title>pwned</title>" in dom


def test_daily_summary_for_product(reports):
    daily = reports["daily"]
    assert daily.name == "daily_themes_2026-11-21.md"
    text = daily.read_text(encoding="utf-8")
    assert text.startswith("# Daily theme summary — Saturday 21 November 2026")
    assert "| bug / checkout | 19 | +3 | +375% | 100% |" in text, text
    assert "## Spikes (since 2026-11-19)" in text and "### Spike in bug / checkout" in text
    assert "alert opened" in text and "*Root cause:* timeout in a downstream service" in text
    assert "Rising: bug / checkout" in text
    assert "## Busiest hours (UTC)" in text and "- 09:00–09:59: 23 items, 87% negative" in text
    assert "<script>" not in text and "&lt;script&gt;" in text, "customer text is inert in Markdown"


def test_weekly_summary_for_leadership(reports):
    weekly = reports["weekly"]
    assert weekly.name == "weekly_trends_2026-W47.md"
    text = weekly.read_text(encoding="utf-8")
    assert text.startswith("# Weekly trends — 2026-W47")
    assert "2026-11-16 – 2026-11-21 (6 day(s) of the week so far)" in text
    assert "same days of the previous week (2026-11-09 – 2026-11-14)" in text
    for heading in (
        "## Headlines",
        "## Top themes",
        "## Emerging themes",
        "## Most negative product areas",
        "## Incidents",
        "## Leadership KPIs",
    ):
        assert heading in text
    assert "**Urgent items acknowledged within SLA:** 0% of 49 urgent items." in text
    assert "**Alerts resolved:** – of 0 alerts opened." in text
    assert "1 operators' pipeline-health alert(s) open" in text
    assert "- loyalty points / balance: 7 items in 7 days vs 1 before" in text
    assert "<script>" not in text
    # billing: 3 a day in both weeks; bug: 2 a day (12) + 14 on the 20th + 17 on the 21st = 43, vs 12
    assert "| billing | 18 | +0% | 0% | +0.0 pts |" in text
    assert "| bug | 43 | +258% | 100% | +0.0 pts |" in text
    assert "**Alerts:** 1 raised in total" in text


def test_quarantine_reasons_sum_per_family_and_name_each_file_once(settings):
    from feedback_ops.report.figures import quarantine_reasons

    with open_warehouse(settings) as warehouse:
        warehouse.execute("create schema if not exists gold")
        warehouse.execute(
            "create table gold.rpt_quarantine_reasons as select * from (values "
            "('malformed_record', 'missing_text', 'tickets.csv', 3), "
            "('malformed_record', 'bad_timestamp', 'tickets.csv', 2), "
            "('malformed_record', 'missing_text', 'app.jsonl', 1), "
            "('unknown_channel', 'unknown_channel', 'chat.jsonl', 7)"
            ") as t(reason_family, quarantine_reason, source_file, row_count)"
        )
        reasons = quarantine_reasons(warehouse)

    assert reasons == [
        {"reason_family": "unknown_channel", "row_count": 7, "source_files": "chat.jsonl"},
        {"reason_family": "malformed_record", "row_count": 6, "source_files": "app.jsonl, tickets.csv"},
    ]
