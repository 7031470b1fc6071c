"""Train the local models: ``python -m feedback_ops.enrich.train [--force] [--write-training-data DIR]``.

Trains (or reuses) the sentiment model and the category model of the local enricher exactly as the enricher
does on first use, writes them under the settings' ``models_dir`` and prints what they were trained on.
Without ``--force`` an existing artifact for the same training data is kept.

``--write-training-data DIR`` first rewrites the category training files from the original public data sets
in ``DIR`` (``../shared/data`` during development), so that they are reproducible from their sources:

- ``include/training/banking77/train.csv``: BANKING77's training split, less the rows that contain a text of
  the golden set (a short golden query such as "I forgot my password" inside a longer training query);
- ``include/training/bitext/bitext_train.csv``: a seeded, intent-stratified half (``BITEXT_TRAIN_SHARE``,
  ``BITEXT_SPLIT_SEED``) of the Bitext rows that contain no golden text, so the other half (and the golden
  set) stays held out for ``bench/bench_enrich_local.py``.

The same original files always give the same training files.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from feedback_ops.config import get_settings
from feedback_ops.enrich import category as category_model
from feedback_ops.enrich import sentiment as sentiment_model
from feedback_ops.enrich.intent_mappings import BANKING77_TO_TAXONOMY, BITEXT_TO_TAXONOMY
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.evaluation.golden import load_golden

BITEXT_TRAIN_SHARE = 0.5
BITEXT_SPLIT_SEED = 0
BITEXT_COLUMNS = ("instruction", "intent", "category", "tags")
"""Columns kept in the training copy (Bitext's agent responses and entity offsets are not needed)."""


BANKING77_SOURCE = Path("banking77") / "train.csv"
BITEXT_SOURCE = Path("bitext-customer-support") / "Bitext_Sample_Customer_Support_Training_Dataset.csv"


def contains_any(text: str, excluded_texts: set[str]) -> bool:
    """Whether ``text`` is, or contains, one of ``excluded_texts``."""
    return any(excluded in text for excluded in excluded_texts)


def write_banking77_training(source: Path, destination: Path, excluded_texts: set[str]) -> tuple[int, int]:
    """Copy BANKING77's ``text,category`` rows from ``source`` except those containing an excluded text.

    Returns (rows written, rows in the source).

    Raises:
        ValueError: ``source`` lacks a column or has an intent without a mapping.
    """
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "category"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{source}: columns {sorted(missing)} are missing")
        rows = list(reader)
    unknown = sorted({row["category"] for row in rows} - set(BANKING77_TO_TAXONOMY))
    if unknown:
        raise ValueError(f"{source}: intents without a taxonomy mapping: {unknown}")
    kept = [row for row in rows if not contains_any(row["text"], excluded_texts)]
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=("text", "category"), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
    return len(kept), len(rows)


def write_bitext_split(source: Path, destination: Path, excluded_texts: set[str]) -> tuple[int, int]:
    """Write the seeded, intent-stratified training share of ``source`` to ``destination``.

    Rows whose instruction contains one of ``excluded_texts`` (the golden set's) are never chosen. Rows keep
    their original order and values. Returns (rows written, rows in the source).

    Raises:
        ValueError: ``source`` lacks a column of ``BITEXT_COLUMNS`` or has an intent without a mapping.
    """
    from sklearn.model_selection import train_test_split

    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(BITEXT_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{source}: columns {sorted(missing)} are missing")
        rows = list(reader)
    unknown = sorted({row["intent"] for row in rows} - set(BITEXT_TO_TAXONOMY))
    if unknown:
        raise ValueError(f"{source}: intents without a taxonomy mapping: {unknown}")
    candidates = [i for i, row in enumerate(rows) if not contains_any(row["instruction"], excluded_texts)]
    chosen, _ = train_test_split(
        candidates,
        train_size=BITEXT_TRAIN_SHARE,
        stratify=[rows[i]["intent"] for i in candidates],
        random_state=BITEXT_SPLIT_SEED,
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=BITEXT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows[i] for i in sorted(chosen))
    return len(chosen), len(rows)


def main(argv: list[str] | None = None) -> int:
    """Optionally rewrite the Bitext split, then train (or reuse) both models and report them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="retrain even if the artifacts exist")
    parser.add_argument(
        "--write-training-data",
        type=Path,
        metavar="DIR",
        help="first rewrite the category training files from the public data sets in DIR",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.write_training_data:
        golden_texts = {record.text for record in load_golden().records}
        for writer, source, destination in (
            (write_banking77_training, BANKING77_SOURCE, category_model.BANKING77_TRAINING),
            (write_bitext_split, BITEXT_SOURCE, category_model.BITEXT_TRAINING),
        ):
            written, total = writer(
                args.write_training_data / source, settings.training_dir / destination, golden_texts
            )
            print(f"{destination}: {written} of {total} rows of {source}")
    enricher = LocalEnricher(settings)
    if args.force:
        for path in (
            sentiment_model.artifact_path(settings.models_dir, enricher.sentiment_fingerprint),
            category_model.artifact_path(settings.models_dir, enricher.category_fingerprint),
        ):
            path.unlink(missing_ok=True)
    started = time.perf_counter()
    sentiment, categories = enricher.load()
    seconds = time.perf_counter() - started
    print(
        f"sentiment model {sentiment.version}: {sentiment.n_train} sentences, "
        f"{sentiment.cv_accuracy:.3f} 5-fold CV accuracy -> "
        f"{sentiment_model.artifact_path(settings.models_dir, sentiment.fingerprint)}"
    )
    model = categories.model
    if model is not None:
        print(
            f"category model {model.version}: {len(model.neighbours)} texts "
            f"(taxonomy, BANKING77 train, Bitext train split) -> "
            f"{category_model.artifact_path(settings.models_dir, model.fingerprint)}"
        )
    print(f"loaded or trained in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
