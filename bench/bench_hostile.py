"""Benchmark: the pipeline over the hostile-input corpus, per stage: wall time, peak RSS, the error if any.

Builds the corpus of ``tests/test_hostile_inputs.py`` (``tests/hostile_corpus.py``: 64 kinds of hostile
export, a 1 MB text, a 140,000-character CSV cell and a 100k-character token among them) in a temporary
folder, runs every stage of ``feedback-ops run`` in one process (local backend, embedded index, alerts to the
log only) and then a second time on the same landing folder (nothing new). A stage that fails is printed with
its error and the next stages still run, as in the test. Prints the CPU model, core count and load average:
other processes slow every figure.

    PYTHONPATH=plugins .venv/bin/python bench/bench_hostile.py
    PYTHONPATH=plugins .venv/bin/python bench/bench_hostile.py --skip text_1mb --skip csv_cell_over_131072

``--skip KIND`` leaves a kind's files out of the landing folder (to see what the rest costs, or what the rest
does on a version where that kind stops a stage). Peak RSS is ``getrusage``'s maximum resident set size of the
process so far: it only grows from stage to stage.

Figures on main at 21b6726, before the fixes of issue 16 (2 cores, AMD EPYC, load average 8.7-10 from other
sessions' test runs, so every figure is slow):

- whole corpus: ``load_bronze`` stops at the first file (a CSV cell over 131,072 characters), nothing loads;
  ``--skip csv_cell_over_131072`` alone: ``load_bronze`` stops on a RecursionError (2,000 nested levels).
- ``--skip csv_cell_over_131072 --skip deeply_nested_metadata`` (62 kinds, 199 records, 1.2 MB): first run
  435.8 s (embed + index 206.3 s for the 10,559 units of the 1 MB text, enrich 66.4 s, dbt silver 50.6 s and
  gold 57.4 s), peak RSS 1,857 MB; ``gate_silver`` fails (a file wholly quarantined) and ``enrich`` fails in
  the rich pass (a summary past 400 characters); second run 70.6 s, the same two stages fail again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from conftest import local_settings  # noqa: E402 (tests/ is put on the path just above)
from hostile_corpus import build_corpus, run_pipeline, source_records  # noqa: E402


def cpu_model() -> str:
    """lscpu's model name (or the platform's processor string)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        import platform

        return platform.processor() or "unknown"
    return next(
        (line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?"
    )


def print_run(label: str, stages) -> float:
    """One run's table; returns its total seconds."""
    load = os.getloadavg()
    print(f"\n## {label}  (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    print(f"{'stage':<24}{'seconds':>9}{'peak RSS MB':>13}  error")
    for stage in stages:
        error = (stage.error or "").splitlines()[0][:90] if stage.error else ""
        print(f"{stage.name:<24}{stage.seconds:>9.2f}{stage.peak_rss_mb:>13.0f}  {error}")
    total = sum(s.seconds for s in stages)
    print(f"{'total':<24}{total:>9.2f}{max(s.peak_rss_mb for s in stages):>13.0f}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", action="append", default=[], help="leave this kind out (repeatable)")
    parser.add_argument(
        "--work-dir", type=Path, help="keep the corpus and the warehouse here (must not exist)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or Path(tmp)
        started = time.perf_counter()
        cases = build_corpus(root / "landing", root / "outside")
        for case in cases:
            if case.kind in args.skip:
                for name in [*case.files, *case.links]:
                    (root / "landing" / name).unlink()
        kept = [c for c in cases if c.kind not in args.skip]
        size = sum(
            p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file() and not p.is_symlink()
        )
        print(
            f"corpus: {len(kept)} kinds, {source_records(kept)} source records, {size / 2**20:.1f} MB, "
            f"built in {time.perf_counter() - started:.1f} s"
            + (f" (skipped: {', '.join(args.skip)})" * bool(args.skip))
        )
        settings = local_settings(root, root / "landing")
        settings.ensure_dirs()
        first = print_run("first run (everything new)", run_pipeline(settings))
        second = print_run("second run (nothing new)", run_pipeline(settings))
        print(f"\nfirst run {first:.1f} s, second run {second:.1f} s")


if __name__ == "__main__":
    main()
