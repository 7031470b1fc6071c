"""The local enrichment backend, measured: quality on public labelled sets, speed and memory on the sample mix.

Prints, with the models already loaded unless said otherwise:

- model load time (embedder, sentiment and category models - trained into ``settings.models_dir`` if
  missing -, category centroids, language detector, lexicon) and peak resident memory of the process at the
  end;
- throughput of the cheap pass (``LocalEnricher.enrich_with_embeddings``: redaction, language, embedding,
  sentiment, category, urgency, validation) on every valid record of the shipped sample data
  (``include/sample_data``, the realistic mix: long CFPB ticket narratives among short chats, reviews and
  surveys), then on its long (> ``LONG_CHARS`` characters) and short subsets, in batches of
  ``settings.batch_size``, with the load average of the machine (other processes slow every figure);
- sentiment: macro-recall (the SemEval-2017 measure) and macro-F1 on the 12,284 TweetEval **test** tweets
  (evaluation-only data, never trained on, never used to tune);
- category, every Bitext intent mapped to one taxonomy id through ``BITEXT_TO_TAXONOMY``
  (``feedback_ops.enrich.intent_mappings``): macro-F1 on the Bitext messages **held out** from the category
  model's training split (``include/training/bitext``), with per-category F1 and the worst intents; the same
  on the harder held-out messages that have no training text within cosine 0.9 (no near-duplicate), and
  within ``NEAR_TRAINING`` (where the taxonomy centroids decide); on all 4,514 messages (half of them trained
  on, labelled as such); and on BANKING77's 3,080 test queries through ``BANKING77_TO_TAXONOMY`` (never
  trained on). Bitext is template-generated (seed phrasings expanded into many variants), so a random
  held-out half shares templates with the training half and its figure is optimistic: the near-duplicate-free
  figure is the fairer one, and BANKING77 test measures another source of the same kind of messages.

Reads ``../shared/data`` next to the project for the quality figures (skipped, exit 0, when it is absent).
Usage: ``PYTHONPATH=plugins .venv/bin/python bench/bench_enrich_local.py [--tweets N] [--skip-quality]``.

On the 2-core development machine (load average 1-2: the machine is shared, and throughput falls by up to 40%
while other processes run; the load average is printed with every figure): sample mix 426 rec/s, long 160,
short 658; TweetEval test macro-recall 0.609, macro-F1 0.609; about 0.7 GB of the peak RSS is the language
detector's models. The trained category model (``feedback_ops.enrich.category``): held-out Bitext macro-F1
0.958 (0.58 for the taxonomy's centroids alone, same rows), without near-duplicates 0.922 (946 messages), far
from all training text 0.508 (73, centroids decide); all Bitext 0.962; BANKING77 test 0.899. Peak RSS
1.71 GB with ``--skip-quality``, 1.92 GB for the whole run. The gate's similarity with the 12,277 training
texts costs 0.94 s CPU per 6,446 sample records against 0.11 s for the centroids alone, next to 37 s CPU for
their embeddings: about 2% of the cheap pass.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import CHANNELS, PROJECT_ROOT, get_settings
from feedback_ops.enrich.category import BITEXT_TRAINING, NEAR_TRAINING
from feedback_ops.enrich.intent_mappings import BANKING77_TO_TAXONOMY, BITEXT_TO_TAXONOMY
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.enrich.schemas import EnrichmentResult, FeedbackItem
from feedback_ops.ingest.parsing import parse_file

if TYPE_CHECKING:
    import numpy

DATA = PROJECT_ROOT.parent / "shared" / "data"
SAMPLE_DATA = PROJECT_ROOT / "include" / "sample_data"
LONG_CHARS = 300
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "json"}


def sample_mix() -> list[FeedbackItem]:
    """Every record of the shipped sample data that the contract accepts, as enrichment input."""
    items: list[FeedbackItem] = []
    for path in sorted(SAMPLE_DATA.iterdir()):
        if path.suffix not in FORMATS:
            continue
        for record in parse_file(path, FORMATS[path.suffix]):
            item = _item(path.stem, record.line_number, record.payload) if not record.parse_error else None
            if item is not None:
                items.append(item)
    return items


def _item(source: str, line: int, payload: str) -> FeedbackItem | None:
    fields: dict[str, Any] = json.loads(payload)
    text, channel = fields.get("text"), fields.get("channel")
    if not isinstance(text, str) or not text.strip() or channel not in CHANNELS:
        return None
    try:
        rating = float(fields["rating"]) if fields.get("rating") not in (None, "") else None
    except (TypeError, ValueError):
        rating = None
    key = f"{source}:{line}"
    return FeedbackItem(
        feedback_id=key,
        text_hash=key,
        text=text,
        channel=channel,
        rating=rating,
        severity=fields.get("severity") or None,
    )


def as_items(texts: Sequence[str], channel: str, prefix: str) -> list[FeedbackItem]:
    """Plain texts as enrichment input."""
    return [
        FeedbackItem(feedback_id=f"{prefix}{i}", text_hash=f"{prefix}{i}", text=text, channel=channel)
        for i, text in enumerate(texts)
    ]


def timed_enrich(
    enricher: LocalEnricher, items: Sequence[FeedbackItem], batch_size: int
) -> tuple[list[EnrichmentResult], float]:
    """The results of the cheap pass over ``items`` in batches, and its wall time in seconds."""
    started = time.perf_counter()
    results: list[EnrichmentResult] = []
    for start in range(0, len(items), batch_size):
        results.extend(enricher.enrich_with_embeddings(items[start : start + batch_size])[0])
    return results, time.perf_counter() - started


def throughput(enricher: LocalEnricher, batch_size: int) -> None:
    """Records per second of the cheap pass on the sample mix and on its long and short subsets."""
    mix = sample_mix()
    long_items = [item for item in mix if len(item.text) > LONG_CHARS]
    short_items = [item for item in mix if len(item.text) <= LONG_CHARS]
    # The first pass meets every batch shape for the first time, and torch is several times slower on a
    # new shape: it is reported apart, as a warm-up.
    _, first = timed_enrich(enricher, mix, batch_size)
    print(f"\n## Cheap-pass throughput (batches of {batch_size})")
    print(f"first pass over the sample mix (warm-up: new shapes): {len(mix) / first:.1f} rec/s")
    everything: list[EnrichmentResult] = []
    for name, items in (("sample mix", mix), ("long subset", long_items), ("short subset", short_items)):
        cpu = time.process_time()
        results, seconds = timed_enrich(enricher, items, batch_size)
        cpu = time.process_time() - cpu
        mean_chars = sum(len(item.text) for item in items) / len(items)
        print(
            f"{name:13s} {len(items):5d} records, mean {mean_chars:5.0f} chars: {len(items) / seconds:6.1f} rec/s "
            f"({seconds:5.1f} s wall, {cpu:5.1f} s CPU; load average {os.getloadavg()[0]:.1f})"
        )
        everything = everything or results
    for field in ("category", "sentiment_label", "urgency", "language"):
        print(f"  {field}: {dict(Counter(str(getattr(r, field)) for r in everything).most_common(8))}")
    tickets = Counter(
        r.sentiment_label for r, i in zip(everything, mix, strict=True) if i.channel == "support_ticket"
    )
    print(f"  sentiment of support tickets (CFPB complaints): {dict(tickets)}")


def tweeteval(limit: int | None) -> tuple[list[str], list[str]]:
    """Texts and labels of the TweetEval test file (the first ``limit`` if given)."""
    folder = DATA / "tweeteval-sentiment"
    names = dict(
        line.split("\t") if "\t" in line else line.split(maxsplit=1)
        for line in (folder / "mapping.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    texts = (folder / "test_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [names[label.strip()] for label in (folder / "test_labels.txt").read_text().splitlines()]
    return texts[:limit], labels[:limit]


def sentiment_quality(enricher: LocalEnricher, batch_size: int, limit: int | None) -> None:
    """Macro-recall and macro-F1 on the TweetEval test tweets."""
    from sklearn.metrics import f1_score, recall_score

    texts, truth = tweeteval(limit)
    results, _ = timed_enrich(enricher, as_items(texts, "social", "tw"), batch_size)
    predicted = [r.sentiment_label for r in results]
    labels = ["negative", "neutral", "positive"]
    recalls = recall_score(truth, predicted, labels=labels, average=None)
    print(f"\n## Sentiment: TweetEval test, {len(texts)} tweets (evaluation only, never trained or tuned on)")
    print(
        f"macro-recall {recall_score(truth, predicted, average='macro'):.3f}, "
        f"macro-F1 {f1_score(truth, predicted, average='macro'):.3f}; recall per class "
        + ", ".join(f"{label} {value:.2f}" for label, value in zip(labels, recalls, strict=True))
    )
    sentiment, _ = enricher.load()
    print(f"5-fold CV accuracy of the model on its UCI training data: {sentiment.cv_accuracy:.3f}")


def bitext() -> tuple[list[str], list[str], list[str]]:
    """Texts, intents and taxonomy labels (through ``BITEXT_TO_TAXONOMY``) of every Bitext message."""
    path = DATA / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    intents = [row["intent"] for row in rows]
    return [row["instruction"] for row in rows], intents, [BITEXT_TO_TAXONOMY[i] for i in intents]


def bitext_training_texts(training_dir: Path) -> set[str]:
    """The Bitext messages of the category model's training split (``include/training/bitext``)."""
    with (training_dir / BITEXT_TRAINING).open(encoding="utf-8", newline="") as handle:
        return {row["instruction"] for row in csv.DictReader(handle)}


