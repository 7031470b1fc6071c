"""Language identification with Lingua (``lingua-language-detector``): offline, deterministic, good on short text.

Chosen over langdetect on the project's data (``bench/bench_language.py``): both identify every one of the 40
Spanish, German and French sample records, but on 1,213 short English review sentences (UCI, 60 characters
or fewer) langdetect called 11.5% of them another language (2.6% with the old 20-letter floor, which left
another 31% undetermined), Lingua with this module's settings 0.4% (5.6% undetermined).

Settings:

- ``LANGUAGES``: the candidate languages, the ones customer feedback here is likely to be written in. Fewer
  candidates mean fewer short English texts mistaken for a rare language, and less memory (the models of
  all 28 take about 0.7 GB). Models load lazily, per language, the first time a text could be in it: a
  process that sees only Latin-script text never loads the Cyrillic, Arabic or CJK models (the urgent lane's
  screening of a few English records starts in about half the time of preloading all 28).
- ``MIN_MARGIN``: when the best language's confidence is less than this above the second's, the answer is
  ``und`` (undetermined) rather than a guess ("ok" is not Hungarian).
- ``MAX_CHARS``: only the first 400 characters (cut at a space) are read. Detection time grows with length;
  on 1,000 CFPB narratives (mean 1,089 characters) the answers were the same and twice as fast.

Placeholders left by redaction (``[EMAIL]``) are removed before detection: they are not the customer's words.
Results do not depend on batch composition or thread count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

LANGUAGES = ("en es de fr it pt nl sv da nb fi pl cs ro hu el tr ru uk ar he hi zh ja ko id vi th").split()
"""ISO 639-1 codes of the candidate languages."""
MIN_MARGIN = 0.1
MAX_CHARS = 400
UNDETERMINED = ("und", 0.0)
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*\]")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ɏ]")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def _best(values: Sequence[Any]) -> tuple[str, float]:
    """The best language of one text's confidence values (sorted, highest first), or ``und``."""
    if not values or values[0].value <= 0.0:
        return UNDETERMINED
    if len(values) > 1 and values[0].value - values[1].value < MIN_MARGIN:
        return UNDETERMINED
    return values[0].language.iso_code_639_1.name.lower(), round(float(values[0].value), 4)


def _head(text: str) -> str:
    """The first ``MAX_CHARS`` characters of ``text``, without a cut word at the end."""
    if len(text) <= MAX_CHARS:
        return text
    head = text[:MAX_CHARS]
    return head.rsplit(None, 1)[0] if " " in head else head


def detect_languages(texts: Sequence[str]) -> list[tuple[str, float]]:
    """The ISO 639-1 code and confidence of each text's language (``('und', 0.0)`` when undetermined).

    Runs on all cores; the answer for a text does not depend on the others.
    """
    if not texts:
        return []
    cleaned = [_PLACEHOLDER.sub(" ", _head(text)) for text in texts]
    return [_best(values) for values in _detector().compute_language_confidence_values_in_parallel(cleaned)]


def detect_language(text: str) -> tuple[str, float]:
    """The ISO 639-1 code of ``text``'s language and the detector's confidence in it.

    Returns:
        ``(code, confidence)``; ``('und', 0.0)`` for empty, featureless or ambiguous text and for text in a
        script none of ``LANGUAGES`` is written in.
    """
    return detect_languages([text])[0]


def latin_share(text: str) -> float:
    """Share of the letters of ``text`` that are Latin script (1.0 for text without letters)."""
    letters = sum(char.isalpha() for char in text)
    return len(_LATIN_LETTER.findall(text)) / letters if letters else 1.0
