"""Benchmark: landing -> alert latency of the urgent lane, with the real scheduler, triggerer and executor.

Starts ``airflow standalone`` the way ``make up`` does (same environment as the Makefile), but in its own
folders so it disturbs nobody: ``.local/bench_urgent/`` holds its Airflow home, warehouse, landing folder and
alert log, and the API listens on port 8093. Only ``urgent_lane`` is unpaused. It drops one warm-up file,
then ``--drops`` files one after another (each: one urgent record and two calm ones, written beside the
landing folder and renamed into it, as an export tool would), and times each from the rename to the line in
the alert log that names the urgent record. Prints p50 / p95 / max (target: p95 <= 60 s), then where the time
went — median per phase, read from Airflow's metadata database: landing -> asset event (the trigger's poll
and the file's stability check), asset event -> run start (the scheduler), then each task's queue wait and
run time — and stops Airflow.

    PYTHONPATH=plugins .venv/bin/python bench/bench_urgent_lane.py --drops 8

``--use-running`` measures an Airflow you started yourself (``make up``) instead: then the landing folder and
alert log are those of its settings (set ``FEEDBACK_OPS_LANDING_DIR`` to a scratch folder for ``make up``:
the benchmark writes files into it and removes them after).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT, get_settings

BENCH_DIR = PROJECT_ROOT / ".local" / "bench_urgent"
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
PORT = "8093"
URGENT_TEXTS = (
    "I was charged twice for order {n} and the payment failed again, fix it now",
    "Charged me twice for my subscription ({n}), I want a refund immediately",
    "The app crashes at checkout every time, checkout is failing for order {n}",
    "Double charged on invoice {n}, this is unacceptable",
)


def airflow_env(bench_dir: Path) -> dict[str, str]:
    """The Makefile's environment for Airflow, with every folder under ``bench_dir``."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(bench_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__API__PORT": PORT,
        # task supervisors reach the API server here (its default assumes port 8080)
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{PORT}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(bench_dir / "airflow" / "passwords.json"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "FEEDBACK_OPS_LOCAL_DIR": str(bench_dir),
        "FEEDBACK_OPS_LANDING_DIR": str(bench_dir / "landing"),
        "FEEDBACK_OPS_URGENT_POLL_S": "1",
        # the trained local classifiers of the project (trained once; a fresh folder would train them again)
        "FEEDBACK_OPS_MODELS_DIR": str(PROJECT_ROOT / ".local" / "models"),
    }


