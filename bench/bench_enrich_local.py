"""Throughput and a quick quality check of the local enrichment backend on real public feedback.

- throughput of ``LocalEnricher.enrich`` (records/s, models already loaded) on 1,000 CFPB complaint narratives
  (long) and 1,000 UCI review sentences (short), in batches of ``settings.batch_size``;
- sentiment: the model's 5-fold cross-validated accuracy on its UCI training data, and 3-class macro-F1 on a
  TweetEval sample (evaluation-only data, never trained on);
- category: accuracy on Bitext support messages whose intents map onto a taxonomy category, plus samples.

Reads ``../shared/data`` next to the project (skips cleanly when it is absent). Model artifacts go to the
settings' ``models_dir`` (trained there on first use). Usage:
``PYTHONPATH=plugins .venv/bin/python bench/bench_enrich_local.py [records_per_source]``.
"""

from __future__ import annotations

import csv
import random
import sys
import time
from collections import Counter

from feedback_ops.config import PROJECT_ROOT, get_settings
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.enrich.schemas import FeedbackItem

DATA = PROJECT_ROOT.parent / "shared" / "data"
BITEXT_CATEGORIES = {
    "PAYMENT": "billing",
    "INVOICE": "billing",
    "REFUND": "billing",
    "CANCELLATION_FEE": "billing",
    "DELIVERY": "delivery",
    "SHIPPING_ADDRESS": "delivery",
    "CONTACT": "customer_service",
}
BITEXT_INTENTS = {"recover_password": "account_access", "registration_problems": "account_access"}


def items(texts: list[str], channel: str, prefix: str) -> list[FeedbackItem]:
    return [
        FeedbackItem(feedback_id=f"{prefix}{i}", text_hash=f"{prefix}{i}", text=text, channel=channel)
        for i, text in enumerate(texts)
    ]


def cfpb_narratives(count: int) -> list[str]:
    with (DATA / "cfpb-consumer-complaints" / "cfpb_combined.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        narratives = [row["Consumer complaint narrative"] for row in csv.DictReader(handle)]
    return random.Random(0).sample([text for text in narratives if text.strip()], count)


def uci_sentences(count: int) -> list[str]:
    folder = DATA / "uci-sentiment-labelled-sentences"
    lines = [line for path in sorted(folder.glob("*_labelled.txt")) for line in path.read_text().splitlines()]
    return random.Random(0).sample([line.rpartition("\t")[0].strip() for line in lines], count)


def timed_enrich(enricher: LocalEnricher, batch: list[FeedbackItem], batch_size: int) -> tuple[list, float]:
    started = time.perf_counter()
    results = []
    for start in range(0, len(batch), batch_size):
        results.extend(enricher.enrich(batch[start : start + batch_size]))
    return results, time.perf_counter() - started


def throughput(enricher: LocalEnricher, count: int, batch_size: int) -> None:
    sources = (
        ("CFPB narratives", cfpb_narratives(count), "support_ticket"),
        ("UCI sentences", uci_sentences(count), "review"),
    )
    # The first batches of new input shapes are several times slower in torch: warm up on part of the data.
    warm_up = [item for name, texts, channel in sources for item in items(texts[:200], channel, "warm")]
    _, seconds = timed_enrich(enricher, warm_up, batch_size)
    print(
        f"\n## Throughput (batches of {batch_size}; warm-up pass over {len(warm_up)} of them took {seconds:.1f} s)"
    )
    total_records, total_seconds, everything = 0, 0.0, []
    for name, texts, channel in sources:
        results, seconds = timed_enrich(enricher, items(texts, channel, name[:4]), batch_size)
        mean_chars = sum(len(text) for text in texts) / len(texts)
        print(
            f"{name:16s} {len(results):5d} records, mean {mean_chars:6.0f} chars: {len(results) / seconds:7.1f} rec/s"
        )
        total_records, total_seconds = total_records + len(results), total_seconds + seconds
        everything.extend(results)
    print(
        f"{'all':16s} {total_records:5d} records: {total_records / total_seconds:7.1f} rec/s ({total_seconds:.1f} s)"
    )
    for field in ("category", "sentiment_label", "urgency", "lane", "needs_review", "language"):
        print(f"  {field}: {dict(Counter(str(getattr(r, field)) for r in everything).most_common(6))}")


def sentiment_quality(enricher: LocalEnricher, batch_size: int) -> None:
    from sklearn.metrics import f1_score

    sentiment, _ = enricher.load()
    print("\n## Sentiment")
    print(f"5-fold CV accuracy on UCI ({sentiment.n_train} sentences): {sentiment.cv_accuracy:.3f}")
    with (DATA / "tweeteval-sentiment" / "tweeteval_sentiment_val_test.csv").open(encoding="utf-8") as handle:
        rows = random.Random(1).sample(list(csv.DictReader(handle)), 2000)
    results, _ = timed_enrich(enricher, items([r["text"] for r in rows], "social", "tw"), batch_size)
    truth, predicted = [r["label_name"] for r in rows], [r.sentiment_label for r in results]
    f1 = f1_score(truth, predicted, average="macro")
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    print(f"TweetEval 3-class, {len(rows)} tweets: macro-F1 {f1:.3f}, accuracy {accuracy:.3f}")


def category_quality(enricher: LocalEnricher, batch_size: int) -> None:
    path = DATA / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labelled = [
        (row["instruction"], BITEXT_INTENTS.get(row["intent"], BITEXT_CATEGORIES.get(row["category"])))
        for row in rows
    ]
    sample = random.Random(2).sample([pair for pair in labelled if pair[1]], 1000)
    results, _ = timed_enrich(enricher, items([text for text, _ in sample], "chat", "bt"), batch_size)
    print("\n## Category (Bitext messages whose intent maps onto the taxonomy)")
    for expected in sorted({label for _, label in sample}):
        pairs = [(r.category, e) for r, (_, e) in zip(results, sample, strict=True) if e == expected]
        hits = sum(category == e for category, e in pairs)
        print(
            f"{expected:18s} {hits / len(pairs):.2f} of {len(pairs)}  (top: {Counter(c for c, _ in pairs).most_common(3)})"
        )
    overall = sum(r.category == e for r, (_, e) in zip(results, sample, strict=True)) / len(sample)
    print(f"{'all':18s} {overall:.2f} of {len(sample)}")
    for result, (text, expected) in list(zip(results, sample, strict=True))[:8]:
        print(f"  {result.category:16s} (expected {expected:16s}) {text[:70]}")


def main(count: int = 1000) -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the public datasets are not available here)")
        return 0
    settings = get_settings()
    started = time.perf_counter()
    enricher = LocalEnricher(settings)
    enricher.load()
    print(f"# Local enrichment: {enricher.model_version}, enrichment_version {enricher.enrichment_version}")
    print(f"models loaded (sentiment trained if missing) in {time.perf_counter() - started:.1f} s")
    throughput(enricher, count, settings.batch_size)
    sentiment_quality(enricher, settings.batch_size)
    category_quality(enricher, settings.batch_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(arg) for arg in sys.argv[1:2])))
