"""Urgency rules: taxonomy cues, the ticket's own severity, sentiment and category.

The urgency is the highest level any rule gives:

1. the category's ``base_urgency`` (low for praise and feature requests, medium for most problems);
2. the record's ``severity`` field when it names a level (``P1``, ``sev2``, ``critical``, ``high`` ...);
3. an urgency cue in a message that is not positive: ``critical`` when both the cue and the item's category
   belong to ``incident`` categories (bug, billing, account access, performance: "fraud" in a billing item),
   else ``high`` ("lawyer", "never received"). A positive message that mentions a cue ("thanks for fixing
   the double charge") tells a resolved story;
4. a strongly negative item (score <= ``STRONG_NEGATIVE``) in an incident category: ``high``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from feedback_ops.enrich.schemas import SentimentLabel
from feedback_ops.enrich.taxonomy import URGENCY_LEVELS, Category, Taxonomy, Urgency

STRONG_NEGATIVE = -0.8
_CURLY_APOSTROPHE = "\u2019"

_SEVERITY_LEVELS: dict[str, Urgency] = {
    **dict.fromkeys(
        ("critical", "blocker", "urgent", "emergency", "p0", "p1", "sev0", "sev1", "s1"), "critical"
    ),
    **dict.fromkeys(("high", "major", "p2", "sev2", "s2"), "high"),
    **dict.fromkeys(("medium", "normal", "moderate", "p3", "sev3", "s3"), "medium"),
    **dict.fromkeys(("low", "minor", "trivial", "p4", "p5", "sev4", "s4"), "low"),
}


def severity_urgency(severity: str | None) -> Urgency | None:
    """The urgency a ticket's severity field names (``"Sev 1"``, ``"P2"``, ``"High"``), or None."""
    if not severity:
        return None
    return _SEVERITY_LEVELS.get(re.sub(r"[\s_-]", "", severity.lower()))


def cue_pattern(cue: str) -> str:
    """A cue as a regex: word boundaries, a space also matches a hyphen or nothing, an apostrophe is optional."""
    words = [
        re.escape(word).replace("'", "'?") for word in cue.lower().replace(_CURLY_APOSTROPHE, "'").split()
    ]
    return r"\b" + r"[\s-]*".join(words) + r"\b"


def highest(levels: list[Urgency]) -> Urgency:
    """The most urgent of ``levels``."""
    return max(levels, key=URGENCY_LEVELS.index)


def _compile(cues: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [f"(?:{cue_pattern(cue)})" for cue in sorted(set(cues))]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def _find(pattern: re.Pattern[str] | None, text: str) -> list[str]:
    return [match.group(0).lower() for match in pattern.finditer(text)] if pattern else []


class UrgencyRules:
    """The urgency rules of one taxonomy (cue patterns compiled once)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._incident_cues = _compile(
            c for category in taxonomy.categories if category.incident for c in category.urgency_cues
        )
        self._other_cues = _compile(
            c for category in taxonomy.categories if not category.incident for c in category.urgency_cues
        )

    def matched_cues(self, text: str) -> tuple[list[str], list[str]]:
        """The incident cues and the other cues found in ``text``, each in order of appearance."""
        text = text.replace(_CURLY_APOSTROPHE, "'")
        return _find(self._incident_cues, text), _find(self._other_cues, text)

    def assess(
        self,
        text: str,
        category: Category,
        sentiment: tuple[SentimentLabel, float],
        severity: str | None = None,
    ) -> Urgency:
        """The urgency of one item.

        Args:
            text: the redacted text.
            category: the item's taxonomy category.
            sentiment: the item's sentiment label and score.
            severity: the record's severity field, if any.
        """
        label, score = sentiment
        levels: list[Urgency] = [category.base_urgency]
        from_severity = severity_urgency(severity)
        if from_severity:
            levels.append(from_severity)
        incident_cues, other_cues = self.matched_cues(text) if label != "positive" else ([], [])
        if incident_cues:
            levels.append("critical" if category.incident else "high")
        elif other_cues:
            levels.append("high")
        if category.incident and score <= STRONG_NEGATIVE:
            levels.append("high")
        return highest(levels)
