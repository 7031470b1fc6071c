"""PII redaction: the first thing enrichment does, so only redacted text reaches a model or an index.

Replaces personal data with typed placeholders and counts them:

- ``[EMAIL]``, also written around a filter ("jane(at)example(dot)com", "jane dot doe at example dot com");
  ``[IBAN]`` (mod-97-valid, and of its country's length when the country is known; any spacing);
- business ids, ``[ORDER_ID]`` / ``[ACCOUNT_ID]`` / any name, from configurable regular expressions
  (``include/redaction.yaml``), checked before cards and phones so a long order number stays an order id;
- ``[CARD]`` (13-19 digits, Luhn-valid only; any separators, card-like groups unless single spaces or
  dashes); ``[IP]`` (IPv4, IPv6);
- ``[ADDRESS]``: a house number, a capitalized street name and a street suffix (Street, St, Ave, Road, ...),
  an optional unit and ", City, ST 12345" / UK postcode; German "...straße 5"; "PO Box 123";
- ``[PHONE]``: international (``+44 20 7946 0958``, ``0049 30 1234567``, E.164) and national formats
  (``(415) 555-0123``, ``415.555.0123``, ``07911 123456``): 10-11 digits, or 8-15 after ``+`` / ``00``;
- ``[PERSON]``: cues, a name gazetteer and capitalization (``person_names``).

Precision matters as much as recall: dates, times, money amounts, percentages, years, version numbers and
already-masked text (CFPB's ``XXXX``, ``XX/XX/XXXX``, ``{$123.00}``) are left alone, because redacting them
would destroy what the models read.

Everything is looked for in the text's normalized view (``feedback_ops.enrich.pii_view``: HTML entities
decoded, zero-width characters and soft hyphens dropped, NFKC, so ``jane&#64;example.com`` and full-width
digits are found) and replaced where it is in the input; the rest of the input keeps its exact form.
:func:`find_structured_pii` is the enrichment gate's check on redacted text, over the same view.

How: each type's pattern runs in turn over a working copy in which the values already found are masked with
a character no pattern matches, so offsets stay those of the input and no value is claimed twice; the output
is built once from the spans. Patterns are compiled once per ``Redactor``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from feedback_ops.enrich.person_names import NameFinder, NameLexicon
from feedback_ops.enrich.pii_view import NormalizedView, is_own_view, normalized_view

RULES_VERSION = "3"
"""Bump when the built-in rules of this module or of ``person_names`` change: part of the redactor version."""

_MASK = "\ue000"
"""Stands in for a value already found: a private-use character that no pattern matches."""

# No word boundaries: a superset of the enrichment gate's e-mail check, so nothing it would flag survives.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-][A-Za-z0-9._%+'-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A candidate: country, check digits, then 11-30 letters or digits with any spacing ("DE89 3704 0044 ...",
# "DE 89 37040044 0532013000"); ``_iban_spans`` keeps the valid prefix that ends where a group ends.
_IBAN = re.compile(r"[A-Z]{2}(?:[ -]{0,2}\d){2}(?:[ -]{0,2}[A-Z0-9]){11,30}(?![A-Z0-9])", re.IGNORECASE)
_IBAN_FIRST_DIGIT = re.compile(
    r"\d(?<=\b[A-Za-z]{2}\d)|\d(?<=\b[A-Za-z]{2}[ -]\d)|\d(?<=\b[A-Za-z]{2}[ -]{2}\d)"
)
"""The first check digit of a candidate: found by scanning for digits, three times faster than for letters."""
_IBAN_STANDARD = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?", re.IGNORECASE)
"""An IBAN written in one piece or in groups of four; any other spacing needs a listed country and a BBAN of
mostly digits, so "at 2023 I went ..." is never taken for an Austrian IBAN."""
_AT_WORD = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s*@\s*)"
_DOT_WORD = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\.)"
_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|co|me|app|dev|ai|email|online|shop|store|xyz|uk|us|ca|au|nz|ie|de"
    "|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|pt|cz|gr|in|jp|cn|kr|sg|hk|br|mx|ar|za|ru|ua|tr"
)
_EMAIL_OBFUSCATED = re.compile(
    rf"(?<![\w.%+'-])[A-Za-z0-9_%+-][A-Za-z0-9_%+'-]*(?:{_DOT_WORD}[A-Za-z0-9_%+'-]+)*{_AT_WORD}"
    rf"[A-Za-z0-9-]+(?:{_DOT_WORD}[A-Za-z0-9-]+)*{_DOT_WORD}(?:{_TLDS})(?![\w-])",
    re.IGNORECASE,
)
"""An e-mail written around a filter: "jane.doe(at)example(dot)com", "jane [at] example [dot] com",
"jane dot doe at example dot com", "jane @ example.com"."""
_BRACKETED_AT = re.compile(r"[(\[{<]\s*at\s*[)\]}>]|@", re.IGNORECASE)
_DOT_WORD_CUE = re.compile(r"\bdot\b", re.IGNORECASE)
_BARE_AT = re.compile(r"\s+at\s+", re.IGNORECASE)
_NOT_DOMAIN_WORDS = frozenset(
    "the a an my your our their his her its this that these those one some any all home work least last first "
    "once night noon times".split()
)
"""Words after a bare " at " that make "looked at the dot com bubble" no address."""
# Patterns start with a character class where they can (lookbehinds after it): the regex engine then skips
# ahead to candidate characters instead of trying every position, which halves the time on long text.
# Any separator run between card digits (space, dot, dash, slash, underscore, mixed, up to 3 characters); never
# inside a longer dotted or dashed number ("1.4111...", "...1111.2").
_CARD = re.compile(
    r"[1-9](?<![\w+-][1-9])(?<!\d[./_][1-9])(?:[ ./_-]{0,3}\d){12,18}(?![\w-]|[./_]\d)", re.ASCII
)
_CARD_GROUPS = re.compile(r"(?:\d{4}[^\d]+){2,4}\d{1,4}|\d{4}[^\d]+\d{6}[^\d]+\d{4,5}")
"""Card-like grouping (4-4-4-4, 4-4-4-4-3, 4-4-4-1, Amex / Diners 4-6-5 and 4-6-4): required when the
separators are more than single spaces or dashes, so dotted dates and version runs are not cards."""
_PLAIN_CARD_SEPARATORS = re.compile(r"\d+(?:[ -]\d+)*")
_IPV4 = re.compile(
    r"(?=\d)(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\w]|\.\d)",
    re.ASCII,
)
_IPV6 = re.compile(
    r"(?=[0-9A-Fa-f:])(?<![\w:])"
    r"(?:(?:[0-9A-Fa-f]{1,4}:){1,7}:?(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{1,4}){0,6}|::(?:[0-9A-Fa-f]{1,4}:){0,6}"
    r"[0-9A-Fa-f]{1,4})(?![\w:])",
    re.ASCII,
)
_VERSION_CUE = re.compile(r"(?:\bversion|\bver\.?|\bbuild|\brelease|\bv)\s*$", re.IGNORECASE)
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Ter"
    r"|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Crescent|Close|Grove|Gardens|Trail|Trl|Plaza|Alley)"
)
_ADDRESS = re.compile(
    r"(?=\d)\b\d{1,6}[A-Za-z]?(?: (?:[NSEW]\.?|North|South|East|West))?"
    r"(?: (?:[A-Z][a-z]+|\d{1,3}(?:st|nd|rd|th))){1,4}"
    rf" {_STREET_SUFFIX}\b\.?(?: (?:NW|NE|SW|SE|N|S|E|W)\b)?"
    r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm)\.? ?#?[A-Za-z0-9-]+|,? #\d+[A-Za-z]?)?"
    r"(?:,(?: [A-Z][a-z]+){1,3},?(?: [A-Z]{2})? (?:\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}))?"
)
_STREET_DE = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|allee|platz) \d{1,4}[a-z]?\b")
_PO_BOX = re.compile(r"\b(?:P\.? ?O\.? ?Box|Post Office Box) \d{1,6}\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?=[\d+(])(?<![\w+$€£¥.,/:#-])"
    r"(?:"
    r"(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){2,5}"  # +44 20 7946 0958, 0049 30 1234567
    r"|\(\d{2,5}\)[ .-]?\d{2,4}(?:[ .-]?\d{2,4}){1,2}"  # (415) 555-0123, (020) 7946 0958
    r"|(?:1[ .-])?\d{2,5}(?:[ .-]\d{2,8}){1,4}"  # 415-555-0123, 1-800-555-0199, 07911 123456, 030 12345678
    r"|\d{10,11}"  # a bare national number
    r")"
    r"(?![\w%/:-]|[.,]\d)"
)
_DATE = re.compile(r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?!\d)")
_YEAR = re.compile(r"(?:19|20)\d\d")

IBAN_LENGTHS: Mapping[str, int] = dict(
    (entry[:2], int(entry[2:]))
    for entry in (
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 "
        "ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 "
        "LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 "
        "RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
    ).split()
)
"""IBAN length per country (ISO 13616 registry); a country not listed only needs 15-34 characters."""


@dataclass(frozen=True)
class PiiSpan:
    """One redacted value: its character offsets in the input text and its placeholder type."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Redaction:
    """Redacted text, how many values of each placeholder type were replaced (only types that occurred), and
    where they were in the input (``spans``, in order)."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)
    spans: tuple[PiiSpan, ...] = ()


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum used by payment card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True when the IBAN has its country's length and passes the ISO 13616 mod-97 check (spaces ignored)."""
    compact = candidate.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(compact[:2])
    if not 15 <= len(compact) <= 34 or (expected is not None and len(compact) != expected):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _plausible_iban(value: str, listed_country: bool) -> bool:
    """Written as IBANs are (one piece, groups of four), or of a listed country with a BBAN of mostly digits."""
    if _IBAN_STANDARD.fullmatch(value):
        return True
    bban = re.sub(r"[^A-Za-z0-9]", "", value)[4:]
    return listed_country and sum(char.isdigit() for char in bban) >= 0.4 * len(bban)


