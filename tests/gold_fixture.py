"""A small gold layer written directly (no dbt): enough of ``gold.fct_feedback``, ``rpt_theme_daily``,
``rpt_theme_hourly``, ``rpt_theme_spikes``, ``rpt_kpis_leadership`` (before any alert),
``rpt_pipeline_reconciliation`` and ``rpt_quarantine_reasons`` for the alerting and reporting code, with the
columns and the spike rule of ``docs/data-model.md``.

The end-to-end test runs the same code over the marts dbt builds, so a drift between this double and the real
tables shows there.
"""

from __future__ import annotations

import hashlib
import statistics
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

CHECKOUT_BUG = "Checkout fails with error E_PAYMENT_TIMEOUT after I enter my card."


def item(
    day: date,
    n: int,
    category: str = "bug",
    area: str | None = "checkout",
    channel: str = "support_ticket",
    text: str = CHECKOUT_BUG,
    negative: bool = True,
    insight: bool = False,
    url: str | None = None,
    hour: int = 9,
    score: float | None = None,
) -> dict[str, Any]:
    """One feedback item of ``fct_feedback`` (``n`` makes the ids unique)."""
    key = f"{channel}:{category}-{area}-{day}-{n}"
    return {
        "feedback_id": hashlib.md5(key.encode()).hexdigest(),
        "source_record_id": f"{category[:3].upper()}-{day:%m%d}-{n}",
        "channel": channel,
        "feedback_text": text,
        "title": None,
        "locale": "en-US",
        "product_area": area,
        "url": url,
        "created_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=n % 60),
        "created_date": day,
        # loaded the next day: data time (the latest created_at, capped at the latest load) is the data's
        "ingested_at": datetime.combine(day, datetime.min.time()) + timedelta(days=1),
        "bronze_row_id": f"bronze-{key}",
        "source_file": f"{channel}.csv",
        "is_enriched": True,
        "category": category,
        "sentiment_label": "negative" if negative else "positive",
        "sentiment_score": score if score is not None else -0.8 if negative else 0.7,
        "is_negative": negative,
        "urgency": "high" if negative else "low",
        "confidence": 0.9,
        "needs_review": False,
        "language": "en",
        "redacted_text": text,
        "lane": "micro_batch",
        "model_name": "local",
        "model_version": "m1",
        "prompt_version": "p1",
        "taxonomy_version": "t1",
        "enrichment_version": "e1",
        "enriched_at": datetime(2026, 11, 30),
        "has_insight": insight,
        "summary": text if insight else None,
        "root_cause": "timeout in a downstream service (payment provider or API)" if insight else None,
        "next_action": "Page the payments on-call and check the provider status." if insight else None,
    }


def steady(first: date, days: int, per_day: int = 2, **kwargs: Any) -> list[dict[str, Any]]:
    """``per_day`` items of one theme on each of ``days`` days from ``first``."""
    return [
        item(first + timedelta(days=d), d * 1000 + n, **kwargs) for d in range(days) for n in range(per_day)
    ]


def burst(day: date, count: int, start: int = 500, **kwargs: Any) -> list[dict[str, Any]]:
    """``count`` items of one theme on ``day``."""
    return [item(day, start + n, **kwargs) for n in range(count)]


