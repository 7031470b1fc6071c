"""Warm task start: the Airflow scheduler imports the heavy libraries once, before it forks task processes.

Why: with the LocalExecutor (``make up``, ``docker-compose.yaml``) every task runs in a process forked from the
scheduler's executor workers, and then imports what it needs: dbt (a silver build), torch, transformers and
Lingua (the enrichment's local models). On two busy cores those imports took 10-30 s per task — most of the
urgent lane's landing-to-alert time (``bench/bench_urgent_lane.py`` prints the time per phase). Imported once
in the scheduler, they are already in memory in every forked task, shared copy-on-write.

Only imports: no model is loaded and no thread pool started before the fork (torch and Lingua start their
thread pools on first use, in the task). Switched off with ``FEEDBACK_OPS_PREWARM_MODULES=`` (empty); on
executors that start tasks elsewhere (Celery, Kubernetes) it only costs the scheduler a few seconds at start.
Called from ``plugins/airflow_local_settings.py``, the hook Airflow imports in each of its processes.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

DEFAULT_MODULES = (
    "duckdb",
    "pandas",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "great_expectations",
    "torch",
    "transformers.modeling_utils",
    "transformers.models.bert.modeling_bert",
    "sentence_transformers",
    "lingua",
    "sklearn.linear_model",
)
"""What the project's tasks import that takes seconds: the dbt runner, GX, the local models' libraries."""


def modules_to_prewarm(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """``FEEDBACK_OPS_PREWARM_MODULES`` (comma-separated; empty switches prewarming off) or the defaults."""
    value = (os.environ if environ is None else environ).get("FEEDBACK_OPS_PREWARM_MODULES")
    if value is None:
        return DEFAULT_MODULES
    return tuple(name.strip() for name in value.split(",") if name.strip())


def is_scheduler(argv: Sequence[str]) -> bool:
    """Whether this process is ``airflow scheduler`` (the parent of the LocalExecutor's task processes)."""
    return len(argv) >= 2 and os.path.basename(argv[0]) == "airflow" and argv[1] == "scheduler"


def prewarm(modules: Sequence[str]) -> dict[str, float | str]:
    """Import ``modules``; returns seconds per module, or the error for a module that failed to import.

    Never raises: a module that cannot be imported here fails (clearly) in the task that needs it instead.
    """
    timings: dict[str, float | str] = {}
    for name in modules:
        started = time.perf_counter()
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - reported, the scheduler must start anyway
            timings[name] = f"{type(error).__name__}: {error}"
            log.warning("prewarm: could not import %s: %s", name, error)
            continue
        timings[name] = round(time.perf_counter() - started, 2)
    log.info("prewarm: imported for forked tasks: %s", timings)
    return timings
