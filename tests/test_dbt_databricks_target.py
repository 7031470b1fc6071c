"""dbt on the ``databricks`` target, offline: ``dbt parse`` resolves the profile from environment variables
(no workspace is contacted) and every model of the project compiles into the manifest for the Databricks
adapter. The Spark-SQL dialect check of the models themselves belongs to the dbt project's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT

DBT = Path(sys.executable).parent / "dbt"


def _parse(target: str, target_path: Path, extra_env: dict[str, str]) -> dict:
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "FEEDBACK_OPS_WAREHOUSE": str(target_path / "unused.duckdb"),
        **extra_env,
    }
    result = subprocess.run(
        [
            str(DBT),
            "parse",
            "--target",
            target,
            "--project-dir",
            str(PROJECT_ROOT / "dbt"),
            "--profiles-dir",
            str(PROJECT_ROOT / "dbt"),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((target_path / "manifest.json").read_text())


def test_dbt_parse_for_databricks_works_offline_from_env_vars(tmp_path):
    placeholders = {
        "DATABRICKS_HOST": "adb-0000000000000000.0.azuredatabricks.net",
        "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/0000000000000000",
        "DATABRICKS_TOKEN": "placeholder-never-used",
        "DATABRICKS_CATALOG": "feedback_prod",
    }
    databricks = _parse("databricks", tmp_path / "databricks", placeholders)
    local = _parse("local", tmp_path / "local", {})
    assert databricks["metadata"]["adapter_type"] == "databricks"
    models = {k for k in databricks["nodes"] if k.startswith("model.")}
    assert models == {k for k in local["nodes"] if k.startswith("model.")}
    assert "model.feedback_ops.fct_feedback" in models
    # sources resolve in the configured Unity Catalog catalog
    raw = databricks["sources"]["source.feedback_ops.bronze.feedback_raw"]
    assert (raw["database"], raw["schema"]) == ("feedback_prod", "bronze")
