"""Analysis units: a feedback message split into the atomic claims an analyst searches for.

A long ticket narrative says five things; a call transcript is a conversation. Searching whole messages finds
the ticket but not *which* sentence answers the question, and one embedding of a 40-sentence narrative blurs
every claim in it. So every message becomes:

- unit ``<feedback_id>:0`` (kind ``message``): the whole redacted message, always;
- units ``<feedback_id>:1..n`` (kind ``sentence`` or ``turn``): its claims, only when there are two or more -
  sentences for reviews, tickets, surveys and social posts; speaker turns for call transcripts and chats
  written as ``Speaker: text`` lines.

Every unit keeps its parent (``feedback_id``), its position and its character span in the redacted text, so a
hit can be shown in context and traced back to the original record (which silver keeps for audit). Units are
cut from the *redacted* text only: nothing here ever sees raw PII.

Bounded, whatever the input: a message is read up to ``max_chars`` characters (``settings.max_text_chars``;
enrichment has already cut longer texts and flagged them ``text_truncated``), a claim repeated word for word
within a message is one unit (its first occurrence), and a message has at most ``max_units`` units
(``settings.max_units_per_message``), the whole-message unit included — a 1 MB record of one sentence repeated
is one or two units, not 45,000.

The splitter is deterministic and versioned (``splitter_version``: the rules' ``SPLITTER_VERSION`` and both
limits): changing the rules or a limit changes the version, and units are rebuilt for every message whose stored
units were cut by another version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feedback_ops.embed.rows import MESSAGE_UNIT_INDEX, message_unit_id, unit_id, unit_text_hash

SPLITTER_VERSION = "units-2"
"""Bump when the splitting rules change: stored units of another version are rebuilt."""
MAX_UNITS_PER_MESSAGE = 64
"""Default of ``settings.max_units_per_message``."""
MAX_TEXT_CHARS = 20_000
"""Default of ``settings.max_text_chars``."""

TURN_CHANNELS = frozenset({"call_transcript", "chat"})
MIN_CLAIM_WORDS = 3
"""A sentence shorter than this ("Thanks.", "Why?") is merged into the claim before it: it is not a claim."""
MAX_CLAIM_CHARS = 600
"""A run-on "sentence" longer than this is cut at the nearest clause boundary (``;`` or ``,``)."""

_ABBREVIATIONS = (
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "jr",
    "sr",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "no",
    "approx",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
    "u.s",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9\[{])|\n\s*\n|\n(?=\s*[-*•]\s)")
_INLINE_TURN = re.compile(r"(?:^|(?<=\s))(?P<speaker>[A-Z][a-z]+(?: [A-Z][a-z]+)?|\[[A-Z_]+\]):\s+")
"""A ``Speaker:`` label inside one line: transcripts often arrive with their line breaks collapsed."""
_TURN = re.compile(r"^\s*(?P<speaker>[A-Z][\w .'-]{0,30}?|\[[A-Z_]+\])\s*:\s+(?P<text>\S.*)$")


@dataclass(frozen=True)
class Unit:
    """One searchable unit of a feedback message."""

    unit_id: str
    feedback_id: str
    unit_index: int
    unit_kind: str
    """``message`` (the whole text), ``sentence`` or ``turn``."""
    text: str
    char_start: int
    char_end: int
    speaker: str | None = None

    @property
    def text_hash(self) -> str:
        return unit_text_hash(self.text)


def _ends_with_abbreviation(fragment: str) -> bool:
    last = fragment.rstrip().rsplit(None, 1)[-1] if fragment.strip() else ""
    word = last.rstrip(".").lower().lstrip("([\"'")
    return bool(last.endswith(".")) and (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (abbreviations and initials do not end a sentence)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ends_with_abbreviation(text[start : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``MAX_CLAIM_CHARS`` at clause boundaries, never inside a word."""
    pieces: list[tuple[int, int]] = []
    while end - start > MAX_CLAIM_CHARS:
        window = text[start : start + MAX_CLAIM_CHARS]
        cut = max(window.rfind("; "), window.rfind(", "), window.rfind(" "))
        if cut <= 0:
            cut = MAX_CLAIM_CHARS - 1
        pieces.append(_strip(text, start, start + cut + 1))
        start = start + cut + 1
    pieces.append(_strip(text, start, end))
    return [p for p in pieces if p[1] > p[0]]