def _spike_rows(fct: pd.DataFrame, min_volume: int = 10) -> list[dict[str, Any]]:
    first, last = fct["created_date"].min(), fct["created_date"].max()
    days = [first + timedelta(days=d) for d in range((last - first).days + 1)]
    rows = []
    for (category, area), theme in fct.groupby(["category", "product_area"], dropna=False):
        area = None if pd.isna(area) else area
        volume = theme.groupby("created_date").size().to_dict()
        negative = theme[theme["is_negative"]].groupby("created_date").size().to_dict()
        for i, day in enumerate(days):
            if not volume.get(day):
                continue
            window = [volume.get(d, 0) for d in days[max(0, i - 7) : i]]
            median = statistics.median(window) if window else None
            mad = statistics.median([abs(v - median) for v in window]) if window else None
            z = (volume[day] - median) / max(1.4826 * mad, 1) if window else None
            spike = len(window) >= 7 and volume[day] >= min_volume and volume[day] >= 3 * max(median, 1)
            rows.append(
                {
                    "created_date": day,
                    "category": category,
                    "product_area": area,
                    "volume": volume[day],
                    "negative_count": negative.get(day, 0),
                    "negative_share": negative.get(day, 0) / volume[day],
                    "baseline_days": len(window),
                    "baseline_median": median,
                    "mad": mad,
                    "robust_z": z,
                    "is_spike": bool(spike and z >= 3.5),
                }
            )
    return rows


def write_gold(warehouse: Any, items: list[dict[str, Any]], quarantined: int = 3) -> None:
    """(Re)create the gold tables from feedback items."""
    fct = pd.DataFrame(items)
    daily = (
        fct.groupby(["created_date", "category", "product_area", "channel", "locale"], dropna=False)
        .agg(
            feedback_count=("feedback_id", "size"),
            negative_count=("is_negative", "sum"),
            mean_sentiment=("sentiment_score", "mean"),
        )
        .reset_index()
    )
    daily["negative_share"] = daily["negative_count"] / daily["feedback_count"]
    fct["created_hour"] = pd.to_datetime(fct["created_at"]).dt.floor("h")
    hourly = (
        fct.groupby(["created_hour", "category", "product_area", "channel", "locale"], dropna=False)
        .agg(
            created_date=("created_date", "first"),
            feedback_count=("feedback_id", "size"),
            negative_count=("is_negative", "sum"),
            mean_sentiment=("sentiment_score", "mean"),
        )
        .reset_index()
    )
    hourly["negative_share"] = hourly["negative_count"] / hourly["feedback_count"]
    # leadership KPIs before any alert exists: urgent items, nothing acknowledged or opened yet
    urgent = fct.assign(is_urgent=fct["urgency"].isin(["high", "critical"]))
    leadership = urgent.groupby("created_date").agg(urgent_items=("is_urgent", "sum")).reset_index()
    leadership = leadership.assign(
        urgent_items_acknowledged_within_sla=0,
        urgent_acknowledged_within_sla_share=leadership["urgent_items"].map(lambda n: 0.0 if n else None),
        alerts_opened=0,
        alerts_acknowledged=0,
        alerts_resolved=0,
        alerts_resolved_share=None,
        median_minutes_signal_to_action=None,
        p90_minutes_signal_to_action=None,
    )
    spikes = pd.DataFrame(_spike_rows(fct))
    reconciliation = pd.DataFrame(
        [
            {
                "source_records": len(fct) + quarantined,
                "bronze_rows": len(fct) + quarantined,
                "silver_rows": len(fct),
                "quarantined_rows": quarantined,
                "duplicate_rows": 0,
                "unbalanced_files": 0,
                "parked_rows": 0,
                "dropped_rows": 0,
                "enriched_rows": len(fct),
                "unenriched_rows": 0,
                "enrichment_version": "e1",
                "is_balanced": True,
            }
        ]
    )
    reasons = pd.DataFrame(
        [{"reason_family": "malformed_record", "source_file": "tickets.csv", "row_count": quarantined}]
    )
    warehouse.execute("create schema if not exists gold")
    for name, frame in {
        "fct_feedback": fct,
        "rpt_theme_daily": daily,
        "rpt_theme_hourly": hourly,
        "rpt_kpis_leadership": leadership,
        "rpt_theme_spikes": spikes,
        "rpt_pipeline_reconciliation": reconciliation,
        "rpt_quarantine_reasons": reasons,
    }.items():
        warehouse.connection.register("_frame", frame)
        warehouse.execute(f"create or replace table gold.{name} as select * from _frame")
        warehouse.connection.unregister("_frame")
