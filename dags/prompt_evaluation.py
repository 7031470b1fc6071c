"""
### prompt_evaluation — the enrichment backend measured on the golden set, weekly or on demand

Runs the configured enrichment backend (local models, or Azure OpenAI / an OpenAI-compatible endpoint) over
the frozen, human-labeled golden set in `include/golden/` and writes Markdown, HTML and JSON reports to
`.local/evaluation/`: per-category precision / recall / F1, sentiment macro-F1, urgent recall and urgent
false-positive rate, cost per 1,000 messages, median and p95 latency, confusion matrices.

`check_against_baseline` then fails the run when any category's F1, urgent recall or sentiment macro-F1
dropped (or the urgent false-positive rate rose) beyond the tolerance committed in
`include/golden/baseline_<backend>.json`, or when PII survived redaction. Trigger it by hand after changing
a prompt, a model or the taxonomy. Logic lives in `feedback_ops.evaluation`; this file only wires it.
A failed task alerts the operators.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from feedback_ops.dag_defaults import START_DATE, dag_default_args

default_args = dag_default_args(pool=None)


@task
def evaluate_golden_set() -> dict:
    """Run the configured backend on the golden set; write the reports."""
    from feedback_ops.evaluation.runner import evaluate_golden

    return evaluate_golden()


@task(retries=0)
def check_against_baseline(summary: dict) -> dict:
    """Fail when a figure moved the wrong way beyond its tolerance."""
    from feedback_ops.evaluation.runner import check_summary

    return check_summary(summary)


@dag(
    dag_id="prompt_evaluation",
    doc_md=__doc__,
    start_date=START_DATE,
    schedule="@weekly",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feedback-ops", "evaluation", "batch"],
)
def prompt_evaluation():
    check_against_baseline(evaluate_golden_set())


prompt_evaluation()
