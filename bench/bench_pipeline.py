"""Benchmark: the whole pipeline on the local runtime at a chosen volume, per stage, against raw embedding.

Runs the stage functions the Airflow tasks call (``feedback_ops.pipeline``), in one process, over either the
shipped sample data or ``--records N`` records written by the load generator
(``feedback_ops.synthetic.load_generator``, seeded), with all state in a temporary folder. Prints, per stage: wall time, records per second and peak
resident memory of the process; then

- the **raw embedding time**: the same analysis units (whole messages and their claims, as stored in
  ``enrichment.feedback_units``) embedded by the same model in one loop, nothing else, and the ratio of the
  pipeline's total time to it (the pipeline's overhead over the one cost it cannot avoid);
- a **second run with no new data** (every stage should skip: the rows it touched are printed);
- with ``--incremental K``: K new records (a later day, another seed) landed on top of the warehouse, and the
  same K records on an empty warehouse; the ratio of the two wall times is the cost of history
  (target <= 1.5).

    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py                      # the sample data
    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py --records 10000
    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py --records 100000 --incremental 1000
    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py --records 1000000 --warehouse-only
    # keep the 100k warehouse, then measure another 1k round on it without re-running the first run
    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py --records 100000 --incremental 1000 \\
        --skip-raw-embedding --work-dir /tmp/bench100k
    PYTHONPATH=plugins .venv/bin/python bench/bench_pipeline.py --records 100000 --incremental 1000 \\
        --work-dir /tmp/bench100k --resume

``--warehouse-only`` runs just the stages without models (load_bronze -> build_silver -> build_gold, gold over
empty enrichment tables): the warehouse's own cost at volumes where embedding would take hours.

The machine's load average is printed with the figures: other processes slow every figure.

Figures (2 cores of an AMD EPYC with AVX512-BF16, 23 GB; ``nice``, under ``flock /work/bench.lock``):

- 10k records (36,979 units): total 169 s, raw embedding 92 s (402 units/s; load 1.1-3.2), total / raw
  embedding 1.83; second run with nothing new 21.6 s; 1k on top / 1k alone 1.11; peak RSS 2.5 GB.
- 30k records: peak RSS 2.9-3.2 GB in ``embed_and_index`` (two runs; load 1.6-3.2); per phase the IVF build
  +489 / +555 MB over its start. Both DuckDB caches stay under the default limit (640 MiB each) at 30k; the
  limit binds from ~65k records, where they would otherwise keep growing with the data.
  ``--incremental 1000``: 1k on top 31.0 s, alone 20.5 s, **ratio 1.52**; on top, build_silver 1.8 s,
  embed_and_index 9.2 s, emerging_themes 5.7 s (clustering the 14-day window; noisy); nothing new 18.4 s
  (silver 1.7 s). Silver alone at 100k: nothing new 2.2 s; 1k new 8.5 s (its models 1.0 s); a full refresh
  11.8 s. Load average 1.6-2.4.
- 100k records (373,848 units), first run, two quiet runs: 904 s (enrich 361 s, embed + index 494 s; load
  0.7-2.6), peak RSS 3.7 GB, raw embedding 689 s -> ratio 1.31; and 1,015 s (enrich 431 s, embed + index
  525 s; load 1.4-2.4), peak RSS 3.5 GB, raw embedding 752 s (497 units/s) -> 1.35. Beside test runs: 1,288 s
  (load 1.3-2.6; raw embedding 714 s, 1.80x), peak RSS 3.7 GB. ``fct_feedback``'s look-back is 0 here
  (``BENCH_LOOKBACK_MINUTES``).
- 100k, ``--resume`` on a kept work dir (load 1.0-1.1): nothing new 20.0 s; 1k on top / alone 33.0 / 22.3 s
  = **1.48** (embed + index 7.8 vs 4.7 s, emerging themes 3.1 vs 0.3 s, gold 8.6 vs 6.3 s, the four gates 4.3
  vs 2.7 s, enrich 5.3 vs 4.3 s, silver 3.1 vs 3.6 s).
- 1M records ``--warehouse-only`` under the 640MiB DuckDB limit (load 0.6-1.6): 124 s (load_bronze 49 s,
  build_silver 60 s, build_gold 15 s), peak RSS 1.7 GB; nothing new 12.2 s (silver 4.5 s, gold 7.3 s).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
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
    ("emerging_themes", pipeline.detect_emerging_themes),
    ("build_gold", pipeline.build_gold),
    ("gate_gold", lambda s: pipeline.check_gate("gold", s)),
    ("send_alerts", pipeline.send_alerts),
]
WAREHOUSE_STAGES = [
    ("load_bronze", pipeline.load_bronze),
    ("build_silver", pipeline.build_silver),
    ("build_gold", pipeline.build_gold),
]
"""``--warehouse-only``: the stages that run no model (landing -> bronze -> silver dbt -> gold dbt). Gold is
built over empty enrichment tables (no record enriched): what is measured is the warehouse's own work."""


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


