"""Run the dbt project in-process (``dbtRunner``) with the runtime's target and paths.

Used by the DAG's silver and gold tasks, the urgent lane, the Spark check and the CLI; a failing model or data
test raises :class:`DbtBuildFailed` naming the failed nodes and their messages. Also the one owner of what
those callers pass to dbt: the vars of every command (``dbt_vars``), silver's one-time ``--full-refresh``
(``silver_refresh_args``) and the empty pre-run of the incremental gold marts
(``create_missing_incremental_marts``, ``create_empty_incremental_marts``).
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


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars of every dbt command the pipeline and the lanes run (silver, gold, source freshness, docs):
    the current enrichment and rich-pass versions, the spike threshold, ``fct_feedback``'s look-back and how far
    past its load a record's ``created_at`` may be before silver quarantines it (``future_created_at``).

    The same vars on every command, even those that read none of them (silver, source freshness): dbt keeps
    its parsed project between commands (partial parsing, ``partial_parse.msgpack`` in the target folder) only
    while the vars stay the same, and re-parses all of it when they change: 4-9 s per command on 2 cores.
    """
    from feedback_ops.enrich.versions import current_enrichment_version, current_rich_version

    return {
        "enrichment_version": current_enrichment_version(settings),
        "rich_version": current_rich_version(settings),
        "spike_min_volume": settings.spike_min_volume,
        "fct_feedback_lookback_minutes": settings.fct_feedback_lookback_minutes,
        "future_created_at_tolerance_hours": settings.future_created_at_tolerance_hours,
    }


def silver_refresh_args(settings: Settings) -> list[str]:
    """``--full-refresh`` once for silver tables built before they were incremental, else nothing.

    Silver's tables classify only the bronze rows none of them holds yet (``dbt/macros/incremental/
    silver_incremental.sql``), and the deduplicated table orders an item's new occurrences against the row it
    keeps by ``line_number``, a column its earlier full rebuilds did not write: such a table is rebuilt whole
    on the first build after the upgrade, instead of failing on the missing column.
    """
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        if not warehouse.table_exists("silver.int_feedback_deduplicated"):
            return []
        columns = warehouse.query_df("select * from silver.int_feedback_deduplicated limit 0").columns
    return [] if "line_number" in columns else ["--full-refresh"]


INCREMENTAL_GOLD = "+config.materialized:incremental,tag:gold"
"""The incremental gold marts with their gold-tagged parents (the enrichment / alerts staging views, rebuilt
in full by the build that follows); never silver's tables, which an ``--empty`` run would empty."""


def create_missing_incremental_marts(settings: Settings, gold_vars: dict[str, Any]) -> None:
    """Create the incremental gold marts empty on a first build (``gold.fct_feedback`` does not exist yet in
    the warehouse): see ``create_empty_incremental_marts``."""
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        missing = not warehouse.table_exists("gold.fct_feedback")
    if missing:
        create_empty_incremental_marts(settings, gold_vars)


def create_empty_incremental_marts(settings: Settings, gold_vars: dict[str, Any]) -> None:
    """Create the incremental gold marts empty: dbt runs a unit test that mocks an incremental model's existing
    table (``input: this``) before the model, and fails when the table does not exist yet (dbt's documented
    workaround is a ``--empty`` run first; the build then fills the table)."""
    run_dbt("run", settings, select=INCREMENTAL_GOLD, dbt_vars=gold_vars, extra_args=["--empty"])
