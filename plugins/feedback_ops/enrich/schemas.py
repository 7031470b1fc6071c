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
import math
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

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


ELLIPSIS = "…"
TEXT_TRUNCATED = "text_truncated"
"""The ``enrichment_notes`` flag of a record whose text was longer than ``settings.max_text_chars``."""


def cap_text(text: str, max_chars: int) -> tuple[str, str | None]:
    """The part of a record's text enrichment reads, and the ``text_truncated`` note when it was cut.

    Cut at the last whitespace of the final fifth before ``max_chars`` (a word, an e-mail address or a card
    number is never cut in two, so redaction still recognises it), else hard at ``max_chars``.
    """
    if len(text) <= max_chars:
        return text, None
    head = text[:max_chars]
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if cut >= max_chars * 0.8:
        head = head[:cut]
    head = head.rstrip()
    return head, f"{TEXT_TRUNCATED}: the first {len(head):,} of {len(text):,} characters were enriched"


def with_note(notes: str | None, note: str | None) -> str | None:
    """``enrichment_notes`` with ``note`` added (``; ``-separated); None when there is nothing to say."""
    return "; ".join(n for n in (notes, note) if n) or None


def clip_text(text: str, max_chars: int) -> str:
    """``text`` if it fits in ``max_chars``, else its first characters (cut at a space when one is near the end)
    and ``…``, ``max_chars`` long at most."""
    if len(text) <= max_chars:
        return text
    head = text[: max(0, max_chars - len(ELLIPSIS))]
    space = head.rfind(" ")
    if space >= len(head) * 0.8:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of ``Model``, ``list[Model]`` or ``Model | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for argument in get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def _clip_value(value: Any, constraints: list[Any], nested: type[BaseModel] | None) -> Any:
    """One field's value brought within its length, size and range constraints."""
    limits = {type(c).__name__: c for c in constraints}
    if isinstance(value, Mapping) and nested is not None:
        return clip_to_contract(nested, value)
    if isinstance(value, list):
        if "MaxLen" in limits:
            value = value[: limits["MaxLen"].max_length]
        if nested is not None:
            value = [clip_to_contract(nested, v) if isinstance(v, Mapping) else v for v in value]
        return value
    if isinstance(value, str) and "MaxLen" in limits:
        return clip_text(value, limits["MaxLen"].max_length)
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        if "Ge" in limits:
            value = max(value, limits["Ge"].ge)
        if "Le" in limits:
            value = min(value, limits["Le"].le)
    return value


def clip_to_contract(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a model's or rule's raw output) clipped to ``model``'s contract, before validation.

    Texts longer than a field's ``max_length`` are cut (``clip_text``), lists longer than theirs keep their
    first items, numbers outside ``ge`` / ``le`` bounds take the nearest bound, nested models (``Entity`` in a
    list) are clipped the same way. What clipping cannot fix — a missing field, a label outside its
    ``Literal``, an empty text where one is required, NaN — still fails validation: that record is quarantined.
    """
    clipped = dict(data)
    for name, info in model.model_fields.items():
        if name in clipped and clipped[name] is not None:
            clipped[name] = _clip_value(clipped[name], list(info.metadata), _nested_model(info.annotation))
    return clipped


def _default_taxonomy() -> Taxonomy:
    from feedback_ops.config import get_settings

    return load_taxonomy(get_settings().taxonomy_path)
