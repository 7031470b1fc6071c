"""The load generator: realistic multi-channel feedback exports at any volume, seeded and reproducible.

    feedback-ops generate --records 100000 --days 28 --out .local/landing_100k

Used by every benchmark under ``bench/`` and available to users who want to try the pipeline at their own
volume. What it writes looks like what the feedback tools of a marketplace export, one file per channel per
day (CSV for tickets, reviews, NPS and surveys; JSON Lines for chats, app-store reviews, social mentions and
call transcripts), in the landing format the pipeline reads:

- **text**: the shipped sample data (``include/sample_data``: CFPB complaints, Bitext chats, Banking77 app
  reviews, UCI reviews and social sentences, project-written NPS / survey comments - all permissively
  licensed) as the pool of what customers say, each record varied with a context sentence (an order number, a
  device, a day, an attempt count) so texts are unique, as in real exports, and the enrichment cache does not
  make a benchmark look faster than production; call transcripts are composed as speaker turns (agent
  greeting, the customer's issue, follow-ups, the agent's resolution) and are the longest records;
- **mix and rhythm**: ``CHANNEL_MIX`` shares, a daily rhythm (quiet nights, busy afternoons) and a weekly one
  (fewer tickets at weekends, more social posts), locales and customer tiers from the pool;
- **defects**: about 2 % duplicate exports (the same record again, later in the day's file) and 0.5 %
  malformed rows (missing text, unparseable timestamp, unknown channel), each of which the pipeline must
  quarantine or deduplicate without losing count;
- **incidents**: ``incidents`` planted bursts (default one every 10 days) of one complaint in one product area
  across several channels, ramping up over a few hours; their windows are written to
  ``generator_manifest.json`` with every count, so a benchmark can check what the pipeline found.

The same seed and arguments give byte-identical files. Memory stays flat: records are generated and written
one day at a time.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT

SAMPLE_DATA = PROJECT_ROOT / "include" / "sample_data"

CHANNEL_MIX = {
    "support_ticket": 0.22,
    "chat": 0.22,
    "app_store": 0.16,
    "review": 0.12,
    "social": 0.1,
    "nps": 0.08,
    "survey": 0.05,
    "call_transcript": 0.05,
}
"""Share of records per channel (sums to 1)."""
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 12, 13, 13, 13, 13, 13, 14, 14, 13, 12, 10, 8, 5, 3)
WEEKEND_FACTOR = {
    "support_ticket": 0.55,
    "chat": 0.7,
    "app_store": 0.95,
    "review": 1.1,
    "social": 1.25,
    "nps": 0.6,
    "survey": 0.6,
    "call_transcript": 0.4,
}
DUPLICATE_RATE = 0.02
MALFORMED_RATE = 0.005
CSV_CHANNELS = ("support_ticket", "review", "nps", "survey")
CSV_COLUMNS = (
    "source_record_id",
    "channel",
    "created_at",
    "title",
    "text",
    "rating",
    "locale",
    "product_area",
    "customer_id",
    "customer_tier",
    "severity",
)

CONTEXT = (
    "Order {order} was placed on {day}.",
    "I'm on {device}.",
    "This is my {nth} attempt today.",
    "Reference {ref}.",
    "Account opened in {year}.",
    "It happened again on {day} around {hour}:{minute:02d}.",
    "Using version 5.{minor}.{patch} of the app.",
    "I've been a customer for {years} years.",
)
DEVICES = ("an iPhone 15", "a Pixel 8", "Android 14", "iOS 18", "a Samsung Galaxy S23", "the web on Chrome")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NTH = ("second", "third", "fourth", "fifth")
AGENT_OPENINGS = (
    "Thank you for calling, my name is {agent}, how can I help you today?",
    "Hi, you're through to customer care, {agent} speaking. What can I do for you?",
    "Good {part}, thanks for holding. How can I help?",
)
AGENT_FOLLOW_UPS = (
    "I'm sorry to hear that. Can you confirm the order number for me?",
    "Thanks. Let me pull up your account, one moment please.",
    "I understand. When did you first notice this?",
    "I see it here. Have you tried again since then?",
)
AGENT_CLOSINGS = (
    "I've raised this with the team and you'll get an email within 24 hours.",
    "I've issued a credit to your account, it should show in 3 to 5 days.",
    "I've escalated it to our specialists; they will call you back tomorrow.",
    "That's fixed now. Is there anything else I can help with?",
)
CUSTOMER_FOLLOW_UPS = (
    "Yes, it's {order}.",
    "It started {days} days ago.",
    "Yes, twice, and it's the same every time.",
    "I really need this sorted today.",
    "No, I haven't changed anything on my side.",
)
AGENTS = ("Maria", "James", "Aisha", "Tom", "Lena", "Carlos")
INCIDENT_TEMPLATES = {
    "checkout": (
        "Checkout keeps failing with error {code} after the update.",
        "I can't pay at checkout, it says session expired every time.",
        "My card was charged but checkout failed and there is no order.",
    ),
    "delivery": (
        "My parcel shows delivered but it never arrived.",
        "Tracking has been stuck at the depot for days.",
        "The courier marked my order as delivered, nothing here.",
    ),
    "account": (
        "I can't log in since this morning, the code never arrives.",
        "Login fails with error {code} and the password reset does nothing.",
        "My account is locked and support can't unlock it.",
    ),
}
"""Planted incident complaints per product area (project-written)."""


@dataclass(frozen=True)
class Template:
    """A real record of the sample data: what one customer said, and how."""

    channel: str
    text: str
    title: str | None
    rating: int | None
    locale: str | None
    product_area: str | None
    severity: str | None


@dataclass
class Incident:
    """A planted burst: when, where, how many records (written to the manifest)."""

    product_area: str
    start: datetime
    hours: int
    records: int
    channels: list[str] = field(default_factory=list)


@dataclass
class GeneratorManifest:
    """What was generated; ``generator_manifest.json`` beside the files."""

    seed: int
    records: int
    days: int
    start: str
    files: int = 0
    per_channel: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    malformed: int = 0
    incidents: list[dict[str, object]] = field(default_factory=list)


def load_templates(sample_dir: Path = SAMPLE_DATA) -> dict[str, list[Template]]:
    """The valid records of the shipped sample data, by channel (a few thousand, read once)."""
    from feedback_ops.ingest.parsing import parse_file

    pool: dict[str, list[Template]] = {}
    for path in sorted(sample_dir.glob("*")):
        fmt = {".csv": "csv", ".jsonl": "jsonl"}.get(path.suffix)
        if fmt is None:
            continue
        for parsed in parse_file(path, fmt):
            if parsed.parse_error:
                continue
            row = json.loads(parsed.payload)
            text, channel = str(row.get("text") or "").strip(), row.get("channel")
            if not text or channel not in CHANNEL_MIX or not row.get("created_at"):
                continue
            rating = row.get("rating")
            pool.setdefault(channel, []).append(
                Template(
                    channel=channel,
                    text=text,
                    title=row.get("title") or None,
                    rating=int(rating) if str(rating or "").strip().isdigit() else None,
                    locale=row.get("locale") or None,
                    product_area=row.get("product_area") or None,
                    severity=row.get("severity") or None,
                )
            )
    # Call transcripts are composed from what ticket and chat customers say.
    pool["call_transcript"] = [
        t for t in pool.get("support_ticket", []) + pool.get("chat", []) if len(t.text) < 600
    ]
    missing = [c for c in CHANNEL_MIX if not pool.get(c)]
    if missing:
        raise ValueError(f"{sample_dir} has no usable records for channels {missing}")
    return pool


class LoadGenerator:
    """Generates ``records`` feedback records over ``days`` days from ``start`` (see the module docstring)."""

    def __init__(
        self,
        records: int,
        *,
        days: int = 28,
        start: datetime = datetime(2026, 11, 1, tzinfo=UTC),
        seed: int = 7,
        incidents: int | None = None,
        templates: dict[str, list[Template]] | None = None,
    ) -> None:
        if records < 1 or days < 1:
            raise ValueError("records and days must be at least 1")
        self.records, self.days, self.start, self.seed = records, days, start, seed
        self.rng = random.Random(seed)
        self.templates = templates or load_templates()
        count = max(1, days // 10) if incidents is None else incidents
        self.incidents = self._plan_incidents(count)
        self._incident_rows = [
            self._incident_records(i, incident) for i, incident in enumerate(self.incidents)
        ]
        self._serial = 0

    # --- planning ---------------------------------------------------------------------------------------

    def _day_weights(self) -> list[float]:
        weights = []
        for day in range(self.days):
            weekend = (self.start + timedelta(days=day)).weekday() >= 5
            weights.append(
                sum(share * (WEEKEND_FACTOR[c] if weekend else 1.0) for c, share in CHANNEL_MIX.items())
            )
        return weights

    def records_per_day(self) -> list[int]:
        """Records of each day: the total split by the weekly rhythm (sums exactly to ``records``)."""
        weights = self._day_weights()
        total = sum(weights)
        counts = [int(self.records * w / total) for w in weights]
        for day in sorted(range(self.days), key=lambda d: -weights[d])[: self.records - sum(counts)]:
            counts[day] += 1
        return counts

    def _plan_incidents(self, count: int) -> list[Incident]:
        incidents = []
        areas = list(INCIDENT_TEMPLATES)
        for index in range(count):
            day = min(self.days - 1, 3 + (index + 1) * self.days // (count + 1))
            start = self.start + timedelta(days=day, hours=self.rng.choice((9, 10, 13, 15)))
            size = max(10, round(self.records * 0.004))
            channels = ["app_store", "support_ticket", "chat", "social"]
            incidents.append(Incident(areas[index % len(areas)], start, 24, size, channels))
        return incidents

    # --- records ----------------------------------------------------------------------------------------

    def _next_id(self, channel: str) -> str:
        self._serial += 1
        return f"gen-{self.seed}-{channel[:3]}-{self._serial:09d}"

    def _context(self, moment: datetime) -> str:
        rng = self.rng
        template = rng.choice(CONTEXT)
        return template.format(
            order=f"ORD-{rng.randrange(10**7, 10**8)}",
            day=DAYS[(moment.weekday() - rng.randrange(1, 4)) % 7],
            device=rng.choice(DEVICES),
            nth=rng.choice(NTH),
            ref=f"#{rng.randrange(10**5, 10**6)}",
            year=rng.randrange(2012, 2026),
            hour=rng.randrange(7, 23),
            minute=rng.randrange(60),
            minor=rng.randrange(9, 14),
            patch=rng.randrange(0, 5),
            years=rng.randrange(2, 12),
        )

    def _vary(self, text: str, moment: datetime, locale: str | None) -> str:
        if locale and not locale.startswith("en"):
            return f"{text} (#{self.rng.randrange(10**5, 10**6)})"
        context = self._context(moment)
        return f"{context} {text}" if self.rng.random() < 0.3 else f"{text} {context}"

    def _transcript(self, template: Template, moment: datetime) -> str:
        rng = self.rng
        agent = rng.choice(AGENTS)
        part = "morning" if moment.hour < 12 else "afternoon" if moment.hour < 18 else "evening"
        turns = [f"Agent: {rng.choice(AGENT_OPENINGS).format(agent=agent, part=part)}"]
        turns.append(f"Customer: {template.text}")
        for _ in range(rng.randrange(1, 4)):
            turns.append(f"Agent: {rng.choice(AGENT_FOLLOW_UPS)}")
            follow = rng.choice(CUSTOMER_FOLLOW_UPS)
            turns.append(
                f"Customer: {follow.format(order=f'ORD-{rng.randrange(10**7, 10**8)}', days=rng.randrange(2, 9))}"
            )
        turns.append(f"Agent: {rng.choice(AGENT_CLOSINGS)}")
        return "\n".join(turns)

    def _record(self, channel: str, moment: datetime) -> dict[str, object]:
        template = self.rng.choice(self.templates[channel])
        text = (
            self._transcript(template, moment)
            if channel == "call_transcript"
            else self._vary(template.text, moment, template.locale)
        )
        record: dict[str, object] = {
            "source_record_id": self._next_id(channel),
            "channel": channel,
            "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "text": text,
            "locale": template.locale or "en-US",
            "product_area": template.product_area,
            "customer_tier": self.rng.choices(("free", "standard", "premium", "enterprise"), (45, 32, 17, 6))[
                0
            ],
            "customer_id": f"cus_{self.rng.randrange(16**6):06x}",
        }
        if template.title and channel in ("support_ticket", "review", "survey", "app_store"):
            record["title"] = template.title
        if template.rating is not None and channel in ("review", "nps", "survey", "app_store"):
            record["rating"] = template.rating
        if channel == "support_ticket":
            record["severity"] = template.severity or "medium"
        return record

    def _incident_records(self, index: int, incident: Incident) -> dict[str, list[dict[str, object]]]:
        """Every record of a planted incident (its own seeded stream), grouped by UTC date."""
        rng = random.Random(f"{self.seed}-incident-{index}")
        by_date: dict[str, list[dict[str, object]]] = {}
        for number in range(incident.records):
            offset = min(incident.hours - 1, int(rng.triangular(0, incident.hours, incident.hours * 0.3)))
            moment = incident.start + timedelta(hours=offset, seconds=rng.randrange(3600))
            if moment >= self.start + timedelta(days=self.days):
                continue
            channel = rng.choice(incident.channels)
            text = rng.choice(INCIDENT_TEMPLATES[incident.product_area]).format(
                code=rng.choice((500, 502, 4012))
            )
            record: dict[str, object] = {
                "source_record_id": f"gen-{self.seed}-inc{index}-{number:07d}",
                "channel": channel,
                "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "text": f"{text} Reference #{rng.randrange(10**5, 10**6)}.",
                "locale": "en-US",
                "product_area": incident.product_area,
                "customer_tier": rng.choice(("free", "standard", "premium")),
            }
            if channel == "app_store":
                record["rating"] = 1
            if channel == "support_ticket":
                record["severity"] = "high"
            by_date.setdefault(moment.strftime("%Y-%m-%d"), []).append(record)
        return by_date

    def _malformed(self, record: dict[str, object]) -> dict[str, object]:
        kind = self.rng.choice(("missing_text", "bad_timestamp", "unknown_channel"))
        broken = dict(record)
        if kind == "missing_text":
            broken["text"] = ""
        elif kind == "bad_timestamp":
            broken["created_at"] = "yesterday-ish"
        else:
            broken["channel"] = "carrier_pigeon"
        return broken

    def day_records(self, day: int, count: int) -> list[dict[str, object]]:
        """The records of one day, in time order, with duplicates, malformed rows and incident records."""
        rng = self.rng
        date = self.start + timedelta(days=day)
        weekend = date.weekday() >= 5
        channels = list(CHANNEL_MIX)
        weights = [CHANNEL_MIX[c] * (WEEKEND_FACTOR[c] if weekend else 1.0) for c in channels]
        rows = [r for by_date in self._incident_rows for r in by_date.get(date.strftime("%Y-%m-%d"), [])][
            :count
        ]
        while len(rows) < count:
            channel = rng.choices(channels, weights)[0]
            moment = date + timedelta(
                hours=rng.choices(range(24), HOUR_WEIGHTS)[0], seconds=rng.randrange(3600)
            )
            rows.append(self._record(channel, moment))
        rows.sort(key=lambda r: (str(r["created_at"]), str(r["source_record_id"])))
        for index in rng.sample(range(len(rows)), round(len(rows) * MALFORMED_RATE)):
            rows[index] = self._malformed(rows[index])
        duplicates = [rows[i] for i in rng.sample(range(len(rows)), round(len(rows) * DUPLICATE_RATE))]
        return rows + duplicates

    def generate(self, out_dir: Path) -> GeneratorManifest:
        """Write the files under ``out_dir`` day by day; returns (and writes) the manifest."""
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest = GeneratorManifest(self.seed, self.records, self.days, self.start.isoformat())
        per_channel: Counter[str] = Counter()
        for day, count in enumerate(self.records_per_day()):
            rows = self.day_records(day, count)
            manifest.duplicates += round(count * DUPLICATE_RATE)
            manifest.malformed += round(count * MALFORMED_RATE)
            date = (self.start + timedelta(days=day)).strftime("%Y-%m-%d")
            by_channel: dict[str, list[dict[str, object]]] = {}
            for row in rows:
                channel = str(row["channel"]) if row["channel"] in CHANNEL_MIX else "chat"
                by_channel.setdefault(channel, []).append(row)
            for channel, channel_rows in sorted(by_channel.items()):
                per_channel[channel] += len(channel_rows)
                _write(out_dir, channel, date, channel_rows)
                manifest.files += 1
        manifest.per_channel = dict(sorted(per_channel.items()))
        manifest.incidents = [
            {**incident.__dict__, "start": incident.start.isoformat()} for incident in self.incidents
        ]
        (out_dir / "generator_manifest.json").write_text(
            json.dumps(manifest.__dict__, indent=2), encoding="utf-8"
        )
        return manifest


def _write(out_dir: Path, channel: str, date: str, rows: Sequence[dict[str, object]]) -> Path:
    if channel in CSV_CHANNELS:
        path = out_dir / f"{channel}_{date}.csv"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return path
    path = out_dir / f"{channel}_{date}.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def iter_generated_texts(records: int, seed: int = 7) -> Iterator[str]:
    """Just the texts of ``records`` generated records (for embedding benchmarks), without writing files."""
    generator = LoadGenerator(records, seed=seed, days=max(1, records // 3000 or 1))
    for day, count in enumerate(generator.records_per_day()):
        for row in generator.day_records(day, count):
            if row.get("text"):
                yield str(row["text"])