def _iban_end(candidate: str) -> int | None:
    """Where the valid IBAN at the start of ``candidate`` ends (after the whole group of its last character),
    or None: the country's length when it is known, else the longest valid length of 15-34."""
    alnum_ends = [index + 1 for index, char in enumerate(candidate) if char.isalnum()]
    expected = IBAN_LENGTHS.get(candidate[:2].upper())
    lengths = [expected] if expected else range(min(34, len(alnum_ends)), 14, -1)
    for length in lengths:
        if length > len(alnum_ends):
            continue
        end = alnum_ends[length - 1]
        if end < len(candidate) and candidate[end].isalnum():
            continue
        value = candidate[:end]
        if _plausible_iban(value, expected is not None) and iban_valid(re.sub(r"[^A-Za-z0-9]", "", value)):
            return end
    return None


def _iban_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Spans of the valid IBANs in ``text``: each candidate is cut to its valid prefix, and the search goes on
    right after it (a candidate running into the next words does not hide an IBAN that follows)."""
    spans = []
    position = 0
    while (digit := _IBAN_FIRST_DIGIT.search(text, position)) is not None:
        start = digit.start()
        while text[start - 1] in " -":
            start -= 1
        match = pattern.match(text, start - 2)
        end = _iban_end(match.group(0)) if match else None
        if match is None or end is None:
            position = digit.start() + 1
            continue
        spans.append((start - 2, start - 2 + end))
        position = start - 2 + end
    return spans


_BRACKETED_AT_CUE = re.compile(r"[(\[{<]\s*at\s*[)\]}>]", re.IGNORECASE)


def _may_hide_an_email(text: str) -> bool:
    """Whether ``text`` has what ``_EMAIL_OBFUSCATED`` needs: an "@", a "dot" or an "at" in brackets (plain
    substring tests first: a regular expression over every text costs more than the rest of the pass)."""
    if "@" in text or "dot" in text or "DOT" in text or "Dot" in text:
        return True
    brackets = "(" in text or "[" in text or "{" in text or "<" in text
    return brackets and _BRACKETED_AT_CUE.search(text) is not None


def _is_obfuscated_email(match: re.Match[str]) -> bool:
    """An "at" in brackets or an "@" makes it an address; a bare " at " needs a "dot" word as well and a
    domain that is no common word ("looked at the dot com bubble")."""
    value = match.group(0)
    if _BRACKETED_AT.search(value):
        return True
    if not _DOT_WORD_CUE.search(value):
        return False
    domain = _BARE_AT.split(value)[-1]
    first_label = re.split(r"\W+", domain.strip(), maxsplit=1)[0]
    return first_label.lower() not in _NOT_DOMAIN_WORDS


def _is_card(match: re.Match[str]) -> bool:
    value = match.group(0)
    digits = re.sub(r"\D", "", value)
    if not (13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)):
        return False
    return bool(_PLAIN_CARD_SEPARATORS.fullmatch(value) or _CARD_GROUPS.fullmatch(value))


def _after_version_word(match: re.Match[str]) -> bool:
    return bool(_VERSION_CUE.search(match.string[max(0, match.start() - 12) : match.start()]))


def _is_ipv4(match: re.Match[str]) -> bool:
    return not _after_version_word(match)


def _is_ipv6(match: re.Match[str]) -> bool:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return False
    return True


def _is_phone(match: re.Match[str]) -> bool:
    """10-11 digits, or 8-15 after ``+`` / ``00``; never a date, a run of years or a version.

    Longer bare runs are ids or card-like numbers, shorter ones amounts, years or local numbers too ambiguous
    to redact without context.
    """
    candidate = match.group(0)
    international = candidate.startswith(("+", "00"))
    digits = re.sub(r"\D", "", candidate)[2 if candidate.startswith("00") else 0 :]
    groups = re.findall(r"\d+", candidate)
    # a date never starts with "+": "+44.20.7946.0958" is a phone number although "44.20.7946" reads as one
    if (not candidate.startswith("+") and _DATE.search(candidate)) or all(_YEAR.fullmatch(g) for g in groups):
        return False
    if _after_version_word(match):
        return False
    if international:
        return 8 <= len(digits) <= 15
    return 10 <= len(digits) <= 11


_Check = Callable[[re.Match[str]], bool]
_Finder = Callable[[re.Pattern[str], str], list[tuple[int, int]]]
_DIGITS = "0123456789"


@dataclass(frozen=True)
class _Pass:
    """One pattern of one placeholder type.

    ``needs``: characters one of which the text must contain for the pattern to be able to match (the pass is
    skipped otherwise: most short texts have no digit); ``cue``: a cheap test the text must pass as well.
    ``finder``: spans from the pattern and the text, instead of the pattern's matches that pass ``check``.
    """

    name: str
    pattern: re.Pattern[str]
    check: _Check | None = None
    needs: str = _DIGITS
    cue: Callable[[str], bool] | None = None
    finder: _Finder | None = None

    def run(self, work: str, spans: list[PiiSpan]) -> str:
        """Record the values found in ``work`` in ``spans``; return ``work`` with them masked."""
        if self.finder is None:
            return self.pattern.sub(_claimer(self.name, self.check, spans), work)
        found = self.finder(self.pattern, work)
        for start, end in found:
            spans.append(PiiSpan(start, end, self.name))
            work = work[:start] + _MASK * (end - start) + work[end:]
        return work


_STRUCTURED_PASSES = (
    _Pass("EMAIL", _EMAIL, needs="@"),
    _Pass("EMAIL", _EMAIL_OBFUSCATED, _is_obfuscated_email, needs="@ ([{<", cue=_may_hide_an_email),
    _Pass("IBAN", _IBAN, finder=_iban_spans),
)
"""Passes that run before the business ids: e-mails and IBANs contain digit runs the later passes would claim."""
_CARD_PASS = _Pass("CARD", _CARD, _is_card)
_LEAK_PASSES = (*_STRUCTURED_PASSES, _CARD_PASS)
"""What :func:`find_structured_pii` looks for: the types a regular expression and a checksum find reliably."""


@dataclass(frozen=True)
class RedactionConfig:
    """The configurable part of redaction (``include/redaction.yaml``).

    Attributes:
        id_patterns: placeholder name -> regular expressions of business identifiers (case-insensitive; a
            group named ``value`` narrows what is replaced).
        lexicon: the person-name word lists.
        fingerprint: hash of the config file and the lists it names; part of the redactor version.
    """

    id_patterns: Mapping[str, tuple[str, ...]]
    lexicon: NameLexicon
    fingerprint: str


def _word_list(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=8)
def load_redaction_config(path: Path) -> RedactionConfig:
    """Read a redaction config file (YAML, see ``include/redaction.yaml``) and the word lists it names.

    Read once per process and path (like the settings); ``load_redaction_config.cache_clear()`` re-reads.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    person = raw.get("person") or {}
    files = {
        key: path.parent / person[key] for key in ("first_names", "surnames", "common_words") if key in person
    }
    digest = hashlib.sha256(path.read_bytes())
    for key in sorted(files):
        digest.update(files[key].read_bytes())
    lexicon = NameLexicon.build(
        first_names=_word_list(files["first_names"]) if "first_names" in files else (),
        surnames=_word_list(files["surnames"]) if "surnames" in files else (),
        common_words=_word_list(files["common_words"]) if "common_words" in files else (),
        not_names=person.get("not_names") or (),
        allow=person.get("allow") or (),
    )
    patterns = {
        str(name).upper(): tuple([regexes] if isinstance(regexes, str) else regexes)
        for name, regexes in (raw.get("id_patterns") or {}).items()
    }
    return RedactionConfig(id_patterns=patterns, lexicon=lexicon, fingerprint=digest.hexdigest())


