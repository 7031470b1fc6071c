"""The review queue as reviewers see it: ``gold.rpt_review_queue`` minus what was decided since gold was built.

The mart is rebuilt by the gold stage; a decision recorded after that removes the item from what the terminal
and the web page show straight away (same rule as the mart: a decision at the item's enrichment version).
"""

from __future__ import annotations

from typing import Any

from feedback_ops.warehouse.base import Warehouse

QUEUE_TABLE = "gold.rpt_review_queue"
QUEUE_SQL = f"""
    select q.*
    from {QUEUE_TABLE} as q
    where not exists (
        select 1 from enrichment.review_decisions as d
        where d.feedback_id = q.feedback_id and d.enrichment_version = q.enrichment_version
    )
    and (cast(? as varchar) is null or q.review_reason = ?)
    order by q.review_priority, q.created_at desc, q.feedback_id
    limit ?
"""
ITEM_SQL = """
    select
        feedback_id, channel, product_area, created_at, redacted_text, category, sentiment_label, urgency,
        model_category, model_sentiment_label, model_urgency, confidence, needs_review, is_reviewed,
        enrichment_version, model_name, model_version, prompt_version, taxonomy_version
    from gold.fct_feedback
    where feedback_id = ?
"""
DECISIONS_SQL = """
    select decision_id, enrichment_version, reviewer, decided_at, action, category, sentiment_label, urgency, note
    from enrichment.review_decisions where feedback_id = ? order by decided_at desc, decision_id desc
"""


class QueueNotBuiltError(RuntimeError):
    """The gold review queue does not exist yet: run the gold stage (``feedback-ops run --stage build_gold``)."""


def _records(frame: Any) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def list_queue(warehouse: Warehouse, limit: int = 50, reason: str | None = None) -> list[dict[str, Any]]:
    """Items awaiting review, most pressing first (needs_review, then low confidence, then sampled).

    Raises:
        QueueNotBuiltError: gold has not been built.
    """
    if not warehouse.table_exists(QUEUE_TABLE):
        raise QueueNotBuiltError(f"{QUEUE_TABLE} does not exist: run `feedback-ops run --stage build_gold`")
    return _records(warehouse.query_df(QUEUE_SQL, [reason, reason, limit]))


def get_item(warehouse: Warehouse, feedback_id: str) -> dict[str, Any] | None:
    """One item of ``gold.fct_feedback`` with its review history (``decisions``, newest first), or None."""
    if not warehouse.table_exists("gold.fct_feedback"):
        raise QueueNotBuiltError(
            "gold.fct_feedback does not exist: run `feedback-ops run --stage build_gold`"
        )
    rows = _records(warehouse.query_df(ITEM_SQL, [feedback_id]))
    if not rows:
        return None
    return {**rows[0], "decisions": _records(warehouse.query_df(DECISIONS_SQL, [feedback_id]))}