BENCH_LOOKBACK_MINUTES = 0
"""``gold.fct_feedback``'s look-back in these runs (``FEEDBACK_OPS_FCT_FEEDBACK_LOOKBACK_MINUTES``, 60 by default):
the margin is for a writer committing while a build reads, and the stages here run one after the other in one
process; with the default, a later run would rebuild every item the first run wrote minutes before, which in
production is hours or days old."""


def settings_under(root: Path, landing: Path) -> Settings:
    local = root / ".local"
    settings = dataclasses.replace(
        Settings(),
        local_dir=local,
        landing_dir=landing,
        warehouse_path=local / "warehouse.duckdb",
        dbt_target_dir=local / "dbt" / "target",
        data_docs_dir=local / "data_docs",
        index_dir=local / "index",
        alert_log=local / "alerts.jsonl",
        reports_dir=local / "reports",
        fct_feedback_lookback_minutes=BENCH_LOOKBACK_MINUTES,
    )
    settings.ensure_dirs()
    return settings


def run_all(settings: Settings, records: int, label: str, stages: list = STAGES) -> float:
    print(f"\n## {label}  (load average {os.getloadavg()[0]:.1f})")
    print(f"{'stage':<18}{'seconds':>9}{'records/s':>11}{'peak RSS MB':>13}")
    total = 0.0
    peak = 0
    for name, stage in stages:
        with PeakMemory() as memory:
            started = time.perf_counter()
            stage(settings)
            elapsed = time.perf_counter() - started
        total += elapsed
        peak = max(peak, memory.peak)
        print(f"{name:<18}{elapsed:>9.2f}{records / max(elapsed, 1e-9):>11.0f}{memory.peak / 2**20:>13.0f}")
    print(f"{'total':<18}{total:>9.2f}{records / total:>11.0f}{peak / 2**20:>13.0f}")
    return total


def raw_embedding_seconds(settings: Settings) -> tuple[int, float]:
    """Embed every stored unit's text again with the same embedder, in batches, and nothing else."""
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.warehouse import open_warehouse

    embedder = make_embedder(settings)
    with open_warehouse(settings) as warehouse:
        texts = warehouse.query_df("select text from enrichment.feedback_units order by unit_id")[
            "text"
        ].tolist()
    embedder.embed(texts[:64])  # model load, outside the timing as in the pipeline's figures
    started = time.perf_counter()
    for start in range(0, len(texts), settings.batch_size):
        embedder.embed(texts[start : start + settings.batch_size])
    return len(texts), time.perf_counter() - started


def warm_up(root: Path, first_day: datetime) -> None:
    """Run every stage once, untimed, over 50 records in a scratch warehouse: what a first run leaves loaded in
    the process (models, language detector, Great Expectations, dbt) is then loaded for the timed rounds of a
    resumed run too, instead of being charged to whichever round comes first."""
    landing = root / "warm_up_landing"
    if not landing.exists():
        generate(50, landing, seed=99, start=first_day, days=1)
    scratch = root / "warm_up"
    if scratch.exists():
        import shutil

        shutil.rmtree(scratch)
    settings = settings_under(scratch, landing)
    for _, stage in STAGES:
        stage(settings)


def count_lines(landing: Path) -> int:
    return sum(1 for p in landing.rglob("*") if p.suffix in {".csv", ".jsonl", ".json"} for _ in p.open())


