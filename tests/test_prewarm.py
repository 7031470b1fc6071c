"""Warm task start: the scheduler imports the heavy libraries before forking tasks (``feedback_ops.ops.prewarm``)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.ops.prewarm import DEFAULT_MODULES, is_scheduler, modules_to_prewarm, prewarm


def test_modules_come_from_the_environment_and_an_empty_value_switches_prewarming_off():
    assert modules_to_prewarm({}) == DEFAULT_MODULES
    assert modules_to_prewarm({"FEEDBACK_OPS_PREWARM_MODULES": " duckdb, torch ,"}) == ("duckdb", "torch")
    assert modules_to_prewarm({"FEEDBACK_OPS_PREWARM_MODULES": ""}) == ()


def test_only_the_scheduler_process_prewarms():
    assert is_scheduler(["/opt/venv/bin/airflow", "scheduler"])
    assert not is_scheduler(["/opt/venv/bin/airflow", "triggerer"])
    assert not is_scheduler(["/opt/venv/bin/airflow", "dags", "test", "feedback_pipeline"])
    assert not is_scheduler(["pytest", "scheduler"])
    assert not is_scheduler(["airflow"])


def test_prewarm_imports_what_it_can_and_reports_what_it_cannot():
    sys.modules.pop("fractions", None)
    timings = prewarm(["fractions", "feedback_ops_no_such_module"])
    assert "fractions" in sys.modules and isinstance(timings["fractions"], float)
    assert timings["feedback_ops_no_such_module"].startswith("ModuleNotFoundError")


def _modules_after_local_settings(argv: list[str]) -> set[str]:
    """Which of two marker modules are loaded after importing the hook in a fresh interpreter as ``argv``."""
    code = (
        f"import sys; sys.argv = {argv!r}; import airflow_local_settings; "
        "print(sorted(m for m in ('fractions', 'wave') if m in sys.modules))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
        "FEEDBACK_OPS_PREWARM_MODULES": "fractions,wave",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))


def test_airflow_local_settings_prewarms_in_the_scheduler_only():
    assert _modules_after_local_settings(["/venv/bin/airflow", "scheduler"]) == {"fractions", "wave"}
    assert _modules_after_local_settings(["/venv/bin/airflow", "api-server"]) == set()
