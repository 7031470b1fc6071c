"""Language identification on the project's data: the numbers behind the choice of Lingua over langdetect.

- the sample data's Spanish, German and French records (``include/sample_data``, by their ``locale``);
- 1,213 short English review sentences (UCI Amazon and Yelp, 60 characters or fewer) and 787 longer ones;
- 2,000 English records of the sample data.

Per detector: share identified correctly, undetermined (``und``) and wrong, and texts per second (the first
call, which loads the models, is not timed). langdetect is measured only when it is installed (it is not a
dependency). Usage: ``PYTHONPATH=plugins .venv/bin/python bench/bench_language.py``.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import random
import sys
import time
from collections.abc import Callable, Sequence

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.enrich.language import detect_languages

DATA = PROJECT_ROOT.parent / "shared" / "data"
SAMPLE = PROJECT_ROOT / "include" / "sample_data"
Detector = Callable[[Sequence[str]], list[tuple[str, float]]]


def sample_records() -> list[tuple[str, str]]:
    """(language from the record's locale, text) of every sample record."""
    records: list[tuple[str, str]] = []
    for path in sorted(SAMPLE.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            records += [
                (row.get("locale") or "en", row["text"]) for row in csv.DictReader(handle) if row.get("text")
            ]
    for path in sorted(SAMPLE.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line, strict=False)
            except json.JSONDecodeError:
                continue  # the sample files plant malformed rows on purpose
            if isinstance(row, dict) and row.get("text"):
                records.append((str(row.get("locale") or "en"), str(row["text"])))
    return [(locale[:2], text) for locale, text in records]


def uci_sentences() -> list[str]:
    folder = DATA / "uci-sentiment-labelled-sentences"
    paths = (folder / "amazon_cells_labelled.txt", folder / "yelp_labelled.txt")
    return [line.rpartition("\t")[0].strip() for path in paths for line in path.read_text().splitlines()]


def langdetect_detector(min_letters: int = 0) -> Detector:
    """langdetect, seeded; ``und`` below ``min_letters`` letters (the project used 20 before Lingua)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    def detect(texts: Sequence[str]) -> list[tuple[str, float]]:
        results = []
        for text in texts:
            if sum(char.isalpha() for char in text) < min_letters:
                results.append(("und", 0.0))
                continue
            DetectorFactory.seed = 0
            try:
                best = detect_langs(text.lower())[0]
                results.append((best.lang, float(best.prob)))
            except LangDetectException:
                results.append(("und", 0.0))
        return results

    return detect


def evaluate(name: str, detect: Detector, sets: list[tuple[str, list[tuple[str, str]]]]) -> None:
    detect(["warm up the models"])
    for set_name, pairs in sets:
        started = time.perf_counter()
        found = detect([text for _, text in pairs])
        seconds = time.perf_counter() - started
        right = sum(code == expected for (expected, _), (code, _) in zip(pairs, found, strict=True))
        undetermined = sum(code == "und" for code, _ in found)
        wrong = len(pairs) - right - undetermined
        print(
            f"{name:12s} {set_name:22s} {len(pairs):5d}: right {right / len(pairs):.3f}  und "
            f"{undetermined / len(pairs):.3f}  wrong {wrong / len(pairs):.3f}  {len(pairs) / seconds:7.0f} texts/s"
        )


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the public datasets are not available here)")
        return 0
    records = sample_records()
    english = [pair for pair in records if pair[0] == "en"]
    uci = uci_sentences()
    sets = [
        ("sample es/de/fr", [pair for pair in records if pair[0] in ("es", "de", "fr")]),
        ("UCI short English", [("en", text) for text in uci if len(text) <= 60]),
        ("UCI longer English", [("en", text) for text in uci if len(text) > 60]),
        ("sample English", random.Random(0).sample(english, min(2000, len(english)))),
    ]
    evaluate("lingua", detect_languages, sets)
    if importlib.util.find_spec("langdetect") is not None:
        evaluate("langdetect", langdetect_detector(), sets)
        evaluate("langdetect20", langdetect_detector(min_letters=20), sets)
    else:
        print("langdetect is not installed: not compared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
