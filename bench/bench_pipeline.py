"""Benchmark: every stage of the pipeline on the local runtime, timed and memory-sampled.

Runs the same stage functions the Airflow tasks call (``feedback_ops.pipeline``), in one process, over a
landing folder (the shipped sample data by default), with all state in a temporary folder. Prints wall time,
records per second and peak resident memory per stage, then the same for a second, no-new-data run.

    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py [--landing DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil

from feedback_ops import pipeline
from feedback_ops.config import PROJECT_ROOT, Settings

STAGES = [
    ("load_bronze", pipeline.load_bronze),
    ("gate_bronze", lambda s: pipeline.check_gate("bronze", s)),
    ("build_silver", pipeline.build_silver),
    ("gate_silver", lambda s: pipeline.check_gate("silver", s)),
    ("enrich", pipeline.enrich),
    ("gate_enrichment", lambda s: pipeline.check_gate("enrichment", s)),
    ("embed_and_index", pipeline.embed_and_index),
    ("build_gold", pipeline.build_gold),
    ("gate_gold", lambda s: pipeline.check_gate("gold", s)),
    ("send_alerts", pipeline.send_alerts),
    ("publish_docs", pipeline.publish_docs),
]


class PeakMemory:
    """Samples this process's resident memory every 50 ms while active."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_all(settings: Settings, records: int, label: str) -> None:
    print(f"\n{label}")
    print(f"{'stage':<18}{'seconds':>9}{'records/s':>11}{'peak RSS MB':>13}")
    total = 0.0
    for name, stage in STAGES:
        with PeakMemory() as memory:
            started = time.perf_counter()
            stage(settings)
            elapsed = time.perf_counter() - started
        total += elapsed
        print(f"{name:<18}{elapsed:>9.2f}{records / elapsed:>11.0f}{memory.peak / 2**20:>13.0f}")
    print(f"{'total':<18}{total:>9.2f}{records / total:>11.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, default=PROJECT_ROOT / "include" / "sample_data")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / ".local"
        settings = dataclasses.replace(
            Settings(),
            local_dir=local,
            landing_dir=args.landing,
            warehouse_path=local / "warehouse.duckdb",
            dbt_target_dir=local / "dbt" / "target",
            data_docs_dir=local / "data_docs",
            index_dir=local / "index",
            alert_log=local / "alerts.jsonl",
        )
        settings.ensure_dirs()
        records = sum(
            1 for p in args.landing.rglob("*") if p.suffix in {".csv", ".jsonl", ".json"} for _ in p.open()
        )
        print(f"landing: {args.landing} (~{records:,} lines); cores: {os.cpu_count()}")
        run_all(settings, records, "first run (everything new)")
        run_all(settings, records, "second run (nothing new)")


if __name__ == "__main__":
    main()
