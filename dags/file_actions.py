"""
### file_actions — see, release or drop the landing files the pipeline parked

A landing file that breaks its contract (more than `FEEDBACK_OPS_FILE_PARK_QUARANTINE_SHARE` of its rows
quarantined: a semicolon-separated CSV, a CSV without a text column, binary bytes) is **parked** after the
silver build: its rows stay in bronze and go no further, the operators get an alert, every other file flows
on. Trigger this DAG with the parameters:

- `action`: `list` (every loaded file with rows, status loaded / parked / released / dropped, reason),
  `release` (the next pipeline run classifies and validates the file's rows again; still broken, it is parked
  again) or `drop` (its rows are counted as dropped, and the same file is never loaded again);
- `file`: the file's name as listed, or its checksum (8+ characters), for `release` and `drop`;
- `by`: who acts, stored with the file.

The same as `feedback-ops files list|release|drop`. Shares the one-slot `warehouse` pool with
`feedback_pipeline`. Logic lives in `feedback_ops.ingest.parked_files`; this file only wires it. A failed task alerts the operators.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from feedback_ops.dag_defaults import START_DATE, dag_default_args

default_args = dag_default_args(retry_delay=timedelta(seconds=30))


@task
def apply_file_action(params=None) -> dict:
    """List the loaded files, or release / drop one (idempotent: a retry changes nothing more)."""
    from feedback_ops.ops.file_actions import apply_file_action as act

    return act(params["action"], params.get("file"), actor=params.get("by") or "airflow")


@dag(
    dag_id="file_actions",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={
        "action": Param("list", type="string", enum=["list", "release", "drop"]),
        "file": Param("", type="string", description="file name or checksum (release, drop)"),
        "by": Param("airflow", type="string", description="who acts"),
    },
    tags=["feedback-ops", "operations"],
)
def file_actions():
    apply_file_action()


file_actions()
