"""Operator actions on parked files, with their pipeline-health incidents: what the pipeline, the CLI
(``feedback-ops files``) and the ``file_actions`` DAG call.

``feedback_ops.ingest.parked_files`` finds, parks, releases and drops files in the warehouse; this module adds
what the operators see: a parked file raises a ``file_parked`` incident, and releasing or dropping it resolves
that incident (so a file parked again alerts again at once).
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import Settings
from feedback_ops.ingest.parked_files import (
    ACTIONS,
    FileActionError,
    ParkedFile,
    drop_file,
    find_broken_files,
    json_ready,
    list_files,
    park_files,
    release_file,
)
from feedback_ops.warehouse.base import Warehouse

RESOLUTION_NOTES = {
    "released": "released: the next run validates the file again",
    "dropped": "dropped: its rows are accounted as dropped",
}


def park_broken_files(settings: Settings) -> list[ParkedFile]:
    """After a silver build: park every file over the quarantine threshold and alert the operators.

    Returns the files parked now (empty when none broke its contract); the caller rebuilds silver when it is
    not empty, so rows that repeated a parked file's records are classified again.
    """
    from feedback_ops.alerts.pipeline_health import parked_file_signal, raise_health_signals
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(settings) as warehouse:
        if not warehouse.table_exists("silver.int_feedback_quarantined"):
            return []
        broken = find_broken_files(
            warehouse, settings.file_park_quarantine_share, settings.file_park_min_rows
        )
        parked = park_files(warehouse, broken)
        if parked:
            raise_health_signals(warehouse, settings, [parked_file_signal(file) for file in parked])
    return parked


def apply_file_action(
    action: str, ref: str | None = None, actor: str = "operator", settings: Settings | None = None
) -> dict[str, Any]:
    """``list``, ``release`` or ``drop`` (one file, by name or checksum): what the CLI and the DAG call.

    Returns ``{"files": [...]}`` for ``list``, else the file, the action taken and a message.
    """
    from feedback_ops.config import get_settings
    from feedback_ops.warehouse import open_warehouse

    if action not in ACTIONS:
        raise FileActionError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    settings = settings or get_settings()
    with open_warehouse(settings) as warehouse:
        if action == "list":
            return {"files": [json_ready(row) for row in list_files(warehouse)]}
        act = release_file if action == "release" else drop_file
        done = act(warehouse, ref or "", actor)
        if done["action"] in RESOLUTION_NOTES:
            _resolve_incident(warehouse, done, actor, RESOLUTION_NOTES[done["action"]])
        return done


def _resolve_incident(warehouse: Warehouse, found: dict[str, Any], actor: str, note: str) -> None:
    from feedback_ops.alerts.pipeline_health import resolve_parked_file_incident

    resolve_parked_file_incident(warehouse, found["source_file"], found["file_checksum"], actor, note)