def default_redaction_config() -> RedactionConfig:
    """The config of the process settings (``Settings.redaction_config_path``)."""
    from feedback_ops.config import get_settings

    return load_redaction_config(get_settings().redaction_config_path)


class Redactor:
    """Redacts PII with typed placeholders; built once, reused for every text.

    Args:
        id_patterns: placeholder name -> regular expression (or list of them) for business identifiers;
            replaces the config's id patterns when given. Matched case-insensitively, ASCII-only word
            boundaries, and only in text that has a digit.
        config: id patterns and name lists (the process settings' ``include/redaction.yaml`` if None).
    """

    def __init__(
        self,
        id_patterns: Mapping[str, str | Sequence[str]] | None = None,
        config: RedactionConfig | None = None,
    ) -> None:
        config = config or default_redaction_config()
        patterns = config.id_patterns if id_patterns is None else _as_lists(id_patterns)
        # Part of the model version: other patterns, name lists or rules give other redacted text.
        identity = repr((RULES_VERSION, sorted(patterns.items()), config.fingerprint))
        self.version = hashlib.sha256(identity.encode()).hexdigest()[:8]
        self._names = NameFinder(config.lexicon)
        # Order matters: e-mails and IBANs contain digit runs the later passes would otherwise claim, and an
        # order number after "order" is an id before it can look like a card or a phone number.
        self._passes = [
            *_STRUCTURED_PASSES,
            *(
                _Pass(name.upper(), re.compile(regex, re.IGNORECASE | re.ASCII))
                for name, regexes in patterns.items()
                for regex in regexes
            ),
            _CARD_PASS,
            _Pass("IP", _IPV4, _is_ipv4),
            _Pass("IP", _IPV6, _is_ipv6, needs=":"),
            _Pass("ADDRESS", _ADDRESS),
            _Pass("ADDRESS", _STREET_DE),
            _Pass("ADDRESS", _PO_BOX),
            _Pass("PHONE", _PHONE, _is_phone),
        ]
        self._needed = _needed(self._passes)

    def redact(self, text: str) -> Redaction:
        """Replace every PII value in ``text`` by its placeholder; return the text, counts and spans.

        Values are looked for in the text's normalized view (``pii_view``: entities decoded, zero-width
        characters dropped, NFKC) and replaced where they are in ``text``; the rest of ``text`` is kept as is.
        """
        view = None if is_own_view(text) else normalized_view(text)
        spans, work = _run_passes(self._passes, self._needed, text if view is None else view.text)
        spans.extend(PiiSpan(start, end, "PERSON") for start, end in self._names.find(work))
        return _render(text, spans if view is None else _to_original(view, spans))


