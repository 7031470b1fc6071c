"""Urgency rules: taxonomy cues, the ticket's own severity, sentiment and category.

The urgency is the highest level any rule gives:

1. the category's ``base_urgency`` (low for praise and feature requests, medium for most problems);
2. the record's ``severity`` field when it names a level (``P1``, ``sev2``, ``critical``, ``high`` ...);
3. an urgency cue of any category in a message that is not positive: ``critical`` when the item's category
   is an ``incident`` category (bug, billing, account access, performance), else ``high`` — a positive
   message that mentions a cue ("thanks for fixing the double charge") tells a resolved story;
4. a strongly negative item (score <= ``STRONG_NEGATIVE``) in an incident category: ``high``.
"""

from __future__ import annotations

import re

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


class UrgencyRules:
    """The urgency rules of one taxonomy (cue patterns compiled once)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        cues = sorted({cue for category in taxonomy.categories for cue in category.urgency_cues})
        self._cues = (
            re.compile("|".join(f"(?:{cue_pattern(cue)})" for cue in cues), re.IGNORECASE) if cues else None
        )

    def matched_cues(self, text: str) -> list[str]:
        """The urgency cues found in ``text``, in order of appearance."""
        if self._cues is None:
            return []
        return [match.group(0).lower() for match in self._cues.finditer(text.replace(_CURLY_APOSTROPHE, "'"))]

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
        if label != "positive" and self.matched_cues(text):
            levels.append("critical" if category.incident else "high")
        if category.incident and score <= STRONG_NEGATIVE:
            levels.append("high")
        return highest(levels)
