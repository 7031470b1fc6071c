"""Person-name detection for PII redaction, offline: cues, a name gazetteer and capitalization.

No model: a run of capitalized words is a person's name when

- a title precedes it ("Mr. Jones", "Ms Hawkings", "Dr. Patel"): the title is part of the name's span;
- a strong cue precedes it ("my name is Priya", "Dear Ms. ...", "Regards, Tom Baker", "an agent named Kofi");
- a weak cue precedes it and it starts with a known first name ("Hi Sarah", "I spoke to Linda", "Thanks, Joe")
  or has two words ("I spoke to Niamh Schmidt");
- or, without a cue, a known first name is followed by a surname ("from David Miller"), or any name word by
  a known surname ("Bjorn Kim told me").

Known first names and surnames come from word lists (``include/redaction/``); a capitalized word that is also
a common lower-case word ("Will", "Grant", "Chase", "Customer") is only a name after a title or strong cue,
which keeps sentence-initial capitals and product words out; a run followed by "Technologies", "Bank",
"Team", ... is an organization. ``not_names`` (brands that look like first names)
and ``allow`` (companies named after people: "Mr. Cooper", "Sallie Mae") are never redacted. Lower-case names
are found only after "my name is". Words in capitals ("MARGARET THOMPSON") are read as capitalized when the
lists know them as names and not as common words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_TOKEN = rf"[{_UPPER}](?:['’][{_UPPER}])?[{_LOWER}]+(?:[{_UPPER}][{_LOWER}]+)?(?:-[{_UPPER}][{_LOWER}]+)?"
_RUN = re.compile(rf"(?<![\w'’-]){_TOKEN}(?:[ \t](?:[{_UPPER}]\.[ \t])?{_TOKEN}){{0,4}}(?![\w-])")
"""A run of capitalized words (a middle initial allowed): the candidates."""

TITLES = frozenset("mr mrs ms miss mx dr prof sir dame madam mme mlle herr frau sr sra srta".split())
_TITLE_CUE = re.compile(
    r"\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|mme|mlle|herr|frau|sra?|srta)\.?[ \t]*$", re.I
)
_STRONG_CUE = re.compile(
    r"(?:\bmy name(?: is|'s|’s)|\bname is|\bnamed|\bsigned|\bdear|\b(?:best|kind|warm|warmest) regards"
    r"|\bregards|\bsincerely|\byours truly|\byours faithfully|\brespectfully|\bcheers|\bbest wishes)"
    r"[ \t]*[,:.!-]?[ \t\r\n]*$",
    re.I,
)
"""Cues after which any capitalized word that is not a common word is taken for a name."""
_WEAK_CUE = re.compile(
    r"(?:\bhi|\bhello|\bhey|\bthanks|\bthank you|\bthis is|\bi am|\bi'm|\bi’m|\bit's|\bit is"
    r"|\b(?:spoke|speaking|talked|talking|chatted|chatting|dealt|spoken) (?:to|with)|\bagent|\brepresentative"
    r"|\brep|\badvisor|\badviser|\bassociate|\bmanager|\bsupervisor|\btechnician|\bdriver|\bcourier"
    r"|\bcontact|\bask for|\bask|\bhusband|\bwife|\bson|\bdaughter|\bmother|\bfather|\bpartner|\bfriend"
    r"|\bfrom|\bcalled|\bcc|\battn|\battention)[ \t]*[,:.!-]?[ \t\r\n]*$",
    re.I,
)
"""Cues after which a known first name alone is taken for a name."""
_CAPITALS_WORD = re.compile(rf"[{_UPPER}](?<![\w'’-].)(?:['’][{_UPPER}])?[{_UPPER}]+(?![\w'’-])")
"""A word in capitals: a name when the lists know it ("MARGARET THOMPSON")."""
_LOWERCASE_NAME = re.compile(r"\bmy name is ([a-z]+)(?: ([a-z]+))?\b", re.I)
_CUE_WINDOW = 40
"""How many characters before a candidate are searched for a cue."""

CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
"""Capitalized words that are first names in the lists but far more often a month or a day."""

CUE_WORDS = frozenset(
    "hi hello hey dear thanks thank regards sincerely cheers yours best kind warm warmest attn cc signed "
    "agent rep representative manager supervisor advisor associate".split()
)
"""Capitalized words that open a greeting, a sign-off or a role: context, never part of a name."""

ORGANIZATION_WORDS = frozenset(
    "inc llc ltd plc corp corporation co company companies group holdings technologies technology tech "
    "solutions systems services financial finance bank banking capital credit lending loans mortgage "
    "insurance partners associates team support department store stores shop motors airlines airways "
    "telecom wireless energy foods pharmacy university college school hospital clinic".split()
)
"""A capitalized run followed by one of these ("Cherry Technologies", "Obligo Team") names an organization."""


@dataclass(frozen=True)
class NameLexicon:
    """The word lists of the name finder, lower-cased.

    Attributes:
        first_names: known first names.
        surnames: known surnames.
        common_words: common lower-case words (a capitalized one is a name only after a title or strong cue).
        not_names: words never taken for a name.
        allow: phrases never redacted.
    """

    first_names: frozenset[str]
    surnames: frozenset[str]
    common_words: frozenset[str]
    not_names: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        first_names: Iterable[str],
        surnames: Iterable[str],
        common_words: Iterable[str],
        not_names: Iterable[str] = (),
        allow: Iterable[str] = (),
    ) -> NameLexicon:
        """A lexicon from any iterables of words (case-insensitive)."""
        return cls(
            first_names=frozenset(word.lower() for word in first_names),
            surnames=frozenset(word.lower() for word in surnames),
            common_words=frozenset(word.lower() for word in common_words) | CALENDAR_WORDS,
            not_names=frozenset(word.lower() for word in not_names) | CALENDAR_WORDS | CUE_WORDS,
            allow=frozenset(_normalized(phrase) for phrase in allow),
        )

    def known_first_name(self, word: str) -> bool:
        """A first name of the list that is not also a common word or a listed non-name."""
        lower = word.lower()
        return lower in self.first_names and lower not in self.common_words and lower not in self.not_names

    def known_surname(self, word: str) -> bool:
        """A surname of the list that is not also a common word or a listed non-name."""
        lower = word.lower()
        return lower in self.surnames and lower not in self.common_words and lower not in self.not_names

    def name_like(self, word: str) -> bool:
        """A word that can be part of a name: a listed name, or no common word and no listed non-name."""
        lower = word.lower()
        if lower in self.not_names or lower in TITLES:
            return False
        return lower in self.first_names or lower in self.surnames or lower not in self.common_words


def _normalized(phrase: str) -> str:
    """Lower case, no full stops, single spaces: "Mr. Cooper" and "mr  cooper" compare equal."""
    return " ".join(phrase.lower().replace(".", " ").split())


def _capitalized(word: str) -> str:
    """A word in capitals as a name is written ("O'CONNOR" -> "O'Connor"), or unchanged if that would change
    its length."""
    head = 3 if len(word) > 3 and word[1] in "'’" else 1
    cased = word[:head] + word[head:].lower()
    return cased if len(cased) == len(word) else word


class NameFinder:
    """Finds person names in text; returns character spans (start, end)."""

    def __init__(self, lexicon: NameLexicon) -> None:
        self.lexicon = lexicon
        names = lexicon.first_names | lexicon.surnames
        self._names_in_capitals = frozenset(
            name.upper() for name in names if lexicon.known_first_name(name) or lexicon.known_surname(name)
        )
        """Known first names and surnames (no common word) as written in capitals: one set lookup a word."""

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of the person names in ``text``, in order, not overlapping.

        Words in capitals that the lists know as a first name or a surname (and that are no common word) are
        read as if capitalized: "THIS IS MARGARET THOMPSON" is found like "THIS IS Margaret Thompson".
        """
        text = self._capitals_as_names(text)
        spans = [span for match in _RUN.finditer(text) if (span := self._judge(text, match)) is not None]
        spans.extend(self._lowercase_names(text, spans))
        return sorted(spans)

    def _capitals_as_names(self, text: str) -> str:
        """``text`` with name words in capitals capitalized instead (same length, same offsets): the words the
        lists know as names, and a name-like word right next to one ("AISHA FERNANDES")."""
        words = list(_CAPITALS_WORD.finditer(text))
        known = {index for index, word in enumerate(words) if word.group(0) in self._names_in_capitals}
        if not known:
            return text
        chars = list(text)
        beside = {near for index in known for near in self._capitals_beside(text, words, index)}
        for index in known | beside:
            word = words[index]
            chars[word.start() : word.end()] = _capitalized(word.group(0))
        return "".join(chars)

    def _capitals_beside(self, text: str, words: list[re.Match[str]], index: int) -> list[int]:
        """The name-like words in capitals right before and after word ``index`` (one space between)."""
        beside = []
        for near in (index - 1, index + 1):
            if 0 <= near < len(words):
                first, second = sorted((words[near], words[index]), key=lambda word: word.start())
                if text[first.end() : second.start()] == " " and self.lexicon.name_like(words[near].group(0)):
                    beside.append(near)
        return beside

    def _judge(self, text: str, run: re.Match[str]) -> tuple[int, int] | None:
        """The span of the name in a run of capitalized words, if the run holds one."""
        words = list(re.finditer(_TOKEN, run.group(0)))
        # Leading capitalized words that cannot be part of a name ("Dear", "Thanks", "Mr", "Customer") become
        # context: "Regards John Smith" is the cue "Regards" and the candidate "John Smith".
        while words and not self.lexicon.name_like(words[0].group(0)):
            words.pop(0)
        if not words:
            return None
        start = run.start() + words[0].start()
        if any(word.group(0).lower() in ORGANIZATION_WORDS for word in words[1:]):
            return None
        kept = [words[0]]
        for word in words[1:]:
            if not self.lexicon.name_like(word.group(0)):
                break
            kept.append(word)
        end = run.start() + kept[-1].end()
        accepted = self._accepted_start(text, start, [word.group(0) for word in kept])
        if accepted is None or self._allowed(text[accepted:end]):
            return None
        return accepted, end

    def _accepted_start(self, text: str, start: int, words: list[str]) -> int | None:
        """Where the name starts (a title is included) if the cue before it and its words make it a name."""
        before = text[max(0, start - _CUE_WINDOW) : start]
        title = _TITLE_CUE.search(before)
        if title:
            return start - len(before) + title.start()
        if _STRONG_CUE.search(before):
            return start
        weak = _WEAK_CUE.search(before) is not None
        if self.lexicon.known_first_name(words[0]):
            return start if weak or len(words) > 1 else None
        # An unknown first name: two name words after a weak cue ("I spoke to Niamh Schmidt"), or followed
        # by a known surname that is no common word ("Bjorn Kim told me").
        if len(words) > 1 and (weak or self.lexicon.known_surname(words[1])):
            return start
        return None

    def _allowed(self, phrase: str) -> bool:
        return _normalized(phrase) in self.lexicon.allow

    def _lowercase_names(self, text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Lower-case names after "my name is" ("my name is john smith"), when the lists know them."""
        spans = []
        for match in _LOWERCASE_NAME.finditer(text):
            first, last = match.group(1), match.group(2)
            if not first.islower() or first not in self.lexicon.first_names:
                continue
            end = match.end(2) if last and last.islower() and last in self.lexicon.surnames else match.end(1)
            span = (match.start(1), end)
            if not any(start < span[1] and span[0] < stop for start, stop in taken):
                spans.append(span)
        return spans