def _merge_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and len(text[start:end].split()) < MIN_CLAIM_WORDS:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    if len(merged) > 1 and len(text[merged[0][0] : merged[0][1]].split()) < MIN_CLAIM_WORDS:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    return merged


def _turn_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, speaker)`` of each ``Speaker: text`` turn; continuation lines join the turn above."""
    turns: list[tuple[int, int, str]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        match = _TURN.match(line.rstrip("\n"))
        body_end = offset + len(line.rstrip())
        if match:
            turns.append((offset + match.start("text"), body_end, match.group("speaker").strip()))
        elif turns and line.strip():
            turns[-1] = (turns[-1][0], body_end, turns[-1][2])
        offset += len(line)
    return turns


def _inline_turn_spans(text: str) -> list[tuple[int, int, str]]:
    """Turns of a transcript whose line breaks were collapsed: ``Agent: ... Customer: ...`` on one line.

    Only when a few labels (at most four speakers) each open a turn, and at least one speaks twice, so that
    "Note: ..." in an ordinary message is not mistaken for a conversation.
    """
    labels = list(_INLINE_TURN.finditer(text))
    speakers = [m["speaker"] for m in labels]
    if len(labels) < 3 or len(set(speakers)) > 4 or len(set(speakers)) == len(speakers):
        return []
    if text[: labels[0].start()].strip():
        return []
    turns = []
    for match, following in zip(labels, [*labels[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        start, end = _strip(text, match.end(), end)
        if end > start:
            turns.append((start, end, match["speaker"]))
    return turns


def splitter_version(max_units: int = MAX_UNITS_PER_MESSAGE, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The version stored with units: the splitting rules and the limits they were cut with."""
    return f"{SPLITTER_VERSION}.u{max_units}.c{max_chars}"


def _distinct_claims(
    text: str, claims: list[tuple[int, int, str | None, str]], limit: int
) -> list[tuple[int, int, str | None, str]]:
    """The first ``limit`` claims whose text (and speaker) was not seen before in the message."""
    seen: set[tuple[str | None, str]] = set()
    kept = []
    for claim in claims:
        key = (claim[2], " ".join(text[claim[0] : claim[1]].split()))
        if key not in seen:
            seen.add(key)
            kept.append(claim)
            if len(kept) >= limit:
                break
    return kept


def split_units(
    feedback_id: str,
    redacted_text: str,
    channel: str | None,
    *,
    max_units: int = MAX_UNITS_PER_MESSAGE,
    max_chars: int = MAX_TEXT_CHARS,
) -> list[Unit]:
    """The units of one message: the message itself (its first ``max_chars`` characters), then its distinct
    claims when it has two or more, ``max_units`` units in all at most."""
    from feedback_ops.enrich.schemas import cap_text

    text, _ = cap_text(redacted_text or "", max_chars)
    units = [
        Unit(message_unit_id(feedback_id), feedback_id, MESSAGE_UNIT_INDEX, "message", text, 0, len(text))
    ]
    claims: list[tuple[int, int, str | None, str]] = []
    turns = _turn_spans(text) if channel in TURN_CHANNELS else []
    if channel in TURN_CHANNELS and len(turns) < 2:
        turns = _inline_turn_spans(text)
    if len(turns) >= 2:
        claims = [(s, e, speaker, "turn") for s, e, speaker in turns]
    else:
        spans = [piece for s, e in _sentence_spans(text) for piece in _cut_long(text, s, e)]
        claims = [(s, e, None, "sentence") for s, e in _merge_fragments(text, spans)]
    claims = _distinct_claims(text, claims, max(0, max_units - 1))
    if len(claims) < 2:
        return units
    for index, (start, end, speaker, kind) in enumerate(claims, start=1):
        units.append(
            Unit(unit_id(feedback_id, index), feedback_id, index, kind, text[start:end], start, end, speaker)
        )
    return units
