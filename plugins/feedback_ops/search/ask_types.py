"""The types of an ``ask`` answer: the parsed question, the evidence groups, the answer and its rejection.

Shared by ``feedback_ops.search.ask`` (which builds them) and ``feedback_ops.search.answerer`` (the language
model that writes an answer from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ParsedQuestion:
    """What the question asks for: the search text, a time window and metadata filters."""

    question: str
    search_text: str
    window_start: datetime | None
    window_end: datetime | None
    window_label: str
    filters: dict[str, Any]

    def index_filters(self) -> dict[str, Any]:
        found = dict(self.filters)
        if self.window_start is not None:
            found["created_after"] = self.window_start
        if self.window_end is not None:
            found["created_before"] = self.window_end
        return found


@dataclass
class EvidenceQuote:
    feedback_id: str
    unit_id: str
    text: str
    created_at: str | None
    channel: str | None


@dataclass
class ThemeGroup:
    """One cause: its label, how many feedback items say it, and quotes with their ids."""

    label: str
    feedback_count: int
    unit_count: int
    categories: dict[str, int]
    quotes: list[EvidenceQuote]
    feedback_ids: list[str]


@dataclass
class Answer:
    """The answer, the evidence behind it and how it was produced."""

    question: ParsedQuestion
    text: str
    groups: list[ThemeGroup]
    citations: list[str]
    evidence_ids: list[str]
    mode: str
    """``extractive`` (local) or ``language_model``."""
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"Q: {self.question.question}", f"Window: {self.question.window_label}"]
        if self.question.filters:
            lines.append(
                "Filters: " + ", ".join(f"{k}={v}" for k, v in sorted(self.question.filters.items()))
            )
        lines += [f"Note: {note}" for note in self.notes]
        lines += ["", self.text]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        data = asdict(self)
        data["question"]["window_start"] = _iso(self.question.window_start)
        data["question"]["window_end"] = _iso(self.question.window_end)
        return data


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class InvalidCitations(ValueError):
    """A generated answer cited feedback ids that were not in the retrieved evidence."""
