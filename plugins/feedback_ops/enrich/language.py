"""Language identification with langdetect, made deterministic (fixed seed).

langdetect is unreliable on very short text ("Great Value." comes out as Catalan), so text with fewer than
``MIN_LETTERS`` letters is reported as undetermined (``und``) rather than guessed. Text is lower-cased first:
all-caps English ("VERY DISAPPOINTED.") is otherwise often taken for German.
"""

from __future__ import annotations

UNDETERMINED = ("und", 0.0)
MIN_LETTERS = 20
"""Below this many letters the answer is ``und``: on UCI review sentences a quarter of the 10-20 character
ones were misidentified."""


def detect_language(text: str) -> tuple[str, float]:
    """The ISO 639-1 code of ``text``'s most probable language and its probability.

    Returns:
        ``(code, probability)``; ``('und', 0.0)`` for empty, very short or featureless text. Chinese variants
        keep langdetect's region suffix (``zh-cn``).
    """
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return UNDETERMINED
    DetectorFactory.seed = 0
    try:
        best = detect_langs(text.lower())[0]
    except LangDetectException:
        return UNDETERMINED
    return best.lang, round(float(best.prob), 4)