def start_airflow(bench_dir: Path) -> subprocess.Popen:
    """Fresh Airflow home: migrate, create the ``warehouse`` pool, start standalone, unpause urgent_lane."""
    shutil.rmtree(bench_dir, ignore_errors=True)
    (bench_dir / "landing").mkdir(parents=True)
    env = airflow_env(bench_dir)
    log = (bench_dir / "airflow_standalone.log").open("w")
    subprocess.run([VENV_BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [VENV_BIN / "airflow", "pools", "set", "warehouse", "1", "DuckDB: one writer"],
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [VENV_BIN / "airflow", "standalone"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Unpaused, the DAG's asset watcher starts in the triggerer, whose first poll writes the ledger (the
    # baseline): only files dropped after that are arrivals. `dags unpause` fails until the DAG is parsed.
    ledger = bench_dir / "lanes" / "urgent_landing_ledger.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        subprocess.run([VENV_BIN / "airflow", "dags", "unpause", "urgent_lane"], env=env, capture_output=True)
        for _ in range(15):
            if ledger.exists():
                return process
            time.sleep(1)
    stop_airflow(process)
    raise RuntimeError(f"the urgent lane's watcher never started; see {bench_dir / 'airflow_standalone.log'}")


def stop_airflow(process: subprocess.Popen) -> None:
    """Stop the standalone process group this benchmark started (and only it)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def drop_file(landing: Path, n: int) -> tuple[str, Path]:
    """Write an export beside the landing folder and rename it in (atomic); returns the urgent record's id."""
    record_id = f"BENCH-{uuid.uuid4().hex[:10]}"
    records = [
        {
            "source_record_id": record_id,
            "channel": "support_ticket",
            "text": URGENT_TEXTS[n % len(URGENT_TEXTS)].format(n=n),
            "created_at": "2026-11-28T10:00:00Z",
            "product_area": "checkout",
        },
        {
            "source_record_id": f"{record_id}-a",
            "channel": "review",
            "text": f"Nice colours, build {n}.",
            "created_at": "2026-11-28T10:00:00Z",
        },
        {
            "source_record_id": f"{record_id}-b",
            "channel": "survey",
            "text": f"Fine overall, visit {n}.",
            "created_at": "2026-11-28T10:00:00Z",
        },
    ]
    staging = landing.parent / f".{record_id}.jsonl.part"
    staging.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    target = landing / f"bench_{record_id}.jsonl"
    staging.replace(target)
    return record_id, target


def wait_for_alert(alert_log: Path, record_id: str, timeout_s: float) -> float | None:
    """Monotonic time when an urgent-item alert naming ``record_id`` appears in the log; None on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alert_log.exists():
            for line in alert_log.read_text(encoding="utf-8").splitlines():
                if record_id in line and '"urgent_item"' in line:
                    return time.monotonic()
        time.sleep(0.2)
    return None


def _utc(value: str | None) -> float | None:
    """Seconds since the epoch of a timestamp as Airflow's SQLite database stores it (UTC, no offset)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC).timestamp()


def phase_breakdown(airflow_db: Path, landed_at: list[float]) -> dict[str, list[float]]:
    """Seconds per phase for each urgent_lane run started after a drop (wall-clock times in ``landed_at``).

    Phases: ``landing -> asset event``, ``asset event -> run start``, then per task ``<task> queued`` (run
    start or the previous task's end -> task start) and ``<task> ran``. Runs are matched to drops in order.
    """
    phases: dict[str, list[float]] = {}
    with sqlite3.connect(airflow_db) as db:
        runs = db.execute(
            "select run_id, queued_at, start_date from dag_run where dag_id = 'urgent_lane' order by queued_at"
        ).fetchall()
        events = [_utc(row[0]) for row in db.execute("select timestamp from asset_event order by timestamp")]
        for landed in landed_at:
            event = next((t for t in events if t is not None and t >= landed), None)
            run = next((r for r in runs if (_utc(r[1]) or 0) >= (event or landed)), None)
            if event is None or run is None:
                continue
            runs.remove(run)
            phases.setdefault("landing -> asset event", []).append(event - landed)
            previous_end = _utc(run[2])
            phases.setdefault("asset event -> run start", []).append(previous_end - event)
            tasks = db.execute(
                "select task_id, start_date, end_date from task_instance where dag_id = 'urgent_lane' "
                "and run_id = ? and start_date is not null order by start_date",
                (run[0],),
            ).fetchall()
            for task_id, start, end in tasks:
                started, ended = _utc(start), _utc(end)
                if started is None or ended is None:
                    continue
                phases.setdefault(f"{task_id} queued", []).append(started - previous_end)
                phases.setdefault(f"{task_id} ran", []).append(ended - started)
                previous_end = ended
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=300.0, help="per drop")
    parser.add_argument("--use-running", action="store_true", help="measure an Airflow started with make up")
    args = parser.parse_args()

    process = None
    if args.use_running:
        settings = get_settings()
        landing, alert_log = settings.landing_dir, settings.alert_log
    else:
        print(f"starting airflow standalone in {BENCH_DIR} (port {PORT}) ...", flush=True)
        process = start_airflow(BENCH_DIR)
        landing, alert_log = BENCH_DIR / "landing", BENCH_DIR / "alerts.jsonl"
    dropped: list[Path] = []
    latencies: list[float] = []
    landed_wall: list[float] = []
    try:
        for n in range(args.drops + 1):
            record_id, path = drop_file(landing, n)
            dropped.append(path)
            landed = time.monotonic()
            if n > 0:
                landed_wall.append(time.time())
            seen = wait_for_alert(alert_log, record_id, args.timeout_s)
            label = "warm-up" if n == 0 else f"drop {n}"
            if seen is None:
                print(f"{label}: no alert within {args.timeout_s:.0f} s", flush=True)
                continue
            print(f"{label}: landing -> alert {seen - landed:.1f} s", flush=True)
            if n > 0:
                latencies.append(seen - landed)
        airflow_db = (
            BENCH_DIR / "airflow" / "airflow.db"
            if process is not None
            else Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / ".local" / "airflow")) / "airflow.db"
        )
        breakdown = phase_breakdown(airflow_db, landed_wall) if airflow_db.exists() else {}
    finally:
        if args.use_running:
            for path in dropped:
                path.unlink(missing_ok=True)
        if process is not None:
            stop_airflow(process)
    report(latencies, args.drops, breakdown)


def report(latencies: list[float], drops: int, breakdown: dict[str, list[float]]) -> None:
    """Print the latency percentiles and the median time per phase."""
    if not latencies:
        sys.exit("no alert arrived: see the Airflow log")
    ordered = sorted(latencies)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank
    print(
        f"urgent lane, {len(latencies)}/{drops} drops alerted: landing -> alert "
        f"p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s, max {ordered[-1]:.1f} s "
        f"(target p95 <= 60 s)"
    )
    if breakdown:
        print("median seconds per phase (Airflow metadata):")
        for phase, values in breakdown.items():
            print(
                f"  {phase:<32} {statistics.median(values):6.1f}  (max {max(values):.1f}, {len(values)} runs)"
            )
    print(f"load average: {os.getloadavg()[0]:.1f} (other processes slow every figure)")


if __name__ == "__main__":
    main()
