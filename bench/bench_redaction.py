"""Recall, precision and speed of PII redaction (``feedback_ops.enrich.redact``) on real text.

1. **Injected**: synthetic PII, generated here (seeded), in varied formats, put at the start, in the middle (at
   a sentence boundary) or at the end of real texts: CFPB complaint narratives (PII already masked by the
   CFPB), Banking77 queries and UCI Amazon / Yelp review sentences (the permissively licensed sets, which carry
   no PII of their own). Look-alikes that must survive (dates, times, amounts, percentages, years, versions,
   order totals) are injected too. Every PII value in these texts is known, so precision is measured here.
2. **Bitext gold spans** (offsets, not ``entity_value``): ``person_name`` -> PERSON, ``order_id`` and
   ``invoice_id`` -> ORDER_ID. Precision of PERSON and ORDER_ID over all 4,514 Bitext messages.
3. **Obfuscated**: the same real texts with PII written a little differently, generated here: zero-width
   characters and soft hyphens inside values, HTML entities (``&#64;``, ``&commat;``, ``&#46;``), full-width
   letters and digits, cards with dots / slashes / underscores / mixed separators, IBANs with odd spacing,
   phones with dots or no-break spaces, e-mails written ``(at)`` / ``[dot]`` / `` at `` + `` dot ``, and names
   in capitals. Recall per type and per obfuscation.
4. **False positives on clean real text**: placeholders per 1,000 texts on texts that carry no PII
   (Banking77, UCI Amazon / Yelp, TweetEval: mentions, ``&amp;``, emoji), per type.
5. **Speed**: ``Redactor.redact`` alone on 2,500 real texts (1,000 CFPB narratives, 500 Banking77 queries,
   500 UCI sentences, 500 TweetEval tweets: the non-ASCII path).

A gold span is found when one placeholder of its type covers it entirely; a placeholder is correct when it
overlaps a gold span of its type. Names are drawn from lists written here, not from the redactor's lists: 50
common US and international first names (49 of them in the redactor's lists), 25 first names that are not in
them, and surnames common and rare; PERSON recall is also printed per cue kind and for the unknown names.

Usage: ``PYTHONPATH=plugins .venv/bin/python bench/bench_redaction.py [--texts 3000] [--seed 0] [--data DIR]``.
Reads ``../shared/data`` next to the project (or ``--data``); exits 0 with a message when it is absent.
"""

from __future__ import annotations

import argparse
import csv
import random
import string
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.enrich.redact import PiiSpan, Redactor, iban_valid, luhn_valid

DATA = PROJECT_ROOT.parent / "shared" / "data"
TARGETS = {"EMAIL": 0.98, "PHONE": 0.98, "CARD": 0.98, "PERSON": 0.8}
OBFUSCATED_TARGETS = {"EMAIL": 0.98, "PHONE": 0.98, "CARD": 0.98, "IBAN": 0.98, "IP": 0.98}
STRUCTURED = frozenset(OBFUSCATED_TARGETS)

FIRST_NAMES = (
    "James Mary Robert Patricia Michael Jennifer David Linda Sarah Karen Thomas Nancy Daniel Lisa Kevin Emily "
    "Brian Michelle Jason Laura Olivia Ethan Sophia Noah Chloe Liam Ava Mason Aiden Harper Priya Rahul Wei "
    "Mohammed Fatima Kofi Yuki Mateo Ingrid Sven Olga Dmitri Aisha Chidi Hiroshi Lucia Giulia Pierre Amara Ravi"
).split()
SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson Anderson "
    "Taylor Moore Jackson Thompson Harris Clark Lewis Robinson Walker Hall Young Allen Patel Nguyen Kim Chen "
    "Okafor Mensah Kowalski Novak Rossi Dubois Schmidt Yamamoto Haddad Fernandes Lindqvist Abernathy "
    "Fairweather Quigley Thistlewood Okonkwo Ramaswamy O'Connor"
).split()
RARE_FIRST_NAMES = (
    "Zephyr Anouk Thandiwe Siobhan Nkechi Oluwaseun Saoirse Xiomara Ximena Caoimhe Eamon Niamh Bjorn Tadeusz "
    "Wojciech Jyoti Anand Keanu Maeve Nico Rafferty Soren Tove Bongani Dagny"
).split()
"""First names the redactor's lists do not know (a third of the names drawn): no cue, no redaction."""
TITLES = ("Mr.", "Ms.", "Mrs.", "Dr.", "Mr", "Ms")
STREETS = (
    "Main Oak Maple Cedar Elm Pine Washington Lincoln Park Lake Hill Baker Sunset Highland Church".split()
)
SUFFIXES = "Street St Avenue Ave Road Rd Boulevard Blvd Lane Ln Drive Dr Court Way Place".split()
CITIES = (("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Columbus", "OH"), ("Denver", "CO"))


