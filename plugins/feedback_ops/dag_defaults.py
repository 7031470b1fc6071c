"""What every DAG of the project shares: owner, retries, the operators' failure alert, the start date.

Imported by the DAG files at parse time, so it imports nothing beyond the standard library: the failure
callback loads the alert machinery (``feedback_ops.alerts.pipeline_health``) only when a task has failed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

OWNER = "feedback-ops"
START_DATE = datetime(2026, 11, 1, tzinfo=UTC)
"""The static, timezone-aware start date of every DAG (none of them catches up)."""
WAREHOUSE_POOL = "warehouse"
"""The one-slot pool of the tasks that write the warehouse: DuckDB allows one writing process."""


def alert_operators_on_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every task: one operators' alert per failed gate or task (never raises).

    See :func:`feedback_ops.alerts.pipeline_health.on_task_failure`.
    """
    from feedback_ops.alerts.pipeline_health import on_task_failure

    on_task_failure(context)


def dag_default_args(
    *, retries: int = 1, retry_delay: timedelta = timedelta(minutes=5), pool: str | None = WAREHOUSE_POOL
) -> dict[str, Any]:
    """The ``default_args`` of a DAG: the project's owner, retries and the failure alert to the operators.

    Args:
        retries: attempts after the first failure (a task may lower it, e.g. a gate to 0).
        retry_delay: the wait between attempts.
        pool: the pool of every task; the warehouse pool by default, None for a DAG that writes no warehouse.
    """
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "on_failure_callback": alert_operators_on_failure,
    }
    if pool:
        args["pool"] = pool
    return args
