"""Typed records of the enrich stage: what goes in (``FeedbackItem``) and what comes out (``EnrichmentResult``).

``EnrichmentResult`` has exactly the columns of ``enrichment.feedback_enrichment`` (docs/data-model.md) except
``enriched_at``, which the writer sets from the run. Labels are ``Literal``s, scores are bounded, and the
category must belong to the taxonomy: pass it as validation context
(``EnrichmentResult.model_validate(row, context={"taxonomy": taxonomy})``); without context the taxonomy of
the process settings is used. Output that fails validation is never written as if valid.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_serializer, field_validator

from feedback_ops.config import CHANNELS
from feedback_ops.enrich.taxonomy import Taxonomy, Urgency, load_taxonomy

SentimentLabel = Literal["negative", "neutral", "positive"]
Lane = Literal["urgent", "micro_batch", "batch"]


def enrichment_version_of(model_version: str, prompt_version: str, taxonomy_version: str) -> str:
    """The ``enrichment_version`` of a backend: a hash of its model, prompt and taxonomy versions (one
    enrichment row per item and value of this)."""
    joined = f"{model_version}|{prompt_version}|{taxonomy_version}"
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def lane_for(urgency: Urgency) -> Lane:
    """The lane an item of this urgency is enriched in: ``urgent`` for high and critical, else ``micro_batch``."""
    return "urgent" if urgency in ("high", "critical") else "micro_batch"


class FeedbackItem(BaseModel):
    """One silver feedback item to enrich (``silver.int_feedback_deduplicated``; ``text`` is ``feedback_text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback_id: str = Field(min_length=1)
    text_hash: str = Field(min_length=1)
    text: str
    channel: str
    severity: str | None = None
    rating: float | None = None
    product_area: str | None = None
    locale: str | None = None

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, channel: str) -> str:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
        return channel


class EnrichmentResult(BaseModel):
    """One row of ``enrichment.feedback_enrichment`` (without ``enriched_at``).

    ``model_dump()`` gives the row to write: ``redaction_counts`` is serialized to its JSON text column.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback_id: str = Field(min_length=1)
    enrichment_version: str = Field(min_length=1)
    text_hash: str = Field(min_length=1)
    redacted_text: str
    redaction_counts: dict[str, int]
    language: str = Field(pattern=r"^(und|[a-z]{2,3}(-[a-z]{2})?)$")
    language_confidence: float = Field(ge=0.0, le=1.0)
    category: str
    sentiment_label: SentimentLabel
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    urgency: Urgency
    confidence: float = Field(ge=0.0, le=1.0)
    needs_review: bool
    lane: Lane
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    prompt_version: str = Field(min_length=1)
    taxonomy_version: str = Field(min_length=1)
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    cost_usd: float = Field(ge=0.0)
    latency_ms: float = Field(ge=0.0)
    enrichment_notes: str | None = None
    """What a reader of the labels should know, in words (e.g. the local models do not support the text's
    language, so the labels are low-confidence); None when there is nothing to say."""

    @field_validator("redaction_counts", mode="before")
    @classmethod
    def _counts_from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("category")
    @classmethod
    def _category_in_taxonomy(cls, category: str, info: ValidationInfo) -> str:
        context = info.context if isinstance(info.context, dict) else {}
        taxonomy = context.get("taxonomy") or _default_taxonomy()
        if category not in taxonomy.category_ids:
            raise ValueError(f"category {category!r} is not in taxonomy {taxonomy.version}")
        return category

    @field_serializer("redaction_counts")
    def _counts_as_json(self, counts: dict[str, int]) -> str:
        return json.dumps(counts, sort_keys=True)


def _default_taxonomy() -> Taxonomy:
    from feedback_ops.config import get_settings

    return load_taxonomy(get_settings().taxonomy_path)