def _needed(passes: Sequence[_Pass]) -> str:
    """The characters of interest of the passes (see ``_Pass.needs``)."""
    return "".join(sorted({char for one in passes for char in one.needs}))


def _run_passes(passes: Sequence[_Pass], needed: str, text: str) -> tuple[list[PiiSpan], str]:
    """The spans the passes find in ``text`` (each value claimed by the first pass that finds it), and the text
    with those values masked."""
    spans: list[PiiSpan] = []
    present = {char for char in needed if char in text}
    work = text
    for one in passes:
        if present.intersection(one.needs) and (one.cue is None or one.cue(work)):
            work = one.run(work, spans)
    return spans, work


def _to_original(view: NormalizedView, spans: list[PiiSpan]) -> list[PiiSpan]:
    """Spans found in the view, as spans of the original text (spans that meet in the original are merged)."""
    if view.is_identity:
        return spans
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda one: one.start):
        start, end = view.original_span(span.start, span.end)
        if merged and start < merged[-1].end:
            previous = merged.pop()
            start, end = previous.start, max(end, previous.end)
            span = previous
        merged.append(PiiSpan(start, end, span.kind))
    return merged


_LEAK_NEEDED = _needed(_LEAK_PASSES)


def find_structured_pii(text: str) -> list[str]:
    """The types of structured PII (e-mail, IBAN, payment card) in ``text``'s normalized view, sorted.

    The enrichment gate's PII check: redacted text must hold none. It reads the same normalized view as
    ``Redactor.redact`` (entities decoded, zero-width characters dropped, NFKC), so an e-mail written with
    ``&#64;`` or a zero-width space, or full-width card digits, is found here as it is there.
    """
    if not text:
        return []
    spans, _ = _run_passes(_LEAK_PASSES, _LEAK_NEEDED, normalized_view(text).text)
    return sorted({span.kind for span in spans})


