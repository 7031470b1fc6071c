"""Answer an analyst's question from the feedback memory, with counts and cited feedback ids.

    from feedback_ops.search.ask import ask
    answer = ask("What are the top causes of checkout complaints in the last 48 hours?")
    print(answer.render())

Steps, all inspectable on the returned ``Answer``:

1. **Parse** the question (``parse_question``): a time window ("last 48 hours", "past 2 weeks", "yesterday",
   "since 2026-11-18", "this week"), and filters named in it - a product area or category the index knows,
   a channel ("tickets", "app store reviews"), a sentiment ("complaints" = negative), urgency ("urgent").
   Relative windows end at the newest feedback in the index when that is older than now (a demo or a stalled
   source), and the answer says so.
2. **Retrieve** with the index's hybrid search (BM25 + vectors) under those filters; filters that leave
   nothing are relaxed one at a time, in a stated order, and the answer says which.
3. **Group** the evidence by cause: units are clustered by meaning (``feedback_ops.search.themes``), each group
   labelled with its distinctive words and counted in distinct feedback items.
4. **Answer**: locally, an extractive answer - groups by size, with counts, representative redacted quotes and
   the cited ids. With a language model configured, the model writes the answer from the retrieved evidence
   only; every id it cites is checked against the retrieved set, and an answer citing anything else is
   rejected (once retried, then the extractive answer is given, saying why).

Only redacted text is ever indexed, so quotes and anything sent to a model are redacted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from feedback_ops.embed.base import Embedder
from feedback_ops.embed.rows import is_message_unit
from feedback_ops.search.ask_types import (
    Answer,
    EvidenceQuote,
    InvalidCitations,
    ParsedQuestion,
    ThemeGroup,
)
from feedback_ops.search.base import SearchIndex
from feedback_ops.search.themes import cluster_texts

DEFAULT_EVIDENCE = 120
"""Units retrieved per question; enough for several causes, few enough to cluster and cite."""
RELEVANCE_FLOOR = 0.25
"""A unit found only by the vector search and less similar than this to the question is not evidence."""

_UNITS = {"minute": 1 / 60, "hour": 1, "day": 24, "week": 24 * 7, "month": 24 * 30}
_RELATIVE = re.compile(
    r"\b(?:in\s+|over\s+|during\s+|for\s+)?(?:the\s+)?(?:last|past|previous)\s+(?:(?P<n>\d+|a|an|one|two|three|"
    r"four|five|six|seven|ten|twelve|fourteen|thirty)\s+)?(?P<unit>minute|hour|day|week|month)s?\b",
    re.IGNORECASE,
)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_WORDS |= {"ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30}
_SINCE = re.compile(r"\bsince\s+(?P<date>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
_BETWEEN = re.compile(
    r"\b(?:between|from)\s+(?P<start>\d{4}-\d{2}-\d{2})\s+(?:and|to)\s+(?P<end>\d{4}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)
_NAMED = re.compile(r"\b(?P<name>today|yesterday|this week|this month)\b", re.IGNORECASE)

CHANNEL_WORDS = {
    "support_ticket": ("ticket", "tickets", "support tickets", "zendesk"),
    "app_store": ("app store", "app-store", "play store", "app reviews", "app store reviews"),
    "review": ("product reviews", "reviews"),
    "call_transcript": ("call", "calls", "transcript", "transcripts", "phone calls"),
    "chat": ("chat", "chats", "live chat", "intercom"),
    "nps": ("nps",),
    "social": ("social", "tweets", "twitter", "social media", "mentions"),
    "survey": ("survey", "surveys"),
}
"""Words in a question that name a channel (longest match wins: "app store reviews" is app_store)."""
NEGATIVE_WORDS = ("complaint", "complaints", "complain", "negative", "problems", "issues", "unhappy", "angry")
POSITIVE_WORDS = ("praise", "positive", "compliments", "happy customers", "love")
URGENT_WORDS = ("urgent", "critical", "escalation", "escalations")


class QuestionError(ValueError):
    """A question whose time window names an impossible date or reaches outside the calendar."""


def _day(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise QuestionError(f"{value!r} in the question is not a date (YYYY-MM-DD)") from None


def _relative_window(count: int, unit: str, anchor: datetime) -> datetime:
    """The start of "the last ``count`` ``unit``s" before ``anchor``."""
    try:
        return anchor - timedelta(hours=count * _UNITS[unit])
    except (OverflowError, ValueError):
        raise QuestionError(
            f"'the last {count} {unit}s' in the question reaches before the year 1; ask for a shorter window"
        ) from None


def parse_question(
    question: str,
    anchor: datetime,
    *,
    product_areas: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ParsedQuestion:
    """Time window and filters named in ``question``; ``anchor`` is the "now" relative windows end at.

    Raises:
        QuestionError: the window names an impossible date ("since 2026-13-45") or reaches outside the
            calendar ("the last 99999999999 days").
    """
    text = question.strip()
    start, end, label = _parse_window(text, anchor)
    filters = _parse_filters(f" {text.lower()} ", product_areas, categories)
    search_text = _BETWEEN.sub(" ", _SINCE.sub(" ", _RELATIVE.sub(" ", _NAMED.sub(" ", text))))
    search_text = re.sub(r"\s+", " ", search_text).strip(" ?.!") or text
    return ParsedQuestion(text, search_text, start, end, label, filters)


def _parse_window(text: str, anchor: datetime) -> tuple[datetime | None, datetime | None, str]:
    start: datetime | None = None
    end: datetime | None = None
    label = "all time"
    if match := _BETWEEN.search(text):
        start, end = _day(match["start"]), _day(match["end"]) + timedelta(days=1)
        label = f"{match['start']} to {match['end']}"
    elif match := _SINCE.search(text):
        start, end, label = _day(match["date"]), None, f"since {match['date']}"
    elif match := _RELATIVE.search(text):
        amount = match["n"] or "1"
        count = int(amount) if amount.isdigit() else _WORDS[amount.lower()]
        start, end = _relative_window(count, match["unit"].lower(), anchor), anchor
        label = f"last {count} {match['unit'].lower()}{'s' if count != 1 else ''}"
    elif match := _NAMED.search(text):
        name = match["name"].lower()
        midnight = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = {
            "today": (midnight, anchor),
            "yesterday": (midnight - timedelta(days=1), midnight),
            "this week": (midnight - timedelta(days=midnight.weekday()), anchor),
            "this month": (midnight.replace(day=1), anchor),
        }[name]
        label = name
    if start is not None and end is not None and label not in ("all time",) and not label.startswith("20"):
        label += f" ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)"
    return start, end, label


def _parse_filters(
    lowered: str, product_areas: tuple[str, ...], categories: tuple[str, ...]
) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for area in sorted(product_areas, key=len, reverse=True):
        if re.search(rf"\b{re.escape(area.replace('_', ' '))}\b", lowered):
            filters["product_area"] = area
            break
    for category in sorted(categories, key=len, reverse=True):
        if category != "other" and re.search(rf"\b{re.escape(category.replace('_', ' '))}\b", lowered):
            if filters.get("product_area") != category:
                filters["category"] = category
            break
    channel_hits = [
        (len(word), channel)
        for channel, words in CHANNEL_WORDS.items()
        for word in words
        if re.search(rf"\b{re.escape(word)}\b", lowered)
    ]
    if channel_hits:
        filters["channel"] = max(channel_hits)[1]
    if any(re.search(rf"\b{w}\b", lowered) for w in NEGATIVE_WORDS):
        filters["sentiment_label"] = "negative"
    elif any(re.search(rf"\b{w}\b", lowered) for w in POSITIVE_WORDS):
        filters["sentiment_label"] = "positive"
    if any(re.search(rf"\b{w}\b", lowered) for w in URGENT_WORDS):
        filters["urgency"] = ["high", "critical"]
    return filters


def _anchor(index: SearchIndex, now: datetime) -> tuple[datetime, str | None]:
    newest = index.newest_created_at() if hasattr(index, "newest_created_at") else None
    if newest is not None and newest < now - timedelta(hours=1):
        return newest, (
            f"relative windows end at the newest feedback in the index, {newest:%Y-%m-%d %H:%M} UTC "
            f"(nothing newer has arrived; now is {now:%Y-%m-%d %H:%M} UTC)"
        )
    return now, None


def retrieve(
    parsed: ParsedQuestion, index: SearchIndex, embedder: Embedder, top: int = DEFAULT_EVIDENCE
) -> tuple[list[Any], list[str], Any]:
    """Hybrid search under the question's window and filters.

    The subject filters (product area, channel, sentiment, ...) are never relaxed: an answer about something
    else would mislead. When nothing matches inside the time window, the answer says so and shows the most
    recent matching feedback outside it instead, with its dates. Returns the relevant hits, notes, and the
    question's vector.
    """
    vector = embedder.embed([parsed.search_text])[0]
    notes: list[str] = []
    hits = _relevant(
        index.query(parsed.search_text, vector, top=top, filters=parsed.index_filters()), embedder, vector
    )
    if not hits and (parsed.window_start is not None or parsed.window_end is not None):
        hits = _relevant(
            index.query(parsed.search_text, vector, top=top, filters=parsed.filters), embedder, vector
        )
        if hits:
            dates = sorted(str(h.metadata.get("created_at"))[:10] for h in hits)
            notes.append(
                f"no matching feedback in the window ({parsed.window_label}); showing the best matches from "
                f"any time instead, dated {dates[0]} to {dates[-1]}"
            )
    return hits, notes, vector


def _relevant(hits: list[Any], embedder: Embedder, vector: Any) -> list[Any]:
    """Drop hits found only by the vector search that are barely related to the question."""
    import numpy

    only_vector = [h for h in hits if h.bm25_rank is None]
    if not only_vector:
        return hits
    vectors = numpy.asarray(embedder.embed([h.text for h in only_vector]), dtype=numpy.float32)
    query = numpy.asarray(vector, dtype=numpy.float32)
    similarity = vectors @ query / (numpy.linalg.norm(vectors, axis=1) * numpy.linalg.norm(query) + 1e-9)
    weak = {h.unit_id for h, s in zip(only_vector, similarity, strict=True) if s < RELEVANCE_FLOOR}
    return [h for h in hits if h.unit_id not in weak]


def group_evidence(hits: list[Any], embedder: Embedder, quotes_per_group: int = 3) -> list[ThemeGroup]:
    """Cluster the evidence by meaning; one group per cause, counted in distinct feedback items.

    A message and one of its sentences both retrieved count once (by feedback id); the sentence is the
    better quote, so the whole message (unit 0) is quoted only when no sentence of it was retrieved.
    """
    import numpy

    chosen: dict[str, Any] = {}
    for hit in hits:
        kept = chosen.get(hit.feedback_id)
        if kept is None or (is_message_unit(kept.unit_id) and not is_message_unit(hit.unit_id)):
            chosen[hit.feedback_id] = hit
    evidence = list(chosen.values())
    if not evidence:
        return []
    vectors = numpy.asarray(embedder.embed([h.text for h in evidence]), dtype=numpy.float32)
    groups = []
    for cluster in cluster_texts(vectors, [h.text for h in evidence]):
        members = [evidence[i] for i in cluster.members]
        groups.append(
            ThemeGroup(
                label=cluster.label,
                feedback_count=len({m.feedback_id for m in members}),
                unit_count=len(members),
                categories=dict(Counter(str(m.metadata.get("category")) for m in members).most_common()),
                quotes=[
                    EvidenceQuote(
                        m.feedback_id,
                        m.unit_id,
                        m.text if len(m.text) <= 300 else m.text[:297] + "...",
                        m.metadata.get("created_at"),
                        m.metadata.get("channel"),
                    )
                    for m in _distinct_texts(members)[:quotes_per_group]
                ],
                feedback_ids=sorted({m.feedback_id for m in members}),
            )
        )
    return groups


def _distinct_texts(hits: list[Any]) -> list[Any]:
    """Hits with a text not already seen (the same sentence from ten customers is quoted once)."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        key = " ".join(hit.text.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