def generate(records: int, out: Path, seed: int, start: datetime, days: int) -> None:
    from feedback_ops.synthetic.load_generator import LoadGenerator

    LoadGenerator(records, days=days, start=start, seed=seed).generate(out)
    (out / "generator_manifest.json").unlink()


def incremental_round(
    root: Path, landing: Path, settings: Settings, records: int, first_day: datetime
) -> None:
    """Land ``records`` new records on top of the warehouse and time a run; then the same records alone.

    Round n (a resumed work dir holds the earlier rounds) generates seed 8 + n on ``first_day`` + n days.
    """
    import shutil

    round_ = len(list(root.glob("extra*_alone")))
    extra = root / f"extra_{round_}"
    generate(records, extra, seed=8 + round_, start=first_day + timedelta(days=round_), days=1)
    shutil.copytree(extra, root / f"extra_{round_}_alone")
    for path in extra.iterdir():
        path.rename(landing / path.name)
    on_top = run_all(settings, records, f"{records:,} new records on top of the warehouse")
    alone = run_all(
        settings_under(root / f"alone_{round_}", root / f"extra_{round_}_alone"),
        records,
        f"the same {records:,} records on an empty warehouse",
    )
    print(f"\nincremental cost: on top / alone = {on_top / alone:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, help="a landing folder (default: the shipped sample data)")
    parser.add_argument("--records", type=int, help="generate this many records instead (load generator)")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--incremental", type=int, help="then land this many new records on top, and alone")
    parser.add_argument(
        "--warehouse-only",
        action="store_true",
        help="only load_bronze, build_silver and build_gold (no enrichment, embedding or index), then a "
        "second run with no new data",
    )
    parser.add_argument(
        "--skip-raw-embedding",
        action="store_true",
        help="do not time the raw embedding of the same units (11 minutes at 100k records on 2 cores)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep the generated landing data and the warehouse / index here (default: a temporary folder, "
        "removed at the end); must not exist yet",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the --work-dir of an earlier run (same --records): skip generating and the first run, "
        "then run the second run and the --incremental rounds on its warehouse (each round lands records of a "
        "new seed and day)",
    )
    args = parser.parse_args()
    if args.resume and not (
        args.work_dir and (args.work_dir / "main" / ".local" / "warehouse.duckdb").exists()
    ):
        parser.error("--resume needs the --work-dir of an earlier run")
    if args.work_dir and args.work_dir.exists() and not args.resume:
        parser.error(f"--work-dir {args.work_dir} exists; give a new folder (or --resume it)")
    if args.incremental and not args.records:
        parser.error("--incremental needs --records (it adds files to the generated landing folder)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        landing = args.landing or PROJECT_ROOT / "include" / "sample_data"
        if args.records and args.resume:
            landing = root / "landing"
        elif args.records:
            landing = root / "landing"
            began = time.perf_counter()
            generate(args.records, landing, seed=7, start=start, days=args.days)
            print(f"generated {args.records:,} records in {time.perf_counter() - began:.1f} s")
        settings = settings_under(root / "main", landing)
        records = count_lines(landing)
        print(f"landing: {landing} (~{records:,} lines); cores: {os.cpu_count()}")
        if args.warehouse_only:
            run_all(settings, records, "warehouse only, first run (everything new)", WAREHOUSE_STAGES)
            run_all(settings, records, "warehouse only, second run (nothing new)", WAREHOUSE_STAGES)
            return
        if args.resume:
            print(f"resuming the warehouse in {root}: first run and raw embedding skipped")
            warm_up(root, start)
        else:
            total = run_all(settings, records, "first run (everything new)")
        if not args.skip_raw_embedding and not args.resume:
            units, raw = raw_embedding_seconds(settings)
            print(
                f"\nraw embedding of the same {units:,} units: {raw:.1f} s ({units / raw:.0f} units/s); "
                f"pipeline total / raw embedding = {total / raw:.2f} (overhead {100 * (total / raw - 1):.0f}%)"
            )
        run_all(settings, records, "second run (nothing new)")
        if args.incremental:
            incremental_round(root, landing, settings, args.incremental, start + timedelta(days=args.days))


if __name__ == "__main__":
    main()
