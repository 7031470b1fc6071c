"""Benchmark: the four quality gates (``pipeline.check_gate``) on a built warehouse, run by run.

Issue 9: a gate's cost should follow the new data, not the history. This script builds a warehouse of
``--records`` generated records once (load_bronze -> build_silver -> enrich -> build_gold, no embedding: the
gates do not read the index), keeps it in ``--work-dir``, and then times the gates phase by phase, so the same
state can be measured by two versions of the code (run the ``gates`` phase with another ``PYTHONPATH``):

    PYTHONPATH=plugins .venv/bin/python bench/bench_gate_delta.py build --records 10000 --work-dir /tmp/g
    PYTHONPATH=plugins .venv/bin/python bench/bench_gate_delta.py gates --work-dir /tmp/g --label "first run"
    PYTHONPATH=plugins .venv/bin/python bench/bench_gate_delta.py gates --work-dir /tmp/g --label "nothing new"
    PYTHONPATH=plugins .venv/bin/python bench/bench_gate_delta.py land --work-dir /tmp/g   # the --new records
    PYTHONPATH=plugins .venv/bin/python bench/bench_gate_delta.py gates --work-dir /tmp/g --label "1k on top"

``gates`` imports Great Expectations before timing (printed apart: every Airflow task pays it once), then
prints each gate's wall time and what it returned (rows validated / rows in the table per table).
Figures: see the docstring of ``feedback_ops.quality.frames``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_pipeline import generate, settings_under

from feedback_ops import pipeline
from feedback_ops.config import Settings

GATES = ("bronze", "silver", "enrichment", "gold")
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 28


def build(work_dir: Path, records: int, new: int) -> None:
    """Generate the landing data and the ``--new`` records of a later day; run the stages the gates read."""
    if work_dir.exists():
        raise SystemExit(f"--work-dir {work_dir} exists; give a new folder")
    generate(records, work_dir / "landing", seed=7, start=START, days=DAYS)
    generate(new, work_dir / "extra", seed=8, start=START + timedelta(days=DAYS), days=1)
    run_stages(work_dir, f"build ({records:,} records)")


def run_stages(work_dir: Path, label: str) -> None:
    settings = settings_under(work_dir / "main", work_dir / "landing")
    print(f"## {label}  (load average {os.getloadavg()[0]:.1f})")
    for stage in (pipeline.load_bronze, pipeline.build_silver, pipeline.enrich, pipeline.build_gold):
        started = time.perf_counter()
        stage(settings)
        print(f"{stage.__name__:<14}{time.perf_counter() - started:>8.1f} s")


def land(work_dir: Path) -> None:
    """Move the later day's records into the landing folder and run the stages over them."""
    extra = work_dir / "extra"
    for path in sorted(extra.iterdir()):
        shutil.move(path, work_dir / "landing" / path.name)
    run_stages(work_dir, "new records landed")


def gate_settings(work_dir: Path) -> Settings:
    """The paths of ``settings_under`` and nothing else, so an older checkout's ``Settings`` takes them too."""
    local = work_dir / "main" / ".local"
    return dataclasses.replace(
        Settings(),
        local_dir=local,
        landing_dir=work_dir / "landing",
        warehouse_path=local / "warehouse.duckdb",
        dbt_target_dir=local / "dbt" / "target",
        data_docs_dir=local / "data_docs",
        index_dir=local / "index",
        alert_log=local / "alerts.jsonl",
        reports_dir=local / "reports",
    )


def gates(work_dir: Path, label: str) -> None:
    settings = gate_settings(work_dir)
    started = time.perf_counter()
    import great_expectations  # noqa: F401 - timed apart

    print(f"## gates: {label}  (load average {os.getloadavg()[0]:.1f})")
    print(f"import great_expectations {time.perf_counter() - started:.1f} s")
    total = 0.0
    for stage in GATES:
        started = time.perf_counter()
        result = pipeline.check_gate(stage, settings)
        elapsed = time.perf_counter() - started
        total += elapsed
        print(f"gate_{stage:<12}{elapsed:>7.2f} s  {result['tables']}")
    print(f"{'four gates':<17}{total:>7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=("build", "land", "gates"))
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=1_000, help="records of the later day `land` adds")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.phase == "build":
        build(args.work_dir, args.records, args.new)
    elif args.phase == "land":
        land(args.work_dir)
    else:
        gates(args.work_dir, args.label)


if __name__ == "__main__":
    main()
