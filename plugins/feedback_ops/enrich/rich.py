"""The rich pass of the local backend: summary, entities, root-cause hypothesis and next action.

Runs only on the records the routing rules send to it (``enrich.routing``), on redacted text. Locally it is
extractive and rule-based — the sentence that best states the problem, entities found by patterns and the
feature list, a hypothesis from ``include/routing.yaml``'s rules, the owning team's next step — so every
output can be traced to the words that produced it. A cloud model fills the same ``RichInsight`` from the
``summarize`` prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from feedback_ops.config import Settings, get_settings
from feedback_ops.enrich.routing import RoutingRules, load_routing
from feedback_ops.enrich.schemas import clip_text, clip_to_contract
from feedback_ops.enrich.taxonomy import load_taxonomy

RICH_RULES_VERSION = "1"
SUMMARY_MAX_WORDS = 30
SUMMARY_MAX_CHARS = 400
"""The longest summary ``RichInsight`` takes: 30 words of long URLs or one 100k-character token are cut here."""
ENTITY_MAX_CHARS = 200
MAX_ENTITIES = 50
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
VERSION = re.compile(r"\b(?:version|release|update|v)\s*(\d+\.\d+(?:\.\d+)?)\b", re.IGNORECASE)
ERROR_CODE = re.compile(r"\b(E_[A-Z_]{3,}|[A-Z]{2,6}-\d{3,4}|error(?: code)? \d{3,5}|[45]\d\d error)\b")
PAYMENT_METHOD = re.compile(
    r"\b(credit card|debit card|card|paypal|apple pay|google pay|bank transfer|gift card)\b", re.IGNORECASE
)
PLACEHOLDER = re.compile(r"\[(ORDER_ID|ACCOUNT_ID)\]")


class Entity(BaseModel):
    """A thing the feedback names."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(min_length=1, max_length=ENTITY_MAX_CHARS)
    value: str = Field(min_length=1, max_length=ENTITY_MAX_CHARS)


class RichInsight(BaseModel):
    """One row of ``enrichment.feedback_insights``.

    Build it from a model's or the rules' raw output with ``clip_to_contract(RichInsight, fields)`` first: texts
    and lists are cut to the limits declared here, so only output clipping cannot fix fails validation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback_id: str = Field(min_length=1)
    enrichment_version: str = Field(min_length=1)
    rich_version: str = Field(min_length=1)
    rich_reasons: list[str] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)
    entities: list[Entity] = Field(max_length=MAX_ENTITIES)
    root_cause: str | None = Field(max_length=SUMMARY_MAX_CHARS)
    next_action: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)
    model_name: str
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    cost_usd: float = Field(ge=0.0)
    latency_ms: float = Field(ge=0.0)

    @field_serializer("rich_reasons", "entities")
    def _as_json(self, value: list[Any]) -> str:
        return json.dumps([v.model_dump() if isinstance(v, BaseModel) else v for v in value], sort_keys=True)


def summarize(text: str, rules: RoutingRules) -> str:
    """The sentence that best states the problem, cut to ``SUMMARY_MAX_WORDS`` words and ``SUMMARY_MAX_CHARS``
    characters."""
    sentences = [s.strip() for s in SENTENCE_SPLIT.split(text) if len(s.strip()) > 3] or [text.strip()]

    def score(position: int, sentence: str) -> float:
        causes = sum(bool(re.search(p, sentence, re.IGNORECASE)) for p, _ in rules.root_cause_rules)
        features = sum(
            bool(re.search(rf"\b{re.escape(f)}\b", sentence, re.IGNORECASE)) for f in rules.features
        )
        return 2.0 * causes + features + (0.5 if position == 0 else 0.0)

    best = max(enumerate(sentences), key=lambda pair: (score(*pair), -pair[0]))[1]
    words = best.split()
    summary = " ".join(words[:SUMMARY_MAX_WORDS]) + (" …" if len(words) > SUMMARY_MAX_WORDS else "")
    return clip_text(summary, SUMMARY_MAX_CHARS)


def find_entities(text: str, product_area: str | None, rules: RoutingRules) -> list[Entity]:
    """Product area, features, app versions, error codes, payment methods and order / account references."""
    found: list[tuple[str, str]] = []
    if product_area:
        found.append(("product_area", product_area))
    lowered = text.lower()
    found += [("feature", f) for f in rules.features if re.search(rf"\b{re.escape(f)}\b", lowered)]
    found += [("app_version", m) for m in VERSION.findall(text)]
    found += [("error", m) for m in ERROR_CODE.findall(text)]
    found += [("payment_method", m.lower()) for m in PAYMENT_METHOD.findall(text)]
    found += [(m.lower().replace("_id", ""), f"[{m}]") for m in PLACEHOLDER.findall(text)]
    unique: dict[tuple[str, str], Entity] = {}
    for kind, value in found:
        value = clip_text(value, ENTITY_MAX_CHARS)  # a 10,000-digit "version" is still one entity
        unique.setdefault((kind, value.lower()), Entity(type=kind, value=value))
    return list(unique.values())[:MAX_ENTITIES]


def root_cause(text: str, rules: RoutingRules) -> str | None:
    """The first matching hypothesis of the routing file's rules, or None when nothing points to a cause."""
    for pattern, hypothesis in rules.root_cause_rules:
        if re.search(pattern, text, re.IGNORECASE):
            version = VERSION.search(text)
            return hypothesis.replace("{version}", version.group(1) if version else "(unknown)")
    return None


class LocalRichEnricher:
    """Extractive, rule-based rich pass; deterministic for a given routing file."""

    model_name = "local-extractive-rules"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.rules = load_routing(self.settings.routing_path)
        taxonomy = load_taxonomy(self.settings.taxonomy_path)
        self.owners = {c.id: f"{c.owner.team} ({c.owner.contact})" for c in taxonomy.categories}

    @property
    def rich_version(self) -> str:
        """Routing rules version + this module's rules version."""
        return hashlib.sha256(f"{self.rules.version}|{RICH_RULES_VERSION}".encode()).hexdigest()[:16]

    def enrich(self, rows: list[dict[str, Any]]) -> list[RichInsight]:
        """Rich insights for cheap-pass rows carrying ``rich_reasons``, ``redacted_text``, ``category``…

        Each row's output (``insight_fields``) is clipped to the ``RichInsight`` contract, then validated.

        Raises:
            pydantic.ValidationError: a row's output breaks the contract even once clipped (the runner isolates
                and sets that record aside).
        """
        insights = []
        for row in rows:
            started = time.perf_counter()
            fields = self.insight_fields(row)
            fields["latency_ms"] = (time.perf_counter() - started) * 1000.0
            insights.append(RichInsight.model_validate(clip_to_contract(RichInsight, fields)))
        return insights

    def insight_fields(self, row: dict[str, Any]) -> dict[str, Any]:
        """The raw output of the rules for one row: ``RichInsight``'s fields, not yet clipped or validated."""
        text = row["redacted_text"] or ""
        template = self.rules.next_actions.get(row["category"], "Triage by hand.")
        return {
            "feedback_id": row["feedback_id"],
            "enrichment_version": row["enrichment_version"],
            "rich_version": self.rich_version,
            "rich_reasons": row["rich_reasons"],
            "summary": summarize(text, self.rules) if text.strip() else "(empty)",
            "entities": [e.model_dump() for e in find_entities(text, row.get("product_area"), self.rules)],
            "root_cause": root_cause(text, self.rules),
            "next_action": template.replace("{owner}", self.owners.get(row["category"], "the owning team")),
            "model_name": self.model_name,
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": 0.0,
        }
