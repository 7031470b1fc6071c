"""Benchmark: how well ``gold.rpt_theme_spikes`` finds injected incidents, how fast, and how often it cries wolf.

Takes real, flat-ish feedback volumes — CFPB payday-loan complaints of January–August 2023 (themes = CFPB
issues) from ``../shared/data``, and the shipped sample data (themes = product areas) — injects extra items
into randomly chosen (theme, day) pairs at several sizes, runs the real dbt model on them, and prints per size:
detection rate, detection delay in days, and false alerts per week (spike incidents on themes/days where
nothing was injected; consecutive flagged days count as one alert).

    PYTHONPATH=plugins .venv/bin/python bench/bench_spike_detection.py
"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb

from feedback_ops.config import PROJECT_ROOT, Settings
from feedback_ops.transform.dbt_runner import run_dbt

SHARED = PROJECT_ROOT.parent / "shared" / "data"
SIZES = (5, 10, 20, 40)
INJECTIONS_PER_SIZE = 12
SEED = 11


def cfpb_rows() -> list[tuple[date, str, str]]:
    path = SHARED / "cfpb-consumer-complaints" / "cfpb_combined.csv"
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if record["source_file"] != "payday_loan_2023_sample.csv" or not record["Date received"]:
                continue
            rows.append((date.fromisoformat(record["Date received"]), record["Issue"][:60], "payday_loan"))
    return rows


def sample_rows() -> list[tuple[date, str, str]]:
    rows = []
    for path in sorted((PROJECT_ROOT / "include" / "sample_data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                day = date.fromisoformat(record["created_at"][:10])
            except (ValueError, KeyError, TypeError):
                continue
            area = record.get("product_area") or "none"
            if area == "checkout" and day >= date(2026, 11, 18):
                continue  # the planted incident is removed: the benchmark plants its own
            rows.append((day, "any", area))
    return rows


def inject(rows, size: int, rng: random.Random) -> tuple[list, list[tuple[str, str, date]]]:
    days = sorted({d for d, _, _ in rows})
    themes = sorted({(c, p) for _, c, p in rows})
    judged = days[8:-1]  # a full baseline week before, one day after
    events, taken = [], set()
    while len(events) < INJECTIONS_PER_SIZE and len(taken) < len(themes) * len(judged):
        theme, day = rng.choice(themes), rng.choice(judged)
        if any(t == theme and abs((d - day).days) < 10 for t, d in taken):
            taken.add((theme, day))
            continue
        taken.add((theme, day))
        events.append((*theme, day))
    extra = [(day, category, area) for category, area, day in events for _ in range(size)]
    return rows + extra, events


def detect(rows, settings: Settings) -> set[tuple[str, str, date]]:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema if not exists gold")
        con.execute(
            "create or replace table gold.fct_feedback (created_date date, category varchar, "
            "product_area varchar, is_enriched boolean, is_negative boolean)"
        )
        con.executemany("insert into gold.fct_feedback values (?, ?, ?, true, true)", rows)
    run_dbt("run", settings, select="rpt_theme_spikes", dbt_vars={"spike_min_volume": 5})
    # not read-only: dbt-duckdb keeps its own connection to the file open in this process
    with duckdb.connect(str(settings.warehouse_path)) as con:
        flagged = con.execute(
            "select category, product_area, created_date from gold.rpt_theme_spikes where is_spike"
        ).fetchall()
    return {(c, p, d) for c, p, d in flagged}


def score(flagged: set, events: list, rows) -> dict[str, float]:
    detected, delays = 0, []
    for category, area, day in events:
        hits = [
            d for c, p, d in flagged if (c, p) == (category, area) and day <= d <= day + timedelta(days=1)
        ]
        if hits:
            detected += 1
            delays.append((min(hits) - day).days)
    expected = {(c, p, d + timedelta(days=k)) for c, p, d in events for k in (0, 1)}
    false_days = sorted(f for f in flagged if f not in expected)
    by_theme = defaultdict(list)
    for c, p, d in false_days:
        by_theme[(c, p)].append(d)
    false_alerts = sum(
        1 + sum((b - a).days > 1 for a, b in zip(ds, ds[1:], strict=False)) for ds in by_theme.values()
    )
    days = sorted({d for d, _, _ in rows})
    weeks = max((days[-1] - days[8]).days / 7, 1)
    return {
        "detection_rate": detected / len(events) if events else float("nan"),
        "mean_delay_days": sum(delays) / len(delays) if delays else float("nan"),
        "false_alerts_per_week": false_alerts / weeks,
    }


def run(name: str, rows, settings: Settings) -> None:
    themes = len({(c, p) for _, c, p in rows})
    days = len({d for d, _, _ in rows})
    print(f"\n{name}: {len(rows):,} items, {themes} themes, {days} days, {len(rows) / days:.1f} items a day")
    print(f"{'extra items':>12}{'detected':>10}{'delay (days)':>14}{'false alerts/week':>19}")
    baseline = score(detect(rows, settings), [], rows)
    print(f"{'none':>12}{'-':>10}{'-':>14}{baseline['false_alerts_per_week']:>19.2f}")
    rng = random.Random(SEED)
    for size in SIZES:
        injected, events = inject(rows, size, rng)
        result = score(detect(injected, settings), events, injected)
        print(
            f"{size:>12}{result['detection_rate']:>10.0%}{result['mean_delay_days']:>14.2f}"
            f"{result['false_alerts_per_week']:>19.2f}"
        )


def main() -> int:
    if not SHARED.exists():
        print(f"shared data not found at {SHARED}: skipping the CFPB part")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp)
        settings = dataclasses.replace(
            Settings(),
            local_dir=local,
            warehouse_path=local / "bench.duckdb",
            dbt_target_dir=local / "dbt" / "target",
        )
        if SHARED.exists():
            run("CFPB payday-loan complaints 2023 (theme = issue)", cfpb_rows(), settings)
        run("sample data without its planted incident (theme = product area)", sample_rows(), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
