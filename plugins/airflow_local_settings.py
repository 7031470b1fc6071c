"""Airflow's local-settings hook (imported by every Airflow process that finds it on ``sys.path``).

Feedback Ops uses it for one thing: in the scheduler, import the heavy libraries the tasks use before the
LocalExecutor forks task processes, so a task starts in a second instead of half a minute
(``feedback_ops.ops.prewarm`` explains why and how to switch it off). Other processes are untouched.
"""

from __future__ import annotations

import sys

__all__: list[str] = []  # Airflow copies this module's public names into airflow.settings: there are none


def _prewarm_scheduler() -> None:
    from feedback_ops.ops.prewarm import is_scheduler, modules_to_prewarm, prewarm

    if is_scheduler(sys.argv):
        prewarm(modules_to_prewarm())


_prewarm_scheduler()
