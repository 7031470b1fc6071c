"""PII redaction: the first thing enrichment does, so only redacted text reaches a model or an index.

Replaces e-mail addresses, phone numbers, payment card numbers (Luhn-valid only), IBANs (mod-97-valid only),
IP addresses and order / account ids (configurable regular expressions) with typed placeholders
(``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[IP]``, ``[ORDER_ID]``, ...), and counts them.

Precision matters as much as recall: dates, money amounts, years and already-masked text (CFPB's ``XXXX``,
``XX/XX/XXXX``, ``{$123.00}``) are left alone, because redacting them would destroy what the models read.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_ID_PATTERNS: Mapping[str, str] = {
    "ORDER_ID": r"\b(?:ORD|ORDER)[-#]?\d{6,}\b",
    "ACCOUNT_ID": r"\bACC(?:T)?[-#]?\d{6,}\b",
}
"""Placeholder name -> regular expression of the business identifiers to redact (configurable per deployment)."""

# No word boundaries: a superset of the enrichment gate's e-mail check, so nothing it would flag survives.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)"
)
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,7}:?(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{1,4}){0,6}(?![\w:])"
)
_PHONE = re.compile(r"(?<![\w+$€£.,])(?:\+|00)?\(?\d[\d ().-]{5,}\d(?!\w)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATE = re.compile(r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?!\d)")


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many values of each placeholder type were replaced (only types that occurred)."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


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
    """True when the IBAN passes the ISO 13616 mod-97 check (spaces ignored)."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _is_phone(candidate: str) -> bool:
    """Phone numbers: 10-15 digits, or 8-15 with an international prefix; never a date or a bare run of digits.

    A bare digit run (no separator, no prefix) is only a phone when it has 10 or 11 digits, the length of a
    national number; longer runs are ids or card-like numbers and shorter ones are amounts or years.
    """
    digits = re.sub(r"\D", "", candidate)
    international = candidate.startswith(("+", "00"))
    groups = re.findall(r"\d+", candidate)
    if _DATE.search(candidate) or len(digits) > 15 or all(_YEAR.fullmatch(group) for group in groups):
        return False
    if candidate.isdigit():
        return len(digits) in (10, 11) or (international and len(digits) >= 10)
    return len(digits) >= (8 if international else 10)


_Check = Callable[[str], bool]


class Redactor:
    """Redacts PII with typed placeholders; built once, reused for every text.

    Args:
        id_patterns: placeholder name -> regular expression for business identifiers (order, account, ...);
            defaults to ``DEFAULT_ID_PATTERNS``. Matched case-insensitively.
    """

    def __init__(self, id_patterns: Mapping[str, str] | None = None) -> None:
        patterns = DEFAULT_ID_PATTERNS if id_patterns is None else id_patterns
        # Part of the model version: other id patterns give other redacted text.
        self.version = hashlib.sha256(repr(sorted(patterns.items())).encode()).hexdigest()[:8]
        # Order matters: e-mails and IBANs contain digit runs the later passes would otherwise claim.
        self._passes: list[tuple[str, re.Pattern[str], _Check | None]] = [
            ("EMAIL", _EMAIL, None),
            ("IBAN", _IBAN, iban_valid),
            *((name.upper(), re.compile(regex, re.IGNORECASE), None) for name, regex in patterns.items()),
            ("CARD", _CARD, _is_card),
            ("IP", _IPV4, None),
            ("IP", _IPV6, _is_ipv6),
            ("PHONE", _PHONE, _is_phone),
        ]

    def redact(self, text: str) -> Redaction:
        """Replace every PII value in ``text`` by its placeholder; return the text and the counts per type."""
        counts: dict[str, int] = {}
        for name, pattern, check in self._passes:
            text = pattern.sub(_replacer(name, check, counts), text)
        return Redaction(text=text, counts=counts)


def _replacer(name: str, check: _Check | None, counts: dict[str, int]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        value = match.group(0)
        if check is not None and not check(value):
            return value
        counts[name] = counts.get(name, 0) + 1
        # "(555-123-4567)": keep an opening bracket the phone pattern took but whose closing one it left.
        keep = "(" if value.startswith("(") and ")" not in value else ""
        return f"{keep}[{name}]"

    return replace


def redact(text: str, id_patterns: Mapping[str, str] | None = None) -> Redaction:
    """Redact ``text`` with a one-off ``Redactor`` (build a ``Redactor`` once when redacting many texts)."""
    return Redactor(id_patterns).redact(text)