def _as_lists(patterns: Mapping[str, str | Sequence[str]]) -> dict[str, tuple[str, ...]]:
    return {
        name.upper(): (regexes,) if isinstance(regexes, str) else tuple(regexes)
        for name, regexes in patterns.items()
    }


def _claimer(name: str, check: _Check | None, spans: list[PiiSpan]) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` callback recording the value's span and masking it in the working copy."""

    def claim(match: re.Match[str]) -> str:
        if check is not None and not check(match):
            return match.group(0)
        group = "value" if "value" in match.re.groupindex and match.group("value") is not None else 0
        start, end = match.span(group)
        start, end = _balanced(match.string, start, end)
        spans.append(PiiSpan(start, end, name))
        whole_start, whole_end = match.span()
        return match.string[whole_start:start] + _MASK * (end - start) + match.string[end:whole_end]

    return claim


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without a bracket the value opens or closes alone: "(555) 123-4567" keeps both, the
    text keeps the outer brackets of "(555-123-4567)" and of "(+44 20 7946 0958)"."""
    value = text[start:end]
    if value.startswith("(") and value.count("(") > value.count(")"):
        start += 1
    elif value.endswith(")") and value.count(")") > value.count("("):
        end -= 1
    return start, end


def _render(text: str, spans: list[PiiSpan]) -> Redaction:
    ordered = sorted(spans, key=lambda span: span.start)
    parts: list[str] = []
    counts: dict[str, int] = {}
    position = 0
    for span in ordered:
        parts.append(text[position : span.start])
        parts.append(f"[{span.kind}]")
        counts[span.kind] = counts.get(span.kind, 0) + 1
        position = span.end
    parts.append(text[position:])
    return Redaction(text="".join(parts), counts=counts, spans=tuple(ordered))


def redact(text: str, id_patterns: Mapping[str, str | Sequence[str]] | None = None) -> Redaction:
    """Redact ``text`` with a one-off ``Redactor`` (build a ``Redactor`` once when redacting many texts)."""
    return Redactor(id_patterns).redact(text)