# --- synthetic values --------------------------------------------------------------------------------------


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def fake_email(rng: random.Random) -> str:
    user = rng.choice(
        (
            f"{rng.choice(FIRST_NAMES).lower()}.{rng.choice(SURNAMES).lower()}",
            f"{rng.choice(FIRST_NAMES).lower()}{digits(rng, 2)}",
            f"{rng.choice(FIRST_NAMES)[0].lower()}_{rng.choice(SURNAMES).lower()}+shop",
            f"{rng.choice(SURNAMES).upper()}{digits(rng, 4)}",
        )
    )
    domain = rng.choice(
        ("example.com", "example.org", "mail.example.co.uk", "example.net", "test.example.de")
    )
    return f"{user}@{domain}"


def fake_phone(rng: random.Random) -> str:
    area, exchange, line = (
        f"{rng.randint(2, 9)}{digits(rng, 2)}",
        f"{rng.randint(2, 9)}{digits(rng, 2)}",
        digits(rng, 4),
    )
    formats = (
        f"+1{area}{exchange}{line}",
        f"+1 {area}-{exchange}-{line}",
        f"+1 ({area}) {exchange}-{line}",
        f"({area}) {exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"{area}-{exchange}-{line}",
        f"1-800-{exchange}-{line}",
        f"+44 20 {digits(rng, 4)} {digits(rng, 4)}",
        f"+44 7{digits(rng, 3)} {digits(rng, 6)}",
        f"07{digits(rng, 3)} {digits(rng, 6)}",
        f"020 {digits(rng, 4)} {digits(rng, 4)}",
        f"+49 30 {digits(rng, 7)}",
        f"0049 89 {digits(rng, 4)} {digits(rng, 4)}",
        f"030 {digits(rng, 8)}",
        f"+33 {rng.randint(1, 9)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)}",
        f"0{rng.randint(1, 9)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)}",
        f"+91 9{digits(rng, 4)} {digits(rng, 5)}",
        f"+61 2 {digits(rng, 4)} {digits(rng, 4)}",
        f"+34 6{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 3)}",
    )
    return rng.choice(formats)


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + digits(rng, length - len(prefix) - 1)
    return next(body + check for check in string.digits if luhn_valid(body + check))


def fake_card(rng: random.Random) -> str:
    kind = rng.choice(("visa", "mastercard", "amex", "discover"))
    if kind == "amex":
        number = luhn_complete(rng.choice(("34", "37")), 15, rng)
        groups = [number[:4], number[4:10], number[10:]]
    else:
        prefix = {"visa": "4", "mastercard": f"5{rng.randint(1, 5)}", "discover": "6011"}[kind]
        number = luhn_complete(prefix, 16, rng)
        groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return rng.choice((" ", "-", "")).join(groups)


def fake_iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        (
            ("DE", digits(rng, 18)),
            ("GB", "WEST" + digits(rng, 14)),
            (
                "FR",
                digits(rng, 10)
                + "".join(rng.choice(string.ascii_uppercase) for _ in range(11))
                + digits(rng, 2),
            ),
            ("NL", "ABNA" + digits(rng, 10)),
            ("ES", digits(rng, 20)),
            ("IT", "X" + digits(rng, 22)),
        )
    )
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    iban = f"{country}{check:02d}{bban}"
    assert iban_valid(iban), iban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.6 else iban


