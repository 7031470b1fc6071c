"""Spike incidents: consecutive spike days merge into one alert; an unchanged alert is never sent twice."""

from __future__ import annotations

from datetime import date

from feedback_ops.alerts.notifiers import AlertLogNotifier
from feedback_ops.alerts.spikes import group_incidents, theme_owners


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


def test_alert_log_remembers_the_latest_revision(tmp_path):
    notifier = AlertLogNotifier(tmp_path / "alerts.jsonl")
    assert notifier.already_sent() == {}
    notifier.send({"alert_id": "a1", "revision": "r1", "title": "t"})
    notifier.send({"alert_id": "a1", "revision": "r2", "title": "t"})
    notifier.send({"alert_id": "a2", "revision": "r1", "title": "t"})
    assert notifier.already_sent() == {"a1": "r2", "a2": "r1"}


def test_every_taxonomy_category_has_an_owner():
    from feedback_ops.config import Settings

    owners = theme_owners(Settings())
    assert "bug" in owners and "other" in owners
    assert all(owner and owner != "unassigned" for owner in owners.values())