def extractive_answer(
    parsed: ParsedQuestion, groups: list[ThemeGroup], max_groups: int = 5
) -> tuple[str, list[str]]:
    """The answer written from the groups alone: largest causes first, counts, quotes and cited ids."""
    total = sum(g.feedback_count for g in groups)
    if not groups:
        return f"No feedback matches this question ({parsed.window_label}).", []
    lines = [f"{total} matching feedback items ({parsed.window_label}), grouped into {len(groups)} themes:"]
    citations: list[str] = []
    for rank, group in enumerate(groups[:max_groups], start=1):
        share = group.feedback_count / total
        category = next(iter(group.categories), "?")
        lines.append(
            f"{rank}. {group.label} - {group.feedback_count} item{'s' if group.feedback_count != 1 else ''} ({share:.0%}), mostly {category}"
        )
        for quote in group.quotes:
            lines.append(f'   - "{quote.text}" [{quote.feedback_id}]')
            citations.append(quote.feedback_id)
    rest = groups[max_groups:]
    if rest:
        lines.append(f"... and {len(rest)} smaller themes ({sum(g.feedback_count for g in rest)} items).")
    return "\n".join(lines), citations


def ask(
    question: str,
    settings: Any = None,
    *,
    index: SearchIndex | None = None,
    embedder: Embedder | None = None,
    answerer: Any = None,
    now: datetime | None = None,
    top: int = DEFAULT_EVIDENCE,
) -> Answer:
    """Answer ``question`` from the configured index (or the ``index`` / ``embedder`` given).

    Args:
        answerer: something with ``answer(parsed, groups) -> (text, cited_ids)`` that writes the answer with a
            language model (``feedback_ops.search.answerer.LanguageModelAnswerer``); None gives the
            extractive answer, or the configured model's when the enrichment backend is a language model.
        now: the wall clock (tests pin it); relative windows end here or at the newest feedback.

    Raises:
        QuestionError: an impossible date or window in the question, before any index is opened.
    """
    from feedback_ops.config import get_settings

    _parse_window(question.strip(), (now or datetime.now(UTC)).replace(tzinfo=None))  # refuse bad dates early
    settings = settings or get_settings()
    own_index = index is None
    if embedder is None:
        from feedback_ops.embed.factory import make_embedder

        embedder = make_embedder(settings)
    if index is None:
        from feedback_ops.search.factory import make_search_index

        index = make_search_index(settings, embedder.dimensions)
    if answerer is None and settings.enrichment_backend != "local":
        from feedback_ops.search.answerer import LanguageModelAnswerer

        answerer = LanguageModelAnswerer(settings)
    try:
        anchor, anchor_note = _anchor(index, (now or datetime.now(UTC)).replace(tzinfo=None))
        facets = index.facet_values(("product_area", "category")) if hasattr(index, "facet_values") else {}
        parsed = parse_question(
            question,
            anchor,
            product_areas=tuple(facets.get("product_area", ())),
            categories=tuple(facets.get("category", ())),
        )
        # one embedding per distinct text: relevance filtering and grouping look at the same hits
        memo = _MemoEmbedder(embedder)
        hits, notes, _ = retrieve(parsed, index, memo, top=top)
        groups = group_evidence(hits, memo)
    finally:
        if own_index:
            index.close()
    notes = ([anchor_note] if anchor_note else []) + notes
    evidence_ids = sorted({h.feedback_id for h in hits})
    text, citations = extractive_answer(parsed, groups)
    mode = "extractive"
    if answerer is not None and groups:
        try:
            text, citations = answerer.answer(parsed, groups)
            mode = "language_model"
        except InvalidCitations as error:
            notes.append(f"the language model's answer was rejected ({error}); extractive answer given")
    return Answer(parsed, text, groups, citations, evidence_ids, mode, notes)


class _MemoEmbedder:
    """Wraps an embedder for one question: a text already embedded is not embedded again."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.version = embedder.version
        self.dimensions = embedder.dimensions
        self.vectors: dict[str, Any] = {}

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy

        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return numpy.asarray([self.vectors[t] for t in texts], dtype=numpy.float32)