def fake_ip(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    return ":".join(groups) if rng.random() < 0.5 else f"2001:db8::{groups[0]}:{groups[1]}"


def fake_address(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return f"PO Box {rng.randint(1, 99999)}"
    street = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    if rng.random() < 0.3:
        street += rng.choice(
            (f", Apt {rng.randint(1, 40)}{rng.choice('ABC')}", f" Suite {rng.randint(100, 900)}")
        )
    if rng.random() < 0.5:
        city, state = rng.choice(CITIES)
        street += f", {city}, {state} {digits(rng, 5)}"
    return street


def fake_order_id(rng: random.Random) -> str:
    return rng.choice(
        (f"ORD-{digits(rng, 7)}", f"{digits(rng, 9)}", f"#{digits(rng, 6)}", f"{digits(rng, 12)}")
    )


def fake_account_id(rng: random.Random) -> str:
    return rng.choice((f"ACC-{digits(rng, 8)}", digits(rng, 8), f"{digits(rng, 4)} {digits(rng, 4)}"))


def fake_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES + RARE_FIRST_NAMES)} {rng.choice(SURNAMES)}"


# --- templates: (type, sentence with {v}, value generator) ----------------------------------------------------

Generator = Callable[[random.Random], str]
TEMPLATES: dict[str, tuple[tuple[str, Generator], ...]] = {
    "EMAIL": (
        ("Please reply to {v}.", fake_email),
        ("My email is {v} if you need anything", fake_email),
        ("{v} is the address on the account.", fake_email),
    ),
    "PHONE": (
        ("Call me on {v} please.", fake_phone),
        ("You can reach me at {v} after 5pm.", fake_phone),
        ("My phone number is {v}", fake_phone),
        ("{v} is my mobile.", fake_phone),
        ("I called {v} three times.", fake_phone),
    ),
    "CARD": (
        ("My card {v} was charged twice.", fake_card),
        ("The card number is {v}.", fake_card),
        ("Refund it to {v} please", fake_card),
    ),
    "IBAN": (("Please refund to IBAN {v}.", fake_iban), ("My account is {v}.", fake_iban)),
    "IP": (("It blocked me from {v} again.", fake_ip), ("Login attempt from {v} was not me.", fake_ip)),
    "ADDRESS": (
        ("Ship it to {v} instead.", fake_address),
        ("I live at {v} and nothing arrived.", fake_address),
        ("My address is {v}.", fake_address),
    ),
    "ORDER_ID": (
        ("Where is order {v}?", fake_order_id),
        ("I want to cancel order number {v}.", fake_order_id),
        ("Invoice {v} is wrong.", fake_order_id),
    ),
    "ACCOUNT_ID": (("My account number is {v}.", fake_account_id), ("Customer ID: {v}", fake_account_id)),
}
PERSON_TEMPLATES: dict[str, tuple[str, ...]] = {
    "cue": (
        "My name is {v}.",
        "Regards, {v}",
        "Thanks,\n{v}",
        "Kind regards,\n{v}",
        "I spoke to {v} on the phone.",
        "Hi, this is {v} again.",
        "Dear {v},",
    ),
    "title": ("Please ask {title} {last} to call me.", "{title} {last} from your team was rude."),
    "no cue": ("{v} told me it would be fixed.", "I was helped by {v} yesterday.", "The refund went to {v}."),
}
LOOKALIKES = (
    "It happened on 2023-05-01 at 10:30.",
    "I paid $1,234.56 on 05/01/2023.",
    "Version 5.13.0 broke it.",
    "Fees went up 12.5% in 2024.",
    "The order total was 45.99 and shipping 4,99 EUR.",
    "I have been a customer since 2019, from 2019-2023.",
    "It took 45 minutes and 3 calls on 01.05.2023.",
    "Build 10.0.19041 crashes at 12:30:45.",
)


# --- obfuscated values: PII written a little differently ----------------------------------------------------

INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def full_width(value: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms; a space as the ideographic space."""
    return "".join(
        "\u3000" if char == " " else chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in value
    )


def with_invisible(rng: random.Random, value: str) -> str:
    """One or two zero-width characters or soft hyphens inside the value."""
    for _ in range(rng.choice((1, 2))):
        at = rng.randint(1, len(value) - 1)
        value = value[:at] + rng.choice(INVISIBLES) + value[at:]
    return value


def entity(char: str, rng: random.Random) -> str:
    named = {"@": "&commat;", ".": "&period;", ":": "&colon;", "-": "&hyphen;"}
    return rng.choice(
        (f"&#{ord(char)};", f"&#x{ord(char):x};", f"&#X{ord(char):X};", named.get(char, "&#64;"))
    )


def with_entities(rng: random.Random, value: str, chars: str) -> str:
    """Each of ``chars`` in the value written as an HTML character reference."""
    return "".join(entity(char, rng) if char in chars else char for char in value)


def obfuscated_email(rng: random.Random) -> tuple[str, str]:
    user, domain = fake_email(rng).split("@")
    words = {
        "(at)(dot)": (f"{user}(at){domain.replace('.', '(dot)')}"),
        "[at][dot]": (f"{user} [at] {domain.replace('.', ' [dot] ')}"),
        "at/dot words": (f"{user} at {domain.replace('.', ' dot ')}"),
        "AT/DOT words": (f"{user.replace('.', ' DOT ')} AT {domain.replace('.', ' DOT ')}"),
        "zero-width": with_invisible(rng, f"{user}@{domain}"),
        "entity": with_entities(rng, f"{user}@{domain}", "@" if rng.random() < 0.7 else "@."),
        "full-width": full_width(f"{user}@{domain}"),
        "spaced @": f"{user} @ {domain}",
    }
    kind = rng.choice(tuple(words))
    return words[kind], kind


def card_digits(rng: random.Random) -> tuple[str, list[int]]:
    if rng.random() < 0.25:
        return luhn_complete(rng.choice(("34", "37")), 15, rng), [4, 6, 5]
    return luhn_complete(rng.choice(("4", "51", "55", "6011")), 16, rng), [4, 4, 4, 4]


def grouped(number: str, sizes: list[int], separators: Iterable[str]) -> str:
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    out = groups[0]
    for group, separator in zip(groups[1:], separators, strict=False):
        out += separator + group
    return out


def obfuscated_card(rng: random.Random) -> tuple[str, str]:
    number, sizes = card_digits(rng)
    gaps = len(sizes) - 1
    separated = {
        sep_name: grouped(number, sizes, [sep] * gaps)
        for sep_name, sep in (("dots", "."), ("slashes", "/"), ("underscores", "_"), ("double spaces", "  "))
    }
    variants = {
        **separated,
        "mixed separators": grouped(
            number, sizes, [rng.choice((" ", "-", ".", " - ", "/")) for _ in range(gaps)]
        ),
        "full-width": full_width(grouped(number, sizes, [" "] * gaps)),
        "zero-width": grouped(number, sizes, [rng.choice(INVISIBLES) for _ in range(gaps)]),
        "no-break spaces": grouped(number, sizes, ["\u00a0"] * gaps),
        "entity dashes": grouped(number, sizes, ["&#45;"] * gaps),
    }
    kind = rng.choice(tuple(variants))
    return variants[kind], kind


def obfuscated_iban(rng: random.Random) -> tuple[str, str]:
    compact = fake_iban(rng).replace(" ", "")
    variants = {
        "spaced country": f"{compact[:2]} {compact[2:4]} "
        + " ".join(compact[i : i + 4] for i in range(4, len(compact), 4)),
        "groups of 6": " ".join(compact[i : i + 6] for i in range(0, len(compact), 6)),
        "groups of 3": " ".join(compact[i : i + 3] for i in range(0, len(compact), 3)),
        "lower case": " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)).lower(),
        "full-width": full_width(compact),
        "no-break spaces": "\u00a0".join(compact[i : i + 4] for i in range(0, len(compact), 4)),
        "zero-width": with_invisible(rng, compact),
    }
    kind = rng.choice(tuple(variants))
    return variants[kind], kind


def obfuscated_phone(rng: random.Random) -> tuple[str, str]:
    area, exchange, line = (
        f"{rng.randint(2, 9)}{digits(rng, 2)}",
        f"{rng.randint(2, 9)}{digits(rng, 2)}",
        digits(rng, 4),
    )
    variants = {
        "dots": f"{area}.{exchange}.{line}",
        "international dots": rng.choice(
            (
                f"+1.{area}.{exchange}.{line}",
                f"+44.20.{digits(rng, 4)}.{digits(rng, 4)}",
                f"+49.30.{digits(rng, 7)}",
            )
        ),
        "full-width": full_width(f"({area}) {exchange}-{line}"),
        "zero-width": with_invisible(rng, f"{area}-{exchange}-{line}"),
        "no-break spaces": f"+44\u00a020\u00a0{digits(rng, 4)}\u00a0{digits(rng, 4)}",
        "entity dashes": f"{area}&#45;{exchange}&#45;{line}",
    }
    kind = rng.choice(tuple(variants))
    return variants[kind], kind


def obfuscated_ip(rng: random.Random) -> tuple[str, str]:
    plain = ".".join(str(rng.randint(1, 254)) for _ in range(4))
    variants = {
        "full-width": full_width(plain),
        "zero-width": with_invisible(rng, plain),
        "entity dots": with_entities(rng, plain, "."),
    }
    kind = rng.choice(tuple(variants))
    return variants[kind], kind


def caps_name(rng: random.Random) -> tuple[str, str]:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}".upper(), "capitals"


OBFUSCATED_TEMPLATES: dict[str, tuple[tuple[str, ...], Callable[[random.Random], tuple[str, str]]]] = {
    "EMAIL": (
        ("Please reply to {v}.", "My email is {v} if you need anything", "{v} is my address."),
        obfuscated_email,
    ),
    "CARD": (
        ("My card {v} was charged twice.", "The card number is {v}.", "Refund it to {v} please"),
        obfuscated_card,
    ),
    "IBAN": (("Please refund to IBAN {v}.", "My account is {v}."), obfuscated_iban),
    "PHONE": (("Call me on {v} please.", "My phone number is {v}", "{v} is my mobile."), obfuscated_phone),
    "IP": (("It blocked me from {v} again.", "Login attempt from {v} was not me."), obfuscated_ip),
    "PERSON": (("THIS IS {v} AND I AM ANGRY.", "I SPOKE TO {v} TWICE.", "REGARDS, {v}"), caps_name),
}


def obfuscated_sentence(rng: random.Random, kind: str) -> tuple[str, int, int, str]:
    """A sentence carrying one obfuscated value of ``kind``: sentence, value offsets, obfuscation name."""
    templates, generator = OBFUSCATED_TEMPLATES[kind]
    template = rng.choice(templates)
    value, how = generator(rng)
    start = template.index("{v}")
    return template.replace("{v}", value), start, start + len(value), how


# --- texts -------------------------------------------------------------------------------------------------


def cfpb_narratives() -> list[str]:
    path = DATA / "cfpb-consumer-complaints" / "cfpb_combined.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            row["Consumer complaint narrative"]
            for row in csv.DictReader(handle)
            if row["Consumer complaint narrative"].strip()
        ]


def banking77_queries() -> list[str]:
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def uci_sentences() -> list[str]:
    folder = DATA / "uci-sentiment-labelled-sentences"
    paths = (folder / "amazon_cells_labelled.txt", folder / "yelp_labelled.txt")  # IMDb names real actors
    return [line.rpartition("\t")[0].strip() for path in paths for line in path.read_text().splitlines()]


def bitext_rows() -> list[dict[str, str]]:
    path = DATA / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- injection and scoring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """A text and every PII span in it (type, start, end); ``group`` names the template kind for PERSON."""

    text: str
    gold: list[PiiSpan] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def pii_sentence(rng: random.Random, kind: str) -> tuple[str, int, int, str]:
    """A sentence carrying one value of ``kind``: the sentence, the value's offsets in it, the template group."""
    if kind == "PERSON":
        group = rng.choice(tuple(PERSON_TEMPLATES))
        template = rng.choice(PERSON_TEMPLATES[group])
        value = f"{rng.choice(TITLES)} {rng.choice(SURNAMES)}" if group == "title" else fake_name(rng)
        template = template.replace("{title} {last}", "{v}")
        if value.split()[0] in RARE_FIRST_NAMES:
            group += ", first name not in the lists"
    else:
        group = kind
        template, generator = rng.choice(TEMPLATES[kind])
        value = generator(rng)
    start = template.index("{v}")
    return template.replace("{v}", value), start, start + len(value), group


def inject(
    base: str,
    rng: random.Random,
    kinds: Iterable[str],
    sentence_of: Callable[[random.Random, str], tuple[str, int, int, str]] = pii_sentence,
) -> Sample:
    """``base`` with one sentence per kind (and a look-alike now and then) put at the start, a sentence
    boundary or the end; the gold spans follow the text."""
    sample = Sample(text=base.strip())
    for kind in kinds:
        sentence, start, end, group = sentence_of(rng, kind)
        offset = insert(sample, sentence, rng)
        sample.gold.append(PiiSpan(offset + start, offset + end, kind))
        sample.groups.append(group)
    if rng.random() < 0.5:
        insert(sample, rng.choice(LOOKALIKES), rng)
    return sample


def insert(sample: Sample, sentence: str, rng: random.Random) -> int:
    """Insert ``sentence`` into the sample's text, shifting its gold spans; return where it starts."""
    text = sample.text
    boundaries = [
        i + 2
        for i in range(len(text) - 1)
        if text[i] in ".!?" and text[i + 1] == " " and not any(s.start <= i < s.end for s in sample.gold)
    ]
    position = rng.choice(["start", "end"] + (["middle"] if boundaries else []))
    if position == "start":
        at, piece = 0, sentence + " "
    elif position == "end":
        at, piece = len(text), ("" if not text or text[-1] in ".!?\n" else ".") + " " + sentence
    else:
        at, piece = rng.choice(boundaries), sentence + " "
    sample.text = text[:at] + piece + text[at:]
    sample.gold = [
        PiiSpan(s.start + len(piece), s.end + len(piece), s.kind) if s.start >= at else s for s in sample.gold
    ]
    return at + piece.index(sentence)


@dataclass
class Tally:
    """Per type: gold spans, gold spans found, placeholders, placeholders on a gold span."""

    gold: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    placed: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    misses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    false_positives: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def score(
        self, text: str, gold: list[PiiSpan], found: Iterable[PiiSpan], types: set[str] | None = None
    ) -> list[bool]:
        """Count one text; ``types`` limits the placeholders counted for precision. Returns found per gold span."""
        spans = list(found)
        hits = []
        for span in gold:
            hit = any(p.kind == span.kind and p.start <= span.start and span.end <= p.end for p in spans)
            self.gold[span.kind] += 1
            self.found[span.kind] += hit
            hits.append(hit)
            if not hit:
                self.misses[span.kind].append(text[max(0, span.start - 30) : span.end + 10])
        for placed in spans:
            if types is not None and placed.kind not in types:
                continue
            right = any(g.kind == placed.kind and g.start < placed.end and placed.start < g.end for g in gold)
            self.placed[placed.kind] += 1
            self.correct[placed.kind] += right
            if not right:
                self.false_positives[placed.kind].append(text[max(0, placed.start - 30) : placed.end + 10])
        return hits

    def report(self, title: str) -> None:
        print(
            f"\n## {title}\n{'type':11s} {'gold':>6s} {'recall':>7s} {'placed':>7s} {'precision':>9s}  target"
        )
        for kind in sorted(set(self.gold) | set(self.placed)):
            recall = self.found[kind] / self.gold[kind] if self.gold[kind] else float("nan")
            precision = self.correct[kind] / self.placed[kind] if self.placed[kind] else float("nan")
            target = f"recall >= {TARGETS[kind]}" if kind in TARGETS else ""
            print(
                f"{kind:11s} {self.gold[kind]:6d} {recall:7.3f} {self.placed[kind]:7d} {precision:9.3f}  {target}"
            )
        for label, examples in (("missed", self.misses), ("false positive", self.false_positives)):
            for kind, texts in sorted(examples.items()):
                print(f"  {label} {kind} ({len(texts)}): " + " | ".join(repr(t) for t in texts[:4]))


def injected(redactor: Redactor, count: int, seed: int) -> Tally:
    rng = random.Random(seed)
    pools = (cfpb_narratives(), banking77_queries(), uci_sentences())
    bases = [text for pool in pools for text in rng.sample(pool, count // 3)]
    kinds = [*TEMPLATES, "PERSON"]
    tally, by_group = Tally(), Counter[tuple[str, bool]]()
    for base in bases:
        sample = inject(base, rng, rng.sample(kinds, rng.choice((1, 1, 2))))
        hits = tally.score(sample.text, sample.gold, redactor.redact(sample.text).spans)
        for group, span, hit in zip(sample.groups, sample.gold, hits, strict=True):
            if span.kind == "PERSON":
                by_group[(group, hit)] += 1
    tally.report(f"Injected PII in {len(bases)} real texts (CFPB, Banking77, UCI), seed {seed}")
    for group in sorted({group for group, _ in by_group}):
        total = by_group[(group, True)] + by_group[(group, False)]
        print(f"  PERSON recall, {group}: {by_group[(group, True)] / max(total, 1):.3f} of {total}")
    return tally


def structured_recall(tally: Tally) -> float:
    """Recall over the structured types (e-mail, phone, card, IBAN, IP) together."""
    gold = sum(tally.gold[kind] for kind in STRUCTURED)
    return sum(tally.found[kind] for kind in STRUCTURED) / max(gold, 1)


def obfuscated(redactor: Redactor, count: int, seed: int) -> Tally:
    """The obfuscated family: real texts with one or two obfuscated values each; recall per type and per way."""
    rng = random.Random(seed + 1)
    pools = (cfpb_narratives(), banking77_queries(), uci_sentences())
    bases = [text for pool in pools for text in rng.sample(pool, count // 3)]
    tally, by_way = Tally(), Counter[tuple[str, str, bool]]()
    for base in bases:
        kinds = rng.sample(tuple(OBFUSCATED_TEMPLATES), rng.choice((1, 1, 2)))
        sample = inject(base, rng, kinds, obfuscated_sentence)
        hits = tally.score(sample.text, sample.gold, redactor.redact(sample.text).spans)
        for way, span, hit in zip(sample.groups, sample.gold, hits, strict=True):
            by_way[(span.kind, way, hit)] += 1
    tally.report(f"Obfuscated PII in {len(bases)} real texts (CFPB, Banking77, UCI), seed {seed + 1}")
    for kind, way in sorted({(kind, way) for kind, way, _ in by_way}):
        total = by_way[(kind, way, True)] + by_way[(kind, way, False)]
        print(f"  {kind:6s} {way:20s} recall {by_way[(kind, way, True)] / max(total, 1):.3f} of {total}")
    for kind, target in OBFUSCATED_TARGETS.items():
        recall = tally.found[kind] / max(tally.gold[kind], 1)
        print(f"  target {kind} recall >= {target}: {'met' if recall >= target else 'MISSED'} ({recall:.3f})")
    return tally


def tweets() -> list[str]:
    path = DATA / "tweeteval-sentiment" / "tweeteval_sentiment_val_test.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def false_positives(redactor: Redactor) -> None:
    """Placeholders on clean real text (no PII in these sets): per type, per 1,000 texts."""
    print("\n## False positives on clean real text (no PII in these sets): placeholders per 1,000 texts")
    print(f"{'set':22s} {'texts':>6s} {'non-ASCII':>9s} {'with &':>7s}  placeholders per 1,000 texts")
    for name, texts in (
        ("Banking77 queries", banking77_queries()),
        ("UCI Amazon/Yelp", uci_sentences()),
        ("TweetEval tweets", tweets()),
    ):
        placed: Counter[str] = Counter()
        examples: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            for span in redactor.redact(text).spans:
                placed[span.kind] += 1
                examples[span.kind].append(text[max(0, span.start - 25) : span.end + 10])
        odd = sum(not text.isascii() for text in texts), sum("&" in text for text in texts)
        structured = sum(placed[kind] for kind in STRUCTURED)
        per_type = (
            ", ".join(f"{kind} {placed[kind] * 1000 / len(texts):.2f}" for kind in sorted(placed)) or "none"
        )
        print(
            f"{name:22s} {len(texts):6d} {odd[0]:9d} {odd[1]:7d}  structured {structured * 1000 / len(texts):.2f}"
            f" ({per_type})"
        )
        for kind, found in sorted(examples.items()):
            print(
                f"    {kind} ({len(found)}): "
                + " | ".join(repr(unicodedata.normalize("NFC", t)) for t in found[:3])
            )


BITEXT_TYPES = {"person_name": "PERSON", "order_id": "ORDER_ID", "invoice_id": "ORDER_ID"}


def gold_span(text: str, start: int, end: int, kind: str) -> PiiSpan:
    """A Bitext span clipped to the text and without surrounding blanks or punctuation: some end offsets run
    past the text, a few include ", " ("3707955617, ")."""
    end = min(end, len(text))
    while end > start and not text[end - 1].isalnum():
        end -= 1
    while start < end and not (text[start].isalnum() or text[start] == "#"):
        start += 1
    return PiiSpan(start, end, kind)


def bitext(redactor: Redactor) -> None:
    tally = Tally()
    for row in bitext_rows():
        text, kind = row["instruction"], BITEXT_TYPES.get(row["entity_type"])
        gold = [gold_span(text, int(row["start_offset"]), int(row["end_offset"]), kind)] if kind else []
        tally.score(text, gold, redactor.redact(text).spans, types={"PERSON", "ORDER_ID"})
    tally.report(
        "Bitext gold spans (person_name -> PERSON; order_id, invoice_id -> ORDER_ID), all 4,514 messages"
    )


def speed(redactor: Redactor, seed: int) -> None:
    rng = random.Random(seed)
    sources = (
        ("CFPB narratives", rng.sample(cfpb_narratives(), 1000)),
        ("Banking77 queries", rng.sample(banking77_queries(), 500)),
        ("UCI sentences", rng.sample(uci_sentences(), 500)),
        ("TweetEval tweets", rng.sample(tweets(), 500)),
    )
    for _, texts in sources:  # warm-up: regex caches, name lists
        for text in texts[:50]:
            redactor.redact(text)
    print("\n## Speed: Redactor.redact alone, one process")
    total_records, total_seconds = 0, 0.0
    for name, texts in sources:
        started = time.perf_counter()
        for text in texts:
            redactor.redact(text)
        seconds = time.perf_counter() - started
        mean = sum(map(len, texts)) / len(texts)
        print(f"{name:18s} {len(texts):5d} texts, mean {mean:5.0f} chars: {len(texts) / seconds:8.0f} rec/s")
        total_records, total_seconds = total_records + len(texts), total_seconds + seconds
    print(
        f"{'all':18s} {total_records:5d} texts: {total_records / total_seconds:8.0f} rec/s ({total_seconds:.2f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000, help="real texts to inject PII into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared public datasets folder")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: {args.data} is absent (the public datasets are not available here)")
        return 0
    globals()["DATA"] = args.data
    redactor = Redactor()
    print(f"redactor version {redactor.version}")
    plain = injected(redactor, args.texts, args.seed)
    hidden = obfuscated(redactor, args.texts, args.seed)
    bitext(redactor)
    false_positives(redactor)
    speed(redactor, args.seed)
    print("\n## Structured PII recall (e-mail, phone, card, IBAN, IP) per family")
    print(f"plain       {structured_recall(plain):.3f}\nobfuscated  {structured_recall(hidden):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
