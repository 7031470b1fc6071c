"""Build the sample export files shipped in ``include/sample_data/``, deterministically.

The files imitate three weeks of exports (2026-11-01 to 2026-11-21, UTC) from the feedback tools of a
fictional online marketplace that also offers a card, a wallet and pay-later credit: Zendesk tickets, Intercom
chats, app-store reviews, product reviews, an NPS / survey tool and a social-listening tool. Their text comes
only from the permissively licensed sets in the shared data folder and from the project's own generators
(:mod:`feedback_ops.synthetic.sample_text`):

- CFPB consumer complaint narratives (US public data) -> ``support_ticket``;
- Bitext customer-support instructions (CDLA-Sharing-1.0) -> ``chat``;
- Banking77 queries (CC BY 4.0) -> ``app_store``;
- UCI Sentiment Labelled Sentences (CC BY 4.0): Amazon sentences -> ``review``, Yelp sentences -> ``social``;
- templated, project-written text -> ``nps`` and ``survey`` comments and the checkout incident.

Planted on purpose, so every stage of the pipeline has work to do: a checkout incident after an app release
(from 2026-11-18 10:00 UTC, about 30 hours, 250 records), synthetic PII in about 5% of the texts, light HTML
and stray whitespace, about 0.5% malformed rows at fixed positions and about 2% duplicate exports. The same
seed gives byte-identical files; the README of the folder is generated with them, so its counts are exact.

Rebuild from the project root: ``PYTHONPATH=plugins .venv/bin/python tools/build_sample_data.py --shared-data
../shared/data --out include/sample_data``. ``tests/test_sample_data.py`` checks the committed files against a
rebuild when the shared data folder is present.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.synthetic.sample_text import (
    ASPECT_BY_AREA,
    CHARGED_WORDS,
    INCIDENT_TITLES,
    MARKUPS,
    PII_TYPE_WEIGHTS,
    SOCIAL_HANDLES,
    SURVEYS,
    comment,
    foreign_comment,
    incident_text,
    insert_sentence,
    nps_score,
    pick_aspect,
    pii_sentence,
)

# --------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------

REQUIRED_INPUTS: dict[str, str] = {
    "cfpb": "cfpb-consumer-complaints/cfpb_combined.csv",
    "bitext": "bitext-customer-support/Bitext_Sample_Customer_Support_Training_Dataset.csv",
    "banking77_train": "banking77/train.csv",
    "banking77_test": "banking77/test.csv",
    "uci_amazon": "uci-sentiment-labelled-sentences/amazon_cells_labelled.txt",
    "uci_yelp": "uci-sentiment-labelled-sentences/yelp_labelled.txt",
}
"""The only shared-data files the builder reads (all permissively licensed; see the folder's README)."""


class MissingSharedDataError(FileNotFoundError):
    """The shared data folder lacks a file the builder needs."""


def require_inputs(shared_data_dir: Path) -> dict[str, Path]:
    """The paths of every needed input, or a clear error naming what is missing."""
    if not shared_data_dir.is_dir():
        raise MissingSharedDataError(
            f"shared data folder not found: {shared_data_dir} (pass --shared-data pointing at shared/data)"
        )
    paths = {key: shared_data_dir / rel for key, rel in REQUIRED_INPUTS.items()}
    missing = [REQUIRED_INPUTS[key] for key, path in paths.items() if not path.is_file()]
    if missing:
        raise MissingSharedDataError(
            f"shared data folder {shared_data_dir} lacks {len(missing)} file(s) the sample-data builder needs: "
            + ", ".join(missing)
            + " (the CFPB, Bitext, Banking77 and UCI sets described in shared/data/README.md)"
        )
    return paths


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_uci(path: Path) -> list[tuple[int, str, int]]:
    """``(line number, sentence, label)`` of a UCI ``sentence<TAB>label`` file, sentences unique."""
    rows, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        sentence, _, label = line.rpartition("\t")
        sentence = sentence.strip()
        if sentence and label.strip() in ("0", "1") and sentence not in seen:
            seen.add(sentence)
            rows.append((number, sentence, int(label)))
    return rows


@dataclass(frozen=True)
class Sources:
    """The rows of every input set, as read."""

    cfpb: list[dict[str, str]]
    bitext: list[dict[str, str]]
    banking77: list[tuple[str, int, dict[str, str]]]
    uci_amazon: list[tuple[int, str, int]]
    uci_yelp: list[tuple[int, str, int]]


def load_sources(paths: dict[str, Path]) -> Sources:
    """Read every input file (a few MB, in memory)."""
    banking = [("train", i, row) for i, row in enumerate(_read_csv_rows(paths["banking77_train"]), start=1)]
    banking += [("test", i, row) for i, row in enumerate(_read_csv_rows(paths["banking77_test"]), start=1)]
    return Sources(
        cfpb=_read_csv_rows(paths["cfpb"]),
        bitext=_read_csv_rows(paths["bitext"]),
        banking77=banking,
        uci_amazon=_read_uci(paths["uci_amazon"]),
        uci_yelp=_read_uci(paths["uci_yelp"]),
    )


# --------------------------------------------------------------------------------------------------------
# Time: three weeks with a daily rhythm, and the incident window
# --------------------------------------------------------------------------------------------------------

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 21
RELEASE_AT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
"""App release 5.13.0 that broke checkout."""
HOTFIX_AT = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
"""Hotfix 5.13.1; reports fade out over the next two hours."""
INCIDENT_HOURS = 30

HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 12, 13, 13, 13, 13, 13, 14, 14, 13, 12, 10, 8, 5, 3)
"""Relative volume per UTC hour: quiet at night, busy from late morning to evening."""

WEEKEND_FACTOR = {
    "support_ticket": 0.55,
    "chat": 0.7,
    "app_store": 0.95,
    "review": 1.1,
    "social": 1.25,
    "nps": 0.6,
    "survey": 0.6,
}
"""Weekend volume relative to a weekday, per channel."""


