"""Tier routing: which cheap-pass results also get the rich pass, and why.

Rules live in ``include/routing.yaml`` (versioned): negative items at or above an urgency, low-confidence
items, and a deterministic sample of the rest. A result may match several rules; all reasons are kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

URGENCY_ORDER = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class RoutingRules:
    """The rich-pass routing rules and the rich pass's local rule sets."""

    version: str
    negative_min_urgency: str
    confidence_below: float
    sample_rate: float
    root_cause_rules: tuple[tuple[str, str], ...]
    next_actions: dict[str, str]
    features: tuple[str, ...] = ()

    def rich_reasons(
        self, feedback_id: str, sentiment_label: str, urgency: str, confidence: float
    ) -> list[str]:
        """Why this cheap-pass result needs the rich pass (an empty list: it does not)."""
        reasons = []
        if sentiment_label == "negative" and URGENCY_ORDER.index(urgency) >= URGENCY_ORDER.index(
            self.negative_min_urgency
        ):
            reasons.append("negative_and_urgent")
        if confidence < self.confidence_below:
            reasons.append("low_confidence")
        if not reasons and in_sample(feedback_id, self.sample_rate):
            reasons.append("sampled")
        return reasons


def in_sample(feedback_id: str, rate: float) -> bool:
    """A deterministic sample: the same id is always in or out for the same rate."""
    bucket = int(hashlib.sha256(feedback_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < rate


def parse_routing(raw: bytes) -> RoutingRules:
    """Validate routing YAML bytes.

    Raises:
        ValueError: a missing section or an unknown urgency.
    """
    document: dict[str, Any] = yaml.safe_load(raw) or {}
    rich = document.get("rich_pass") or {}
    urgency = rich.get("negative_min_urgency", "high")
    if urgency not in URGENCY_ORDER:
        raise ValueError(f"routing.yaml: negative_min_urgency {urgency!r} is not one of {URGENCY_ORDER}")
    rate = float(rich.get("sample_rate", 0.0))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"routing.yaml: sample_rate {rate} is not within [0, 1]")
    return RoutingRules(
        version=f"{document.get('version', '0')}+{hashlib.sha256(raw).hexdigest()[:8]}",
        negative_min_urgency=urgency,
        confidence_below=float(rich.get("confidence_below", 0.0)),
        sample_rate=rate,
        root_cause_rules=tuple(
            (r["pattern"], r["hypothesis"]) for r in document.get("root_cause_rules") or []
        ),
        next_actions=dict(document.get("next_actions") or {}),
        features=tuple(str(f) for f in document.get("features") or []),
    )


def load_routing(path: Path) -> RoutingRules:
    """Load the routing rules at ``path`` (cached by content)."""
    return _parse_cached(Path(path).read_bytes())


@lru_cache(maxsize=4)
def _parse_cached(raw: bytes) -> RoutingRules:
    return parse_routing(raw)