def banking77_test() -> tuple[list[str], list[str]]:
    """Texts and taxonomy labels (through ``BANKING77_TO_TAXONOMY``) of BANKING77's test queries."""
    with (DATA / "banking77" / "test.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [BANKING77_TO_TAXONOMY[row["category"]] for row in rows]


def enrich_keeping_embeddings(
    enricher: LocalEnricher, items: Sequence[FeedbackItem], batch_size: int
) -> tuple[list[EnrichmentResult], numpy.ndarray]:
    """The cheap pass over ``items`` in batches, with the embeddings of the redacted texts."""
    import numpy

    results: list[EnrichmentResult] = []
    vectors = []
    for start in range(0, len(items), batch_size):
        batch_results, batch_vectors = enricher.enrich_with_embeddings(items[start : start + batch_size])
        results.extend(batch_results)
        vectors.append(batch_vectors)
    return results, numpy.vstack(vectors)


def pick(rows: Sequence[int], values: Sequence[str]) -> list[str]:
    """``values`` at the positions ``rows``."""
    return [values[i] for i in rows]


def macro_f1_line(name: str, truth: Sequence[str], predicted: Sequence[str]) -> None:
    """One labelled line: macro-F1 over the labels ``truth`` uses, and how many items."""
    from sklearn.metrics import f1_score

    labels = sorted(set(truth))
    print(
        f"{name}: macro-F1 {f1_score(truth, predicted, labels=labels, average='macro'):.3f} ({len(truth)} items)"
    )


def category_quality(enricher: LocalEnricher, batch_size: int) -> None:
    """Macro-F1 on held-out Bitext (and harder cuts of it), on all of Bitext, and on BANKING77 test."""
    from sklearn.metrics import f1_score

    texts, intents, truth = bitext()
    results, vectors = enrich_keeping_embeddings(enricher, as_items(texts, "chat", "bt"), batch_size)
    predicted = [r.category for r in results]
    trained_on = bitext_training_texts(enricher.settings.training_dir)
    held_out = [i for i, text in enumerate(texts) if text not in trained_on]
    model = enricher.load()[1].model
    nearest = model.nearest_similarity(vectors) if model is not None else vectors[:, 0] * 0.0
    labels = sorted(set(truth))
    print(
        f"\n## Category: Bitext, every intent mapped (BITEXT_TO_TAXONOMY), {len(held_out)} held-out messages"
    )
    held_truth, held_predicted = pick(held_out, truth), pick(held_out, predicted)
    macro_f1_line("held-out Bitext (not in the training split)", held_truth, held_predicted)
    per_label = f1_score(held_truth, held_predicted, labels=labels, average=None)
    print("  F1 per category: " + ", ".join(f"{k} {v:.2f}" for k, v in zip(labels, per_label, strict=True)))
    for below in (0.9, NEAR_TRAINING):
        rows = [i for i in held_out if nearest[i] < below]
        if rows:
            macro_f1_line(
                f"  harder: held-out messages with no training text at cosine >= {below}",
                pick(rows, truth),
                pick(rows, predicted),
            )
    macro_f1_line(f"all {len(texts)} Bitext messages (half of them trained on)", truth, predicted)
    missed = Counter(intents[i] for i in held_out if truth[i] != predicted[i])
    totals = Counter(intents[i] for i in held_out)
    worst = sorted(missed, key=lambda intent: missed[intent] / totals[intent], reverse=True)[:5]
    for intent in worst:
        answers = Counter(predicted[i] for i in held_out if intents[i] == intent).most_common(3)
        print(
            f"  {intent:24s} -> {BITEXT_TO_TAXONOMY[intent]:16s} {missed[intent] / totals[intent]:.0%} missed: {answers}"
        )
    bank_texts, bank_truth = banking77_test()
    bank_results, _ = timed_enrich(enricher, as_items(bank_texts, "app_store", "b77"), batch_size)
    macro_f1_line(
        "BANKING77 test (BANKING77_TO_TAXONOMY; never trained on)",
        bank_truth,
        [r.category for r in bank_results],
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    """Load the backend, then print throughput, sentiment and category figures and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=None, help="only the first N TweetEval test tweets")
    parser.add_argument("--skip-quality", action="store_true", help="throughput and memory only")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the public datasets are not available here)")
        return 0
    settings = get_settings()
    started = time.perf_counter()
    enricher = LocalEnricher(settings)
    enricher.load()
    enricher.enrich(as_items(["Warm-up: the app crashed twice today."], "review", "load"))
    print(f"# Local enrichment: {enricher.model_version}, enrichment_version {enricher.enrichment_version}")
    print(f"model load (sentiment trained if missing): {time.perf_counter() - started:.1f} s")
    throughput(enricher, settings.batch_size)
    if not args.skip_quality:
        sentiment_quality(enricher, settings.batch_size, args.tweets)
        category_quality(enricher, settings.batch_size)
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
