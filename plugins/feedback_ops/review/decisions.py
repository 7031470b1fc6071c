"""Reviewer decisions: accept the model's labels or correct them, validated against the taxonomy.

A decision is appended to ``enrichment.review_decisions`` with the reviewer, the time, the labels the
reviewer settled on, and the labels and model / prompt / taxonomy versions of the enrichment row that was
reviewed. Model output in ``enrichment.feedback_enrichment`` is never changed: gold (``fct_feedback``) applies
the latest decision per item as an override and keeps the model's labels beside it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from feedback_ops.config import Settings
from feedback_ops.enrich.taxonomy import URGENCY_LEVELS, load_taxonomy
from feedback_ops.warehouse.base import Warehouse

ReviewAction = Literal["accept", "correct"]
REVIEW_ACTIONS: tuple[ReviewAction, ...] = ("accept", "correct")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
DECISION_NAMESPACE = uuid.UUID("6f1d4a52-3c1e-4e0b-9a57-2f7f4f3b9d10")

ENRICHMENT_SQL = """
    select
        feedback_id, enrichment_version, text_hash, category, sentiment_label, urgency, confidence,
        model_name, model_version, prompt_version, taxonomy_version
    from enrichment.feedback_enrichment
    where feedback_id = ? and (cast(? as varchar) is null or enrichment_version = ?)
    order by enriched_at desc, enrichment_version desc
    limit 1
"""


class ReviewError(ValueError):
    """A decision that cannot be recorded: unknown item, label outside the taxonomy, nothing to correct."""


@dataclass(frozen=True)
class ReviewDecision:
    """One row of ``enrichment.review_decisions``."""

    decision_id: str
    feedback_id: str
    enrichment_version: str
    text_hash: str | None
    reviewer: str
    decided_at: datetime
    action: str
    category: str
    sentiment_label: str
    urgency: str
    note: str | None
    model_category: str
    model_sentiment_label: str
    model_urgency: str
    model_confidence: float | None
    model_name: str | None
    model_version: str | None
    prompt_version: str | None
    taxonomy_version: str | None

    def as_dict(self) -> dict[str, Any]:
        """The row as a dict (column -> value)."""
        return asdict(self)


@dataclass(frozen=True)
class ReviewedLabels:
    """The labels a reviewer sets; None keeps the model's label."""

    category: str | None = None
    sentiment_label: str | None = None
    urgency: str | None = None


def validate_labels(labels: ReviewedLabels, settings: Settings) -> None:
    """Check each given label against the current taxonomy and the label sets.

    Raises:
        ReviewError: a label outside its set (the message lists the valid values).
    """
    categories = sorted(load_taxonomy(settings.taxonomy_path).category_ids)
    checks = (
        ("category", labels.category, categories),
        ("sentiment", labels.sentiment_label, list(SENTIMENT_LABELS)),
        ("urgency", labels.urgency, list(URGENCY_LEVELS)),
    )
    for name, value, allowed in checks:
        if value is not None and value not in allowed:
            raise ReviewError(f"{name} {value!r} is not one of {', '.join(allowed)}")


def _enrichment_row(warehouse: Warehouse, feedback_id: str, enrichment_version: str | None) -> dict[str, Any]:
    frame = warehouse.query_df(ENRICHMENT_SQL, [feedback_id, enrichment_version, enrichment_version])
    if frame.empty:
        version = f" at enrichment version {enrichment_version}" if enrichment_version else ""
        raise ReviewError(f"feedback item {feedback_id!r} has no enrichment{version} to review")
    return frame.astype(object).where(frame.notna(), None).to_dict("records")[0]


def _final_labels(action: str, labels: ReviewedLabels, model: dict[str, Any]) -> dict[str, str]:
    given = {k: v for k, v in asdict(labels).items() if v is not None}
    if action == "accept":
        if given:
            raise ReviewError("accept takes the model's labels as they are; use correct to change them")
        return {k: model[k] for k in ("category", "sentiment_label", "urgency")}
    if action != "correct":
        raise ReviewError(f"action {action!r} is not one of {', '.join(REVIEW_ACTIONS)}")
    final = {k: given.get(k, model[k]) for k in ("category", "sentiment_label", "urgency")}
    if all(final[k] == model[k] for k in final):
        raise ReviewError("the correction changes no label: use accept")
    return final


def record_decision(
    warehouse: Warehouse,
    settings: Settings,
    feedback_id: str,
    action: str,
    reviewer: str,
    labels: ReviewedLabels | None = None,
    *,
    note: str | None = None,
    enrichment_version: str | None = None,
    decided_at: datetime | None = None,
) -> ReviewDecision:
    """Validate and append one reviewer decision; the model's enrichment row is left as it is.

    Args:
        feedback_id: the reviewed item.
        action: ``accept`` (the model's labels are right) or ``correct`` (``labels`` replace some of them).
        reviewer: who decided (required: decisions are attributable).
        labels: for ``correct``, the labels that change (others keep the model's value).
        enrichment_version: the enrichment row reviewed (the queue's); None = the item's latest.
        decided_at: when (UTC, naive); None = now.

    Raises:
        ReviewError: no reviewer, an unknown item, a label outside the taxonomy, a correction that changes
            nothing, or labels given with ``accept``.
    """
    if not reviewer or not reviewer.strip():
        raise ReviewError("a decision needs a reviewer name")
    labels = labels or ReviewedLabels()
    validate_labels(labels, settings)
    model = _enrichment_row(warehouse, feedback_id, enrichment_version)
    final = _final_labels(action, labels, model)
    when = decided_at or datetime.now(UTC).replace(tzinfo=None)
    key = f"{feedback_id}|{model['enrichment_version']}|{reviewer.strip()}|{when.isoformat()}"
    decision = ReviewDecision(
        decision_id=str(uuid.uuid5(DECISION_NAMESPACE, key)),
        feedback_id=feedback_id,
        enrichment_version=model["enrichment_version"],
        text_hash=model["text_hash"],
        reviewer=reviewer.strip(),
        decided_at=when,
        action=action,
        note=(note or "").strip() or None,
        model_category=model["category"],
        model_sentiment_label=model["sentiment_label"],
        model_urgency=model["urgency"],
        model_confidence=model["confidence"],
        model_name=model["model_name"],
        model_version=model["model_version"],
        prompt_version=model["prompt_version"],
        taxonomy_version=model["taxonomy_version"],
        **final,
    )
    import pandas as pd

    warehouse.append("enrichment.review_decisions", pd.DataFrame([decision.as_dict()]))
    return decision