def sample_times(rng: random.Random, channel: str, count: int) -> list[datetime]:
    """``count`` timestamps over the three weeks, following the daily and weekly rhythm of ``channel``."""
    day_weights = [
        WEEKEND_FACTOR[channel] if (START + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(DAYS)
    ]
    days = rng.choices(range(DAYS), weights=day_weights, k=count)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
    return [
        START + timedelta(days=d, hours=h, seconds=rng.randrange(3600), milliseconds=rng.randrange(1000))
        for d, h in zip(days, hours, strict=True)
    ]


def incident_times(rng: random.Random, count: int) -> list[datetime]:
    """Timestamps of the incident: ramping up after the release, fading after the hotfix."""
    weights = []
    for offset in range(INCIDENT_HOURS):
        moment = RELEASE_AT + timedelta(hours=offset)
        ramp = min(1.0, (offset + 1) / 2)
        fade = 1.0 if moment < HOTFIX_AT else 0.35
        weights.append(ramp * fade * HOUR_WEIGHTS[moment.hour])
    offsets = rng.choices(range(INCIDENT_HOURS), weights=weights, k=count)
    return [
        RELEASE_AT + timedelta(hours=o, seconds=rng.randrange(3600), milliseconds=rng.randrange(1000))
        for o in offsets
    ]


def app_version_at(moment: datetime, rng: random.Random) -> str:
    """The app version a user plausibly ran at ``moment`` (not everyone updates at once)."""
    if moment >= HOTFIX_AT:
        return rng.choice(("5.13.1", "5.13.1", "5.13.0"))
    if moment >= RELEASE_AT:
        return rng.choice(("5.13.0", "5.13.0", "5.13.0", "5.12.1"))
    if moment >= datetime(2026, 11, 9, tzinfo=UTC):
        return rng.choice(("5.12.1", "5.12.1", "5.12.0"))
    return rng.choice(("5.12.0", "5.12.0", "5.11.4"))


# --------------------------------------------------------------------------------------------------------
# Records and customers
# --------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Record:
    """One feedback record before serialisation; ``fields`` holds the optional contract fields and extras.

    The same object appears twice in a file's row list when it is exported twice (a duplicate), so both
    copies serialise to the same bytes.
    """

    channel: str
    created_at: datetime
    text: str
    source: str
    fields: dict[str, object] = field(default_factory=dict)
    metadata: dict[str, object] | None = None
    incident: bool = False
    url_key: str = ""
    source_record_id: str = ""
    pii: list[str] = field(default_factory=list)
    markup: str = ""
    defect: str = ""


TIERS = ("free", "standard", "premium", "enterprise")
TIER_WEIGHTS = (45, 32, 17, 6)


@dataclass(frozen=True)
class Customers:
    """A pool of pseudonymous customers; a few write often, most write once or twice."""

    ids: list[str]
    tiers: list[str]
    weights: list[float]

    def pick(self, rng: random.Random) -> tuple[str, str]:
        """A ``(customer_id, customer_tier)`` pair."""
        index = rng.choices(range(len(self.ids)), weights=self.weights)[0]
        return self.ids[index], self.tiers[index]


def make_customers(rng: random.Random, count: int = 2600) -> Customers:
    """``count`` distinct ids like ``cus_4f9a2c`` with a tier each."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        candidate = f"cus_{rng.getrandbits(24):06x}"
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    tiers = rng.choices(TIERS, weights=TIER_WEIGHTS, k=count)
    weights = [1.0 / (rank + 1) ** 0.55 for rank in range(count)]
    return Customers(ids, tiers, weights)


def _with_customer(fields: dict[str, object], customers: Customers, rng: random.Random) -> dict[str, object]:
    customer_id, tier = customers.pick(rng)
    fields["customer_id"] = customer_id
    fields["customer_tier"] = tier
    return fields


def area_from_keywords(
    text: str, rules: Sequence[tuple[str, Sequence[str]]], default: str | None
) -> str | None:
    """The product area of the first rule one of whose keywords occurs in ``text`` (lower-cased)."""
    lowered = text.lower()
    for area, keywords in rules:
        if any(keyword in lowered for keyword in keywords):
            return area
    return default


# --------------------------------------------------------------------------------------------------------
# support_ticket <- CFPB complaint narratives
# --------------------------------------------------------------------------------------------------------

CFPB_AREA_RULES = (
    ("account", ("report", "identity", "fraud", "didn't apply", "closing", "managing an account", "freeze")),
    ("onboarding", ("getting", "approved", "applying", "advertising")),
    (
        "payments",
        ("pay", "withdraw", "credited", "money was taken", "transfer", "cash advance", "using your card"),
    ),
    ("billing", ("fee", "interest", "charg", "statement", "add-on", "debt", "collect", "credit limit")),
)
CFPB_HIGH_SEVERITY = (
    "fraud",
    "identity",
    "didn't apply",
    "repossess",
    "foreclos",
    "threatened",
    "legal action",
    "money was taken",
    "can't stop withdrawals",
    "wasn't credited",
    "didn't receive the money",
)
SEVERITIES = ("low", "medium", "high", "critical")


def ticket_severity(issue: str, tags: str, rng: random.Random) -> str:
    """Severity a support agent would set: from the issue, one level up for servicemembers / older people."""
    lowered = issue.lower()
    level = 2 if any(k in lowered for k in CFPB_HIGH_SEVERITY) else rng.choices((0, 1), weights=(30, 70))[0]
    if "Servicemember" in tags or "Older American" in tags:
        level += 1
    return SEVERITIES[min(level, 3)]


def _cfpb_value(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    return "" if value == "None" else value


def _cfpb_ticket(row: dict[str, str], moment: datetime, customers: Customers, rng: random.Random) -> Record:
    issue = _cfpb_value(row, "Issue")
    product = _cfpb_value(row, "Product")
    complaint_id = _cfpb_value(row, "Complaint ID")
    fields: dict[str, object] = {
        "title": issue or f"Complaint about {product.lower() or 'my account'}",
        "locale": "en-US",
        "product_area": area_from_keywords(issue or product, CFPB_AREA_RULES, "billing"),
        "severity": ticket_severity(issue, _cfpb_value(row, "Tags"), rng),
        "via": (_cfpb_value(row, "Submitted via") or "Web").lower(),
        "external_id": f"cfpb-{complaint_id}" if complaint_id else f"cfpb-row-{row['_row']}",
    }
    return Record(
        channel="support_ticket",
        created_at=moment,
        text=row["Consumer complaint narrative"],
        source="cfpb",
        fields=_with_customer(fields, customers, rng),
    )


def support_tickets(sources: Sources, customers: Customers, rng: random.Random, count: int) -> list[Record]:
    """Tickets from CFPB narratives of 150-1,500 characters, each narrative used once; ``XXXX`` masks kept."""
    pool, seen = [], set()
    for number, row in enumerate(sources.cfpb, start=1):
        narrative = row["Consumer complaint narrative"]
        if 150 <= len(narrative.strip()) <= 1500 and narrative.strip() not in seen:
            seen.add(narrative.strip())
            pool.append({**row, "_row": str(number)})
    picked = rng.sample(pool, count)
    times = sample_times(rng, "support_ticket", count)
    return [_cfpb_ticket(row, moment, customers, rng) for row, moment in zip(picked, times, strict=True)]


# --------------------------------------------------------------------------------------------------------
# chat <- Bitext customer-support instructions
# --------------------------------------------------------------------------------------------------------

BITEXT_INTENT_AREAS = {"place_order": "checkout", "track_order": "delivery"}
BITEXT_CATEGORY_AREAS = {
    "ACCOUNT": "account",
    "ORDER": "orders",
    "DELIVERY": "delivery",
    "SHIPPING_ADDRESS": "delivery",
    "REFUND": "payments",
    "PAYMENT": "payments",
    "INVOICE": "billing",
    "CANCELLATION_FEE": "billing",
    "CONTACT": "customer_service",
    "FEEDBACK": "customer_service",
    "NEWSLETTER": "account",
}


def _bitext_chat(
    number: int, row: dict[str, str], moment: datetime, customers: Customers, rng: random.Random
) -> Record:
    intent, category = row["intent"], row["category"]
    fields: dict[str, object] = {
        "locale": rng.choices(("en-US", "en-GB"), weights=(75, 25))[0],
        "product_area": BITEXT_INTENT_AREAS.get(intent, BITEXT_CATEGORY_AREAS.get(category)),
    }
    return Record(
        channel="chat",
        created_at=moment,
        text=row["instruction"],
        source="bitext",
        fields=_with_customer(fields, customers, rng),
        metadata={
            "source_dataset": "bitext-customer-support",
            "source_row": number,
            "intent": intent,
            "category": category,
        },
    )


def chats(sources: Sources, customers: Customers, rng: random.Random, count: int) -> list[Record]:
    """Chats whose first customer message is a Bitext ``instruction``; intent and category go to metadata."""
    numbered = list(enumerate(sources.bitext, start=1))
    picked = rng.sample(numbered, count)
    times = sample_times(rng, "chat", count)
    return [
        _bitext_chat(number, row, moment, customers, rng)
        for (number, row), moment in zip(picked, times, strict=True)
    ]


# --------------------------------------------------------------------------------------------------------
# app_store <- Banking77 queries
# --------------------------------------------------------------------------------------------------------

BANKING_AREA_RULES = (
    ("billing", ("fee", "charge", "statement")),
    ("delivery", ("arrival", "delivery")),
    (
        "account",
        ("identity", "passcode", "pin_", "personal_details", "terminate", "age_limit", "stolen", "verify"),
    ),
    ("mobile_app", ("apple_pay", "contactless", "linking", "virtual_card", "disposable")),
    (
        "payments",
        ("top_up", "transfer", "exchange", "cash", "payment", "refund", "declined", "pending", "balance"),
    ),
)
BANKING_PROBLEM_WORDS = (
    "declined",
    "not_working",
    "lost",
    "stolen",
    "compromised",
    "failed",
    "wrong",
    "charged",
    "pending",
    "not_received",
    "not_recognised",
    "reverted",
    "swallowed",
    "blocked",
    "fee",
    "extra_charge",
    "not_showing",
    "forgotten",
)
APP_TITLES_BAD = ("Needs fixing", "Frustrating", "Please help", "Not working", "Annoying", "Could be better")
APP_TITLES_OK = ("Question", "Good app but", "Quick question", "Mostly good", "Handy", "Nice app")


def _banking_review(item: tuple[str, int, dict[str, str]], moment: datetime, rng: random.Random) -> Record:
    split, number, row = item
    intent = row["category"]
    problem = any(word in intent for word in BANKING_PROBLEM_WORDS)
    rating = rng.choice((1, 1, 2, 2, 3)) if problem else rng.choice((3, 4, 4, 5, 5))
    fields: dict[str, object] = {
        "title": rng.choice(APP_TITLES_BAD if problem else APP_TITLES_OK) if rng.random() < 0.4 else None,
        "rating": rating,
        "locale": rng.choices(("en-GB", "en-US"), weights=(70, 30))[0],
        "product_area": area_from_keywords(intent, BANKING_AREA_RULES, "onboarding"),
    }
    metadata = {
        "source_dataset": "banking77",
        "source_split": split,
        "source_row": number,
        "intent": intent,
        "platform": rng.choice(("ios", "android")),
        "app_version": app_version_at(moment, rng),
    }
    return Record("app_store", moment, row["text"], "banking77", fields, metadata)


def app_store_reviews(sources: Sources, rng: random.Random, count: int) -> list[Record]:
    """App-store reviews whose text is a Banking77 query; the rating follows the intent (problem -> low)."""
    picked = rng.sample(sources.banking77, count)
    times = sample_times(rng, "app_store", count)
    return [_banking_review(item, moment, rng) for item, moment in zip(picked, times, strict=True)]


# --------------------------------------------------------------------------------------------------------
# review <- UCI Amazon sentences; social <- UCI Yelp sentences
# --------------------------------------------------------------------------------------------------------

REVIEW_AREA_RULES = (
    ("delivery", ("shipping", "shipped", "arrived", "delivery", "package", "came in")),
    ("billing", ("refund", "return", "price", "money", "cost")),
)
SOCIAL_AREA_RULES = (
    ("delivery", ("deliver", "took forever", "waited", "wait ", "cold", "late")),
    ("customer_service", ("service", "staff", "waiter", "waitress", "server", "manager", "rude")),
    ("billing", ("price", "overpriced", "expensive", "cheap", "bill")),
)
REVIEW_TITLES_GOOD = (
    "Great value",
    "Works as described",
    "Very happy",
    "Excellent",
    "Recommended",
    "Love it",
)
REVIEW_TITLES_BAD = ("Disappointed", "Not worth it", "Stopped working", "Poor quality", "Returned it", "Meh")
SOCIAL_TAGS = ("#foodie", "#dinner", "#takeaway", "#delivery", "#fail", "#yum", "#customerservice")


def _amazon_review(
    item: tuple[int, str, int], moment: datetime, customers: Customers, rng: random.Random
) -> Record:
    number, sentence, label = item
    rating = rng.choice((4, 5, 5)) if label else rng.choice((1, 1, 2, 2, 3))
    titles = REVIEW_TITLES_GOOD if label else REVIEW_TITLES_BAD
    fields: dict[str, object] = {
        "rating": rating,
        "title": rng.choice(titles) if rng.random() < 0.6 else None,
        "locale": "en-US",
        "product_area": area_from_keywords(sentence, REVIEW_AREA_RULES, None),
    }
    record = Record("review", moment, sentence, "uci_amazon", _with_customer(fields, customers, rng))
    record.url_key = f"SKU-{rng.randrange(10000, 99999)}"
    return record


def product_reviews(sources: Sources, customers: Customers, rng: random.Random, count: int) -> list[Record]:
    """Product reviews from UCI Amazon cell-phone sentences; the star rating follows the binary label."""
    picked = rng.sample(sources.uci_amazon, min(count, len(sources.uci_amazon)))
    times = sample_times(rng, "review", len(picked))
    return [_amazon_review(item, moment, customers, rng) for item, moment in zip(picked, times, strict=True)]


def _decorate_social(sentence: str, rng: random.Random) -> tuple[str, bool]:
    roll = rng.random()
    if roll < 0.12:
        return f"{rng.choice(SOCIAL_HANDLES)} {sentence}", True
    if roll < 0.22:
        return f"{sentence} {rng.choice(SOCIAL_TAGS)}", True
    return sentence, False


def _yelp_mention(item: tuple[int, str, int], moment: datetime, rng: random.Random) -> Record:
    number, sentence, label = item
    text, decorated = _decorate_social(sentence, rng)
    metadata: dict[str, object] = {
        "source_dataset": "uci-sentiment-labelled-sentences",
        "source_file": "yelp_labelled.txt",
        "source_row": number,
        "label": label,
    }
    if decorated:
        metadata["decorated"] = True
    fields: dict[str, object] = {
        "locale": "en-US",
        "product_area": area_from_keywords(sentence, SOCIAL_AREA_RULES, None),
    }
    return Record("social", moment, text, "uci_yelp", fields, metadata)


def social_mentions(sources: Sources, rng: random.Random, count: int) -> list[Record]:
    """Social mentions from UCI Yelp sentences; about a fifth get a project-added @mention or hashtag."""
    picked = rng.sample(sources.uci_yelp, min(count, len(sources.uci_yelp)))
    times = sample_times(rng, "social", len(picked))
    return [_yelp_mention(item, moment, rng) for item, moment in zip(picked, times, strict=True)]


# --------------------------------------------------------------------------------------------------------
# nps, survey and the checkout incident <- project-written text (feedback_ops.synthetic.sample_text)
# --------------------------------------------------------------------------------------------------------


def nps_response(moment: datetime, customers: Customers, rng: random.Random) -> Record:
    """One NPS answer: a 0-10 score and a comment matching it (about 5% in Spanish, German or French)."""
    if rng.random() < 0.05:
        locale, area, positive, text = foreign_comment(rng)
        score = rng.choice((9, 10, 8)) if positive else rng.choice((2, 4, 5, 6))
    else:
        score, bucket = nps_score(rng)
        aspect = pick_aspect(rng)
        locale, area, text = (
            rng.choice(("en-US", "en-US", "en-GB")),
            aspect.area,
            comment(bucket, aspect, rng),
        )
    fields: dict[str, object] = {"rating": score, "locale": locale, "product_area": area}
    return Record("nps", moment, text, "generated:nps", _with_customer(fields, customers, rng))


def survey_response(moment: datetime, customers: Customers, rng: random.Random) -> Record:
    """One survey answer: the survey question as title, a 1-5 satisfaction score and a matching comment."""
    question, area, _ = rng.choices(SURVEYS, weights=[s[2] for s in SURVEYS])[0]
    score = rng.choices((1, 2, 3, 4, 5), weights=(10, 12, 18, 30, 30))[0]
    bucket = "promoter" if score >= 4 else "passive" if score == 3 else "detractor"
    fields: dict[str, object] = {
        "rating": score,
        "title": question,
        "locale": rng.choice(("en-US", "en-US", "en-GB")),
        "product_area": area,
    }
    text = comment(bucket, ASPECT_BY_AREA[area], rng)
    return Record("survey", moment, text, "generated:survey", _with_customer(fields, customers, rng))


def nps_and_surveys(
    customers: Customers, rng: random.Random, nps_count: int, survey_count: int
) -> list[Record]:
    """Project-written NPS and survey answers over the three weeks."""
    records = [nps_response(t, customers, rng) for t in sample_times(rng, "nps", nps_count)]
    records += [survey_response(t, customers, rng) for t in sample_times(rng, "survey", survey_count)]
    return records


# --- The checkout incident -------------------------------------------------------------------------------

INCIDENT_CHANNEL_COUNTS = {"app_store": 85, "support_ticket": 60, "chat": 65, "social": 40}
"""The 250 extra records of the incident, per channel."""


def _incident_fields(channel: str, text: str, rng: random.Random) -> dict[str, object]:
    charged = any(word in text for word in CHARGED_WORDS)
    fields: dict[str, object] = {"product_area": "checkout"}
    if (channel, charged) in INCIDENT_TITLES:
        fields["title"] = rng.choice(INCIDENT_TITLES[channel, charged])
    if channel == "app_store":
        fields["rating"] = rng.choices((1, 2), weights=(80, 20))[0]
    if channel == "support_ticket":
        fields["severity"] = "critical" if charged else rng.choices(("high", "medium"), weights=(80, 20))[0]
        fields["via"] = rng.choice(("web", "email", "web"))
    return fields


def _incident_metadata(channel: str, moment: datetime, rng: random.Random) -> dict[str, object] | None:
    if channel == "support_ticket":
        return None
    metadata: dict[str, object] = {"source_dataset": "generated", "generator": "incident_checkout_v1"}
    if channel == "app_store":
        metadata["platform"] = rng.choice(("ios", "android"))
        metadata["app_version"] = "5.13.1" if moment >= HOTFIX_AT else "5.13.0"
    return metadata


def incident_records(customers: Customers, rng: random.Random) -> list[Record]:
    """The checkout incident: 250 negative records with ``product_area=checkout`` after the release."""
    records = []
    for channel, count in INCIDENT_CHANNEL_COUNTS.items():
        for moment in incident_times(rng, count):
            locale, text = incident_text(channel, rng)
            fields = _incident_fields(channel, text, rng)
            fields["locale"] = locale
            if channel in ("support_ticket", "chat"):
                _with_customer(fields, customers, rng)
            metadata = _incident_metadata(channel, moment, rng)
            records.append(
                Record(channel, moment, text, "generated:incident", fields, metadata, incident=True)
            )
    return records


# --------------------------------------------------------------------------------------------------------
# Synthetic PII and export markup
# --------------------------------------------------------------------------------------------------------

PII_RATE = 0.052


def inject_pii(records: Sequence[Record], rng: random.Random) -> None:
    """Put synthetic PII (email, phone, Luhn-valid card, order id) into about 5% of the English texts."""
    english = [r for r in records if not str(r.fields.get("locale", "en")).startswith(("es", "de", "fr"))]
    kinds = list(PII_TYPE_WEIGHTS)
    for record in rng.sample(english, round(len(records) * PII_RATE)):
        count = 2 if rng.random() < 0.15 else 1
        for kind in rng.sample(kinds, count, counts=[PII_TYPE_WEIGHTS[k] for k in kinds]):
            if kind in record.pii:
                continue
            record.text = insert_sentence(record.text, pii_sentence(kind, rng), rng)
            record.pii.append(kind)


MARKUP_RATES = {
    "support_ticket": 0.15,
    "chat": 0.06,
    "social": 0.05,
    "review": 0.05,
    "app_store": 0.03,
    "nps": 0.04,
    "survey": 0.04,
}


def add_markup(records: Sequence[Record], rng: random.Random) -> None:
    """Give some texts light HTML or extra whitespace (more in tickets: Zendesk bodies are HTML)."""
    for record in records:
        if rng.random() >= MARKUP_RATES[record.channel]:
            continue
        kind = rng.choices(list(MARKUPS), weights=(40, 30, 30))[0]
        record.text = MARKUPS[kind](record.text, rng)
        record.markup = kind


# --------------------------------------------------------------------------------------------------------
# Ids and files
# --------------------------------------------------------------------------------------------------------


def _id_sequence(start: int, step: tuple[int, int], fmt: str) -> Callable[[random.Random, int], list[str]]:
    def make(rng: random.Random, count: int) -> list[str]:
        ids, current = [], start
        for _ in range(count):
            current += rng.randint(*step)
            ids.append(fmt.format(current))
        return ids

    return make


ID_SEQUENCES = {
    "support_ticket": _id_sequence(48200, (1, 3), "{}"),
    "chat": _id_sequence(215633001000000, (1000, 90000), "{}"),
    "app_store": _id_sequence(11802345000, (1, 900), "{}"),
    "review": _id_sequence(3100000, (1, 4), "rv_{:07d}"),
    "nps": _id_sequence(0, (1, 2), "nps_2611_{:05d}"),
    "survey": _id_sequence(0, (1, 2), "svy_2611_{:05d}"),
    "social": _id_sequence(1858000000000000000, (10**9, 10**11), "{}"),
}
"""How each tool numbers its records: increasing with time, with gaps (deleted or other-brand records)."""

URL_TEMPLATES = {
    "support_ticket": "https://support.example.com/agent/tickets/{id}",
    "chat": "https://inbox.example.com/conversations/{id}",
    "app_store": "https://apps.example.com/app/marketplace/reviews/{id}",
    "review": "https://shop.example.com/products/{key}/reviews/{id}",
    "social": "https://social.example.com/status/{id}",
}


def assign_ids(records: Sequence[Record], rng: random.Random) -> None:
    """Give every record its tool's id (in time order per channel) and the record's url."""
    by_channel: dict[str, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.created_at):
        by_channel.setdefault(record.channel, []).append(record)
    for channel in sorted(by_channel):
        members = by_channel[channel]
        for record, record_id in zip(members, ID_SEQUENCES[channel](rng, len(members)), strict=True):
            record.source_record_id = record_id
            if channel in URL_TEMPLATES:
                record.fields["url"] = URL_TEMPLATES[channel].format(id=record_id, key=record.url_key)


@dataclass(frozen=True)
class FileSpec:
    """One export file: its name, format, columns (CSV header / JSON key order) and timestamp style."""

    name: str
    fmt: str
    columns: tuple[str, ...]
    timestamp_style: str
    tool: str


TICKET_COLUMNS = (
    "source_record_id", "channel", "created_at", "title", "text", "locale", "product_area",
    "customer_id", "customer_tier", "severity", "url", "via", "external_id",
)  # fmt: skip
REVIEW_COLUMNS = (
    "source_record_id", "channel", "created_at", "rating", "title", "text", "locale", "product_area",
    "customer_id", "customer_tier", "url",
)  # fmt: skip
NPS_COLUMNS = (
    "source_record_id", "channel", "created_at", "rating", "title", "text", "locale", "product_area",
    "customer_id", "customer_tier",
)  # fmt: skip
JSON_KEYS = (
    "source_record_id", "channel", "created_at", "title", "text", "rating", "locale", "product_area",
    "customer_id", "customer_tier", "severity", "url", "metadata",
)  # fmt: skip

TICKETS_MAIN = "zendesk_tickets_2026-11.csv"
TICKETS_INCREMENTAL = "zendesk_tickets_2026-11-20_incremental.csv"
FILES = (
    FileSpec(TICKETS_MAIN, "csv", TICKET_COLUMNS, "seconds", "Zendesk ticket export"),
    FileSpec(TICKETS_INCREMENTAL, "csv", TICKET_COLUMNS, "seconds", "Zendesk incremental ticket export"),
    FileSpec("intercom_chats_2026-11.jsonl", "jsonl", JSON_KEYS, "millis", "Intercom conversation export"),
    FileSpec("app_store_reviews_2026-11.jsonl", "jsonl", JSON_KEYS, "seconds", "app-store review feed"),
    FileSpec("product_reviews_2026-11.csv", "csv", REVIEW_COLUMNS, "seconds", "product-review widget export"),
    FileSpec("nps_survey_2026-11.csv", "csv", NPS_COLUMNS, "offset", "NPS / survey tool export"),
    FileSpec("social_mentions_2026-11.jsonl", "jsonl", JSON_KEYS, "seconds", "social-listening export"),
)
SPECS = {spec.name: spec for spec in FILES}
FILE_OF_CHANNEL = {
    "chat": "intercom_chats_2026-11.jsonl",
    "app_store": "app_store_reviews_2026-11.jsonl",
    "review": "product_reviews_2026-11.csv",
    "nps": "nps_survey_2026-11.csv",
    "survey": "nps_survey_2026-11.csv",
    "social": "social_mentions_2026-11.jsonl",
}
INCREMENTAL_FROM = datetime(2026, 11, 20, tzinfo=UTC)
"""The monthly Zendesk export ran at this moment; later tickets are in the incremental export."""


def file_of(record: Record) -> str:
    """The export file a record first appears in."""
    if record.channel == "support_ticket":
        return TICKETS_MAIN if record.created_at < INCREMENTAL_FROM else TICKETS_INCREMENTAL
    return FILE_OF_CHANNEL[record.channel]


def split_into_files(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Every file's rows in time order (ties broken by id), before duplicates are added."""
    files: dict[str, list[Record]] = {spec.name: [] for spec in FILES}
    for record in records:
        files[file_of(record)].append(record)
    for rows in files.values():
        rows.sort(key=lambda r: (r.created_at, r.source_record_id))
    return files


# --------------------------------------------------------------------------------------------------------
# Planted problems: malformed rows and duplicate exports
# --------------------------------------------------------------------------------------------------------

DEFECT_PLAN: dict[str, tuple[str, ...]] = {
    TICKETS_MAIN: ("csv_too_few_fields", "unknown_channel", "invalid_created_at", "missing_created_at", "empty_html"),
    TICKETS_INCREMENTAL: ("csv_too_many_fields",),
    "intercom_chats_2026-11.jsonl": (
        "truncated_json", "json_array", "missing_created_at", "invalid_created_at", "empty_text", "unknown_channel",
    ),
    "app_store_reviews_2026-11.jsonl": (
        "truncated_json", "json_array", "missing_created_at", "invalid_created_at", "blank_text",
    ),
    "product_reviews_2026-11.csv": ("csv_too_few_fields", "missing_created_at", "unknown_channel", "empty_text"),
    "nps_survey_2026-11.csv": ("csv_too_many_fields", "invalid_created_at", "empty_text", "missing_created_at"),
    "social_mentions_2026-11.jsonl": (
        "truncated_json", "json_array", "unknown_channel", "invalid_created_at", "missing_source_record_id",
    ),
}  # fmt: skip
"""The malformed rows of each file, in file order. They replace real rows in place (the rows are broken)."""

UNKNOWN_CHANNELS = {
    TICKETS_MAIN: "fax",
    "intercom_chats_2026-11.jsonl": "sms",
    "product_reviews_2026-11.csv": "fax",
    "social_mentions_2026-11.jsonl": "fax",
}
EMPTY_TEXTS = {"empty_text": "", "blank_text": "   \n  ", "empty_html": "<p> </p>"}
IN_FILE_DUPLICATE_RATE = 0.016
CROSS_FILE_DUPLICATES = 24
"""Tickets updated after the monthly export, so exported again in the incremental export."""


def _spread_positions(rows: Sequence[Record], count: int, rng: random.Random) -> list[int]:
    """``count`` positions spread over the file, one per equal segment, never on incident rows."""
    positions = []
    segment = len(rows) // count
    for index in range(count):
        candidates = [p for p in range(index * segment + 3, (index + 1) * segment) if not rows[p].incident]
        positions.append(rng.choice(candidates))
    return positions


def break_record(record: Record, kind: str, file_name: str) -> None:
    """Turn a valid record into the malformed one of ``kind`` (syntax defects are applied on writing)."""
    record.defect = kind
    if kind == "unknown_channel":
        record.channel = UNKNOWN_CHANNELS[file_name]
    elif kind in EMPTY_TEXTS:
        record.text = EMPTY_TEXTS[kind]
        record.pii, record.markup = [], ""


def plant_defects(files: dict[str, list[Record]], rng: random.Random) -> None:
    """Break the rows of :data:`DEFECT_PLAN` at positions spread over each file."""
    for name, kinds in DEFECT_PLAN.items():
        positions = _spread_positions(files[name], len(kinds), rng)
        for position, kind in zip(positions, kinds, strict=True):
            break_record(files[name][position], kind, name)


def _insert_in_file_duplicates(rows: list[Record], rng: random.Random) -> None:
    count = round(len(rows) * IN_FILE_DUPLICATE_RATE)
    candidates = [p for p, r in enumerate(rows) if not r.defect]
    for source in sorted(rng.sample(candidates, count), reverse=True):
        target = min(len(rows), source + rng.randint(1, 150))
        rows.insert(target, rows[source])


def plant_duplicates(files: dict[str, list[Record]], rng: random.Random) -> None:
    """Export some records twice: tickets updated late land in the incremental export too; every file
    also repeats about 1.6% of its rows a little further down, as paginated exports do."""
    recent = [
        r for r in files[TICKETS_MAIN] if not r.defect and r.created_at >= datetime(2026, 11, 17, tzinfo=UTC)
    ]
    incremental = files[TICKETS_INCREMENTAL]
    for record in sorted(rng.sample(recent, CROSS_FILE_DUPLICATES), key=lambda r: r.source_record_id):
        incremental.insert(rng.randrange(len(incremental) + 1), record)
    for name in sorted(files):
        if name != TICKETS_INCREMENTAL:
            _insert_in_file_duplicates(files[name], rng)


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------


def format_timestamp(moment: datetime, style: str) -> str:
    """ISO-8601 in UTC: ``...Z``, ``...123Z`` (millis) or ``...+00:00`` (offset)."""
    if style == "millis":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if style == "offset":
        return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(record: Record, spec: FileSpec) -> dict[str, object]:
    """The record as exported: the file's columns in order, ``None`` for absent values."""
    values: dict[str, object] = {
        **record.fields,
        "source_record_id": record.source_record_id,
        "channel": record.channel,
        "text": record.text,
        "created_at": format_timestamp(record.created_at, spec.timestamp_style),
        "metadata": record.metadata,
    }
    if record.defect == "invalid_created_at":
        values["created_at"] = "not-a-date"
    elif record.defect == "missing_created_at":
        values["created_at"] = None
    elif record.defect == "missing_source_record_id":
        values["source_record_id"] = None
    return {column: values.get(column) for column in spec.columns}


def _json_dumps(value: object) -> str:
    # Keep one record per physical line even for readers that split on unicode line separators.
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def jsonl_line(record: Record, spec: FileSpec) -> str:
    """One JSONL line: the object without absent keys, or its planted syntax defect."""
    obj = {k: v for k, v in payload(record, spec).items() if v is not None}
    if record.defect == "json_array":
        return _json_dumps(list(obj.values()))
    line = _json_dumps(obj)
    if record.defect == "truncated_json":
        return line[: int(len(line) * 0.6)]
    return line


def csv_row(record: Record, spec: FileSpec) -> list[str]:
    """One CSV row (empty string for absent values), or its planted field-count defect."""
    row = ["" if v is None else str(v) for v in payload(record, spec).values()]
    if record.defect == "csv_too_few_fields":
        return row[:-2]
    if record.defect == "csv_too_many_fields":
        title = spec.columns.index("title")
        head, sep, tail = row[title].partition(" ")
        return row[:title] + [head, tail] + row[title + 1 :] if sep else [*row, ""]
    return row


def render(rows: Sequence[Record], spec: FileSpec) -> str:
    """The whole file's text."""
    if spec.fmt == "jsonl":
        return "".join(jsonl_line(record, spec) + "\n" for record in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(spec.columns)
    writer.writerows(csv_row(record, spec) for record in rows)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------
# Statistics and the generated README
# --------------------------------------------------------------------------------------------------------

EXPECTED_REASON = {
    "missing_created_at": "missing_created_at",
    "invalid_created_at": "invalid_created_at: not-a-date",
    "empty_text": "empty_text",
    "blank_text": "empty_text",
    "empty_html": "empty_text",
    "missing_source_record_id": "missing_source_record_id",
}
DEFECT_DESCRIPTION = {
    "truncated_json": "line cut off mid-object (invalid JSON)",
    "json_array": "a JSON array of the values instead of an object",
    "csv_too_few_fields": "row cut short: last two fields missing",
    "csv_too_many_fields": "unquoted comma in the title: one field too many",
    "csv_trailing_delimiter": "stray delimiter at the end of the row: one field too many",
    "missing_created_at": "`created_at` absent / empty",
    "invalid_created_at": "`created_at` = `not-a-date`",
    "unknown_channel": "unknown channel",
    "empty_text": "`text` empty",
    "blank_text": "`text` only whitespace",
    "empty_html": "`text` = `<p> </p>` (empty once HTML is stripped)",
    "missing_source_record_id": "`source_record_id` absent",
}


def _json_parse_error(line: str) -> str:
    """The ``parse_error`` the bronze loader gives a JSONL line that is not an object."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return f"invalid_json: {error.msg} at column {error.colno}"
    return f"not_a_json_object: got {type(value).__name__}"


def describe_defect(record: Record) -> str:
    """A short description of a planted row's defect."""
    if record.defect == "csv_too_many_fields" and " " not in str(record.fields.get("title") or ""):
        return DEFECT_DESCRIPTION["csv_trailing_delimiter"]
    if record.defect == "unknown_channel":
        return f"unknown channel `{record.channel}`"
    return DEFECT_DESCRIPTION[record.defect]


def expected_reason(record: Record, spec: FileSpec) -> str:
    """The quarantine reason the silver layer should give a planted row."""
    if record.defect == "unknown_channel":
        return f"unknown_channel: {record.channel}"
    if record.defect.startswith("csv_"):
        got = len(csv_row(record, spec))
        return f"malformed_record: csv_field_count_mismatch: expected {len(spec.columns)}, got {got}"
    if record.defect in ("truncated_json", "json_array"):
        return f"malformed_record: {_json_parse_error(jsonl_line(record, spec))}"
    return EXPECTED_REASON[record.defect]


@dataclass
class FileStats:
    """What one written file holds."""

    rows: int = 0
    size_bytes: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    in_file_duplicates: int = 0
    cross_file_duplicates: int = 0
    malformed: list[tuple[int, str, str, str]] = field(default_factory=list)
    pii: Counter[str] = field(default_factory=Counter)
    markup: Counter[str] = field(default_factory=Counter)
    incident: int = 0


def _count_first_occurrence(stats: FileStats, record: Record) -> None:
    if record.defect:
        return
    stats.by_channel[record.channel] += 1
    stats.incident += record.incident
    stats.pii.update(record.pii)
    if record.markup:
        stats.markup[record.markup] += 1


def file_stats(files: dict[str, list[Record]], texts: dict[str, str]) -> dict[str, FileStats]:
    """Per-file counts, derived from the rows as written (so the README cannot drift from the data)."""
    result: dict[str, FileStats] = {}
    exported: set[int] = set()
    for spec in FILES:
        stats = FileStats(rows=len(files[spec.name]), size_bytes=len(texts[spec.name].encode("utf-8")))
        seen_here: set[int] = set()
        for position, record in enumerate(files[spec.name], start=1):
            key = id(record)
            if record.defect:
                record_id = "" if record.defect == "missing_source_record_id" else record.source_record_id
                stats.malformed.append(
                    (position, record_id, describe_defect(record), expected_reason(record, spec))
                )
            elif key in seen_here:
                stats.in_file_duplicates += 1
            elif key in exported:
                stats.cross_file_duplicates += 1
            else:
                _count_first_occurrence(stats, record)
            seen_here.add(key)
            exported.add(key)
        result[spec.name] = stats
    return result


def checkout_per_day(records: Iterable[Record]) -> dict[str, int]:
    """Records with ``product_area`` = ``checkout`` per UTC day, every day of the range (zeros included)."""
    counts = Counter(
        r.created_at.date().isoformat() for r in records if r.fields.get("product_area") == "checkout"
    )
    return {
        (START + timedelta(days=d)).date().isoformat(): counts.get(
            (START + timedelta(days=d)).date().isoformat(), 0
        )
        for d in range(DAYS)
    }


def _incident_summary(records: Iterable[Record]) -> tuple[Counter[str], Counter[str]]:
    by_channel: Counter[str] = Counter()
    by_day: Counter[str] = Counter()
    for record in records:
        if record.incident:
            by_channel[record.channel] += 1
            by_day[record.created_at.date().isoformat()] += 1
    return by_channel, by_day


README_HEAD = """\
# Sample data: three weeks of customer feedback exports

Generated by `tools/build_sample_data.py` (seed {seed}); do not edit by hand. Rebuild from the project root
(the same seed gives byte-identical files, this README included):

```bash
PYTHONPATH=plugins .venv/bin/python tools/build_sample_data.py \\
    --shared-data ../shared/data --out include/sample_data --seed {seed}
```

The files imitate the exports of the feedback tools of a fictional online marketplace (shop and restaurant
orders, an app, a card, a wallet and pay-later credit). Every record follows the incoming-feedback contract
of `docs/architecture.md` (`source_record_id`, `channel`, `text`, `created_at` required; the optional fields
where the tool has them). `created_at` runs from **2026-11-01 to 2026-11-21 (UTC)** with a daily rhythm
(quiet at night, busy from late morning to evening) and fewer tickets, chats and surveys at weekends. All
timestamps are UTC: `...Z`, `...123Z` (Intercom) or `...+00:00` (NPS tool).

## Files

| file | tool | format | rows | channels (unique valid records) | size |
|---|---|---|---|---|---|
{file_rows}
| **total** | | | **{total_rows}** | **{total_valid}** unique valid records | {total_kb} KB |

Rows = records in the file (CSV: data rows, header excluded), malformed rows and duplicate exports included.
Expected reconciliation after a load of all files: bronze **{total_rows}** = silver **{total_valid}** +
quarantined **{total_malformed}** + duplicates **{total_duplicates}**.
"""

PROVENANCE = """\
## Provenance: where each file's text comes from

Only the permissively licensed sets of the shared data folder are used, plus text this project writes. The
sets that are for evaluation only (TweetEval, Amazon Alexa reviews, Google Play bank reviews) are never read.
Ids, timestamps, customers, locales, product areas, ratings and urls are assigned by the builder (the public
sets have none of them that fit); `metadata` in the JSONL files points back to the source row.

- `zendesk_tickets_2026-11.csv` and `zendesk_tickets_2026-11-20_incremental.csv` (`support_ticket`): the
  ticket body is a **CFPB consumer complaint narrative** (`cfpb-consumer-complaints/cfpb_combined.csv`, US
  public data), unchanged: the CFPB's `XXXX` / `XX/XX/XXXX` / `{$amount}` scrubbing marks are kept. Narratives
  of 150-1,500 characters, each used once. `title` = the CFPB `Issue` (or the product), `product_area` and
  `severity` come from rules on the issue and tags, `via` = `Submitted via`, `external_id` = `cfpb-<Complaint
  ID>` (or `cfpb-row-<n>`, the data row of `cfpb_combined.csv`, when the sample has no id). The monthly export
  ran at 2026-11-20 00:00 UTC; later tickets are in the incremental export. The incident tickets are generated.
- `intercom_chats_2026-11.jsonl` (`chat`): the first customer message is a **Bitext customer-support**
  `instruction` (CDLA-Sharing-1.0), unchanged; `metadata` holds `source_row`, `intent` and `category`.
  Bitext's text is partly machine-generated by Bitext (see its SOURCE.md). The incident chats are generated.
- `app_store_reviews_2026-11.jsonl` (`app_store`): the review text is a **Banking77** query (PolyAI,
  CC BY 4.0), unchanged; the 1-5 `rating` follows the intent (problem intents low), short titles are
  project-written; `metadata` holds `source_split`, `source_row`, `intent`, `platform` and `app_version`
  (5.13.0 released 2026-11-18 10:00 UTC, hotfix 5.13.1 on 2026-11-19 14:00 UTC).
- `product_reviews_2026-11.csv` (`review`): the review is a sentence of **UCI Sentiment Labelled Sentences**,
  `amazon_cells_labelled.txt` (CC BY 4.0); the 1-5 `rating` follows the binary label, titles are project-written.
- `nps_survey_2026-11.csv` (`nps`, `survey`): **project-written** by a templated generator: NPS comments with
  a 0-10 `rating` and survey answers (question in `title`, 1-5 `rating`); about 5% of the NPS comments are in
  Spanish, German or French (also project-written).
- `social_mentions_2026-11.jsonl` (`social`): a sentence of **UCI Sentiment Labelled Sentences**,
  `yelp_labelled.txt` (CC BY 4.0); about a fifth get a project-added `@marketapp` mention or a hashtag
  (`metadata.decorated`); `metadata` holds `source_file`, `source_row` and the sentiment `label`.

Changes made to the source text, everywhere: synthetic PII inserted into about 5% of the texts, light HTML or
extra whitespace added to some (below), and the planted malformed rows. Nothing else is edited.
"""

ATTRIBUTION = """\
## Attribution and licences

- **CFPB Consumer Complaint Database**, Consumer Financial Protection Bureau (consumerfinance.gov): US federal
  government public data. Narratives are published with the consumer's consent after CFPB scrubbing.
- **Bitext Sample Customer Support Training Dataset**, Bitext Innovations
  (github.com/bitext/customer-support-llm-chatbot-training-dataset): Community Data License Agreement -
  Sharing 1.0 (CDLA-Sharing-1.0). The chat texts here are data under that licence; if you share this data
  (modified or not), share it under CDLA-Sharing-1.0 too.
- **BANKING77**, PolyAI (github.com/PolyAI-LDN/task-specific-datasets): CC BY 4.0. Casanueva, I., Temčinas, T.,
  Gerz, D., Henderson, M., Vulić, I. (2020). *Efficient Intent Detection with Dual Sentence Encoders*.
  Proceedings of the 2nd Workshop on NLP for ConvAI, ACL 2020.
- **Sentiment Labelled Sentences**, UCI Machine Learning Repository: CC BY 4.0. Kotzias, D., Denil, M.,
  de Freitas, N., Smyth, P. (2015). *From Group to Individual Labels using Deep Features*. KDD 2015.
- Everything else (NPS and survey comments, incident texts, titles, PII values, ids) is written by this
  project's generator and released with the project.

The project-level `NOTICE` file repeats these attributions.
"""


def _file_row(spec: FileSpec, stats: FileStats) -> str:
    channels = ", ".join(f"{c} {n}" for c, n in sorted(stats.by_channel.items()))
    return f"| `{spec.name}` | {spec.tool} | {spec.fmt.upper()} | {stats.rows} | {channels} | {stats.size_bytes // 1024} KB |"


def readme_head(stats: dict[str, FileStats], seed: int) -> str:
    """The README's opening and file table."""
    total_malformed = sum(len(s.malformed) for s in stats.values())
    total_duplicates = sum(s.in_file_duplicates + s.cross_file_duplicates for s in stats.values())
    total_rows = sum(s.rows for s in stats.values())
    return README_HEAD.format(
        seed=seed,
        file_rows="\n".join(_file_row(spec, stats[spec.name]) for spec in FILES),
        total_rows=total_rows,
        total_valid=total_rows - total_malformed - total_duplicates,
        total_malformed=total_malformed,
        total_duplicates=total_duplicates,
        total_kb=sum(s.size_bytes for s in stats.values()) // 1024,
    )


def readme_incident(records: Sequence[Record]) -> str:
    """The README section on the planted checkout incident."""
    by_channel, by_day = _incident_summary(records)
    per_day = checkout_per_day(records)
    before = [n for day, n in per_day.items() if day < RELEASE_AT.date().isoformat()]
    median = statistics.median(before)
    channels = ", ".join(f"{c} {n}" for c, n in sorted(by_channel.items()))
    days = ", ".join(f"{d}: {n}" for d, n in sorted(by_day.items()))
    spike = ", ".join(f"{d}: {per_day[d]}" for d in sorted(by_day))
    return f"""\
## The planted incident: checkout broken by a release

App version 5.13.0 was released on **2026-11-18 at 10:00 UTC** and broke checkout: payments failing, orders
not going through, cards charged with no order created, errors at checkout after the update. Hotfix 5.13.1
shipped on 2026-11-19 at 14:00 UTC and the reports fade out by 16:00 UTC (about 30 hours in all).

- **{sum(by_channel.values())} extra records** with `product_area` = `checkout`, all negative, written by a
  templated generator (many phrasings: about 20 failure descriptions, details, asks, amounts, error codes,
  payment methods and devices, per-channel styles; about 5% in Spanish, German or French).
- Per channel: {channels}. Per day: {days}.
- Before the release, checkout volume is small and flat: {min(before)}-{max(before)} records a day with
  `product_area` = `checkout` (median {median:g}, 2026-11-01..17: Bitext `place_order` chats, NPS / survey
  comments about checkout), so the spike stands out. All checkout records on the spike days: {spike}.
- App-store incident reviews carry `metadata.app_version` 5.13.0 (5.13.1 after the hotfix).
"""


def readme_problems(stats: dict[str, FileStats]) -> str:
    """The README sections on malformed rows, duplicates, PII and markup, per file."""
    lines = [
        "## Planted malformed rows",
        "",
        "Real rows broken in place at fixed positions (position = 1-based record number in the file; CSV: data",
        "row, header excluded). Expected `quarantine_reason` as in `docs/data-model.md`.",
        "",
        "| file | position | source_record_id | defect | expected quarantine_reason |",
        "|---|---|---|---|---|",
    ]
    for spec in FILES:
        for position, record_id, description, reason in stats[spec.name].malformed:
            shown = f"`{record_id}`" if record_id else "(absent)"
            lines.append(f"| `{spec.name}` | {position} | {shown} | {description} | `{reason}` |")
    lines += [
        "",
        "## Planted duplicates, synthetic PII and markup (per file)",
        "",
        "A duplicate is the same record (same `source_record_id` and `channel`, identical payload) exported",
        "again: in the same file (a later page repeating rows, 1-150 rows after the first copy) or in another",
        "file of the same channel (tickets updated after the monthly export, re-exported in the incremental",
        "export). PII counts are of records carrying each kind of synthetic value: fake e-mails on example",
        "domains, fictional phone numbers (US 555-01xx, UK Ofcom drama ranges), Luhn-valid public test card",
        "numbers, order ids `ORD-123456`. Markup counts are of texts given `<p>` paragraphs, `<br>` breaks (with",
        "`&amp;`, `&#39;`, `&nbsp;` entities) or stray whitespace.",
        "",
        "| file | malformed | duplicates in file | duplicates of another file | PII email / phone / card / order "
        "| html_p / html_br / whitespace |",
        "|---|---|---|---|---|---|",
    ]
    for spec in FILES:
        s = stats[spec.name]
        pii = " / ".join(str(s.pii[k]) for k in PII_TYPE_WEIGHTS)
        markup = " / ".join(str(s.markup[k]) for k in MARKUPS)
        lines.append(
            f"| `{spec.name}` | {len(s.malformed)} | {s.in_file_duplicates} | {s.cross_file_duplicates} "
            f"| {pii} | {markup} |"
        )
    return "\n".join(lines) + "\n"


def render_readme(stats: dict[str, FileStats], records: Sequence[Record], seed: int) -> str:
    """The folder's README: provenance, licences, time range, incident, planted problems, rebuild command."""
    parts = [
        readme_head(stats, seed),
        PROVENANCE,
        readme_incident(records),
        readme_problems(stats),
        ATTRIBUTION,
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------------

BASE_COUNTS = {"support_ticket": 1150, "chat": 1350, "app_store": 1000, "review": 1000, "social": 720}
NPS_COUNT, SURVEY_COUNT = 620, 260


def build_records(sources: Sources, seed: int) -> list[Record]:
    """Every record, with ids, PII and markup, before files, defects and duplicates."""

    def rng(stage: str) -> random.Random:
        return random.Random(f"feedback-ops-sample:{seed}:{stage}")

    customers = make_customers(rng("customers"))
    records = support_tickets(sources, customers, rng("tickets"), BASE_COUNTS["support_ticket"])
    records += chats(sources, customers, rng("chats"), BASE_COUNTS["chat"])
    records += app_store_reviews(sources, rng("app_store"), BASE_COUNTS["app_store"])
    records += product_reviews(sources, customers, rng("reviews"), BASE_COUNTS["review"])
    records += social_mentions(sources, rng("social"), BASE_COUNTS["social"])
    records += nps_and_surveys(customers, rng("nps"), NPS_COUNT, SURVEY_COUNT)
    records += incident_records(customers, rng("incident"))
    inject_pii(records, rng("pii"))
    add_markup(records, rng("markup"))
    assign_ids(records, rng("ids"))
    return records


def build_sample_data(shared_data_dir: Path, out_dir: Path, seed: int = 7) -> dict[str, int]:
    """Write the sample export files and their README into ``out_dir``.

    Args:
        shared_data_dir: the shared data folder (``../shared/data`` from the project root).
        out_dir: where to write (created if needed); only the files of :data:`FILES` and ``README.md`` are
            written, nothing else in the folder is touched.
        seed: the same seed always gives byte-identical files.

    Returns:
        Records written per file (malformed rows and duplicate exports included).

    Raises:
        MissingSharedDataError: ``shared_data_dir`` lacks a needed input file.
    """
    sources = load_sources(require_inputs(Path(shared_data_dir)))
    records = build_records(sources, seed)
    files = split_into_files(records)
    plant_defects(files, random.Random(f"feedback-ops-sample:{seed}:defects"))
    plant_duplicates(files, random.Random(f"feedback-ops-sample:{seed}:duplicates"))
    texts = {spec.name: render(files[spec.name], spec) for spec in FILES}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_bytes(text.encode("utf-8"))
    readme = render_readme(file_stats(files, texts), records, seed)
    (out / "README.md").write_bytes(readme.encode("utf-8"))
    return {spec.name: len(files[spec.name]) for spec in FILES}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: rebuild the sample data; prints records per file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=PROJECT_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "include" / "sample_data")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        counts = build_sample_data(args.shared_data, args.out, args.seed)
    except MissingSharedDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, count in counts.items():
        print(f"{count:6d}  {args.out / name}")
    print(f"{sum(counts.values()):6d}  records in {len(counts)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
