"""Run the dbt project in-process (``dbtRunner``) with the runtime's target and paths.

Used by the DAG's silver and gold tasks and by the CLI; a failing model or data test raises
:class:`DbtBuildFailed` naming the failed nodes and their messages.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from feedback_ops.config import Settings


class DbtBuildFailed(RuntimeError):
    """A dbt command failed; the message lists each failed node."""


@dataclass
class DbtResult:
    """The outcome of one dbt command: node status counts."""

    command: str
    selector: str | None
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "selector": self.selector, "counts": self.counts}


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Environment variables the dbt profile reads (``env_var()`` in ``dbt/profiles.yml``); on the databricks
    target also the workspace's (``DATABRICKS_*``, from the environment or the Airflow connection); on the
    spark target the folder of the local Spark session's warehouse and metastore."""
    environment = {
        "FEEDBACK_OPS_WAREHOUSE": str(settings.warehouse_path),
        "FEEDBACK_OPS_SPARK_DIR": str(settings.local_dir / "spark"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if settings.dbt_target == "databricks":
        from feedback_ops.warehouse.databricks_warehouse import databricks_profile_environment

        environment.update(databricks_profile_environment(settings))
    return environment


def _node_results(result: Any) -> list[Any]:
    return list(getattr(result.result, "results", None) or [])


def run_dbt(
    command: str,
    settings: Settings,
    select: str | None = None,
    dbt_vars: dict[str, Any] | None = None,
    extra_args: list[str] | None = None,
) -> DbtResult:
    """Invoke one dbt command (``build``, ``run``, ``test``, ``docs generate``…) against the configured target.

    Raises:
        DbtBuildFailed: dbt reported an error or a failing test.
    """
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment(settings))
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    args = [
        *command.split(),
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_profiles_dir),
        "--target", settings.dbt_target,
        "--target-path", str(settings.dbt_target_dir),
        "--log-path", str(settings.dbt_target_dir.parent / "logs"),
    ]  # fmt: skip
    if select:
        args += ["--select", select]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    args += extra_args or []
    result = dbtRunner().invoke(args)
    counts: dict[str, int] = {}
    failures = []
    for node in _node_results(result):
        status = str(getattr(node.status, "value", node.status))
        counts[status] = counts.get(status, 0) + 1
        if status in {"error", "fail", "runtime error"}:
            failures.append(f"{node.node.unique_id}: {status}: {node.message}")
    if not result.success:
        detail = "\n".join(failures) or str(result.exception)
        raise DbtBuildFailed(
            f"dbt {command} --select {select} failed on target {settings.dbt_target}:\n{detail}"
        )
    return DbtResult(command=command, selector=select, counts=counts)
