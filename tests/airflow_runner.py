"""Run the real ``feedback_pipeline`` DAG with ``airflow dags test`` in a throwaway Airflow home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def airflow_env(root: Path, landing_dir: Path) -> dict[str, str]:
    """Environment for Airflow and the pipeline with all state under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FEEDBACK_OPS"))}
    env.update(
        {
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "FEEDBACK_OPS_LOCAL_DIR": str(root / ".local"),
            "FEEDBACK_OPS_LANDING_DIR": str(landing_dir),
            # Share the trained local models with the developer's checkout instead of retraining per test.
            "FEEDBACK_OPS_MODELS_DIR": str(PROJECT_ROOT / ".local" / "models"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
        }
    )
    return env


def init_airflow(env: dict[str, str]) -> None:
    """Create the metadata database and the one-slot warehouse pool."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True)
    subprocess.run(
        [AIRFLOW, "pools", "set", "warehouse", "1", "warehouse writers"],
        env=env,
        check=True,
        capture_output=True,
    )


def run_dag(
    env: dict[str, str], logical_date: str = "2026-11-22T00:00:00+00:00"
) -> subprocess.CompletedProcess:
    """``airflow dags test feedback_pipeline``; the output is kept for assertions and printed on failure."""
    return subprocess.run(
        [AIRFLOW, "dags", "test", "feedback_pipeline", logical_date],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
