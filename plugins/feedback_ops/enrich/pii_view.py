"""The normalized view of a text that PII detection reads, and the map from its offsets back to the text.

PII written a little differently is still PII: ``jane.doe\\u200b@example.com`` (a zero-width space),
``jane.doe&#64;example.com`` (an HTML entity) and full-width digits (``４１１１``) must be found like their
plain forms. :func:`normalized_view` builds the text detection runs on:

- HTML character references decoded (``&#64;``, ``&#x40;``, ``&commat;``, ``&amp;#64;``: up to
  ``ENTITY_ROUNDS`` rounds for entities encoded twice);
- zero-width characters (U+200B-U+200D, U+2060, U+FEFF) and soft hyphens (U+00AD) removed;
- NFKC, character by character (full-width letters and digits, the ideographic space and the no-break space
  become their ASCII forms; "…" becomes "...").

Each character of the view remembers the span of the original text it came from, so a value found in the view
is replaced in the original (:meth:`NormalizedView.original_span`) and everything else keeps its exact form.

Fast path: a text that is ASCII and has no ``&`` is its own view (no copy, no map): most records.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
"""Soft hyphen, zero-width space / non-joiner / joiner, word joiner, zero-width no-break space (BOM)."""
ENTITY_ROUNDS = 3
"""Rounds of entity decoding: ``&amp;amp;#64;`` needs three."""

# The character references ``html.unescape`` knows: numeric, and named with or without the ";".
_ENTITY = r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?)"
_TO_CLEAN_STABLE = re.compile(rf"{_ENTITY}|[{INVISIBLE}]+")
"""What changes in an NFKC-stable text: entities and invisible characters."""
_TO_CLEAN_ANY = re.compile(rf"{_ENTITY}|[^\x00-\x7f]")
"""What can change in any text: entities and each non-ASCII character."""


@lru_cache(maxsize=4096)
def _clean_char(char: str) -> str:
    """One character as the view holds it: removed when invisible, else its NFKC form without invisibles."""
    if char in INVISIBLE:
        return ""
    return "".join(c for c in unicodedata.normalize("NFKC", char) if c not in INVISIBLE)


def _clean(piece: str) -> str:
    """A matched piece (an entity or one character) as the view holds it."""
    if piece.startswith("&"):
        piece = html.unescape(piece)
    return "".join(_clean_char(char) for char in piece)


@dataclass(frozen=True)
class NormalizedView:
    """The view detection reads; ``starts[i]`` / ``ends[i]``: the original span of view character ``i``
    (both empty when the view is the text itself)."""

    text: str
    original: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @property
    def is_identity(self) -> bool:
        """The view is the original text: offsets need no mapping."""
        return self.text is self.original

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that the view's ``[start, end)`` came from (``start < end``)."""
        if self.is_identity:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _one_round(text: str) -> tuple[str, list[int], list[int]] | None:
    """Decode / drop / NFKC what needs it, once; None when nothing changes."""
    stable = unicodedata.is_normalized("NFKC", text)
    pattern = _TO_CLEAN_STABLE if stable else _TO_CLEAN_ANY
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    changed = False
    for match in pattern.finditer(text):
        piece = match.group(0)
        cleaned = _clean(piece)
        if cleaned == piece:
            continue
        changed = True
        start, end = match.span()
        parts.append(text[position:start])
        starts.extend(range(position, start))
        ends.extend(range(position + 1, start + 1))
        parts.append(cleaned)
        starts.extend([start] * len(cleaned))
        ends.extend([end] * len(cleaned))
        position = end
    if not changed:
        return None
    parts.append(text[position:])
    starts.extend(range(position, len(text)))
    ends.extend(range(position + 1, len(text) + 1))
    return "".join(parts), starts, ends


def is_own_view(text: str) -> bool:
    """The fast path: ASCII without ``&`` is its own normalized view."""
    return text.isascii() and "&" not in text


def normalized_view(text: str) -> NormalizedView:
    """The normalized view of ``text`` and its offset map (see the module docstring)."""
    if is_own_view(text):
        return NormalizedView(text=text, original=text)
    view, starts, ends = text, list(range(len(text))), list(range(1, len(text) + 1))
    for _ in range(ENTITY_ROUNDS):
        result = _one_round(view)
        if result is None:
            break
        view, round_starts, round_ends = result
        # compose: a character of this round came from view characters [s, e) of the previous round
        starts, ends = [starts[s] for s in round_starts], [ends[e - 1] for e in round_ends]
    if view == text:
        return NormalizedView(text=text, original=text)
    return NormalizedView(text=view, original=text, starts=tuple(starts), ends=tuple(ends))
