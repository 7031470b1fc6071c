"""The embedded search index (``feedback_ops.search.embedded.EmbeddedIndex``) at 100k and 1M units, measured.

Prints, for each size asked for (``--sizes``, default ``100000 1000000``):

- **indexing throughput**: documents/s of ``upsert`` in batches of ``--batch`` plus the final ``refresh()``
  (BM25 and vector index build), with the time of each part;
- **hybrid top-10 latency** with a metadata filter: p50 / p95 / max over ``--queries`` queries, per filter
  kind and overall (each query: BM25 over its text + cosine over its vector, fused; the call ``ask`` makes);
- **vector recall@10 against exact search**: the index's vector ranking (a query with no words, so only the
  vector ranks) compared with an exact cosine scan in numpy over the same filtered rows;
- **peak memory**: resident set of the process (``ru_maxrss``; includes the benchmark's own copy of the
  vectors for the exact search, printed separately) and the size of the index files on disk.

And once, before the index runs, **embedding throughput** of ``LocalEmbedder`` on 2 cores: short real texts
(Banking77 queries) and the sample of real units embedded for the index.

The documents are real: CFPB complaint narratives (split into analysis units by
``feedback_ops.search.units.split_units``: the whole message and its sentences), Bitext support chats,
Banking77 app queries (train split) and UCI review sentences from ``../shared/data``. Metadata are real labels
with their real skew: channel from the source (CFPB -> support_ticket, Bitext -> chat, Banking77 -> app_store,
UCI -> review), category = the source's own label (CFPB product, Bitext category, Banking77 intent, UCI
sentiment), created_at the CFPB ``Date received`` moved into one 12-month window (year kept relative) and, for
the undated sources, spread over the same 12 months with more recent months busier.

Vectors: a sample of ``--embed-sample`` real units is embedded with ``LocalEmbedder`` (cached under
``.local/bench/`` for the next run). The index at N units holds each embedded real unit once; the rest are
copies of real units (same text, same labels, a new created_at) whose vector is the real one plus small
gaussian noise (``--noise``, norm of the noise vector; renormalized): at 1M each real unit has ~33 noisy
copies, which is a hard case for an approximate index, not an easy one. What is measured at 1M is the index's
behaviour, not the embedder's.

Queries: real texts that are not in the index - Banking77 **test** questions and sentences of CFPB complaints
held out of the index - each embedded with ``LocalEmbedder`` and paired with a filter drawn from three kinds:
``channel`` (wide: a channel holds 10-60% of units), ``created_after/before`` 7 days + ``category`` (narrow),
and ``channel`` + a list of two categories.

Reads ``../shared/data`` next to the project (exits 0 with a message when it is absent). Writes the index
under ``.local/bench/`` and removes it afterwards (``--keep`` keeps it).
Usage: ``PYTHONPATH=plugins .venv/bin/python bench/bench_search_index.py [--sizes 100000 1000000]
[--queries 200] [--embed-sample 30000]``. The 1M run needs about 6 GB of memory (1.4 GB of it the benchmark's
own copy of the vectors) and ~10 minutes on 2 cores. ``--keep`` leaves the index under ``.local/bench/`` and
``--reuse`` queries it again without rebuilding (to measure a query-path change at 1M in 3 minutes).

Figures on the shared 2-core machine (other sessions running: the load average is printed with each figure,
and latencies roughly double when it is high):

- 100k: indexing 4,589 docs/s, hybrid p50 9.3 ms, p95 16.8 ms, recall@10 0.985 (load 2.9), process
  peak 2.2 GB; 1M: indexing 2,437 docs/s (410 s, of which refresh 154 s: fts, postings, IVF), reopen + first
  query 4.4 s, hybrid p50 36 ms, p95 99 ms, recall@10 0.990 (load 3.4; one query of 100 with a two-category
  filter found none of its exact top 10), process peak 4.0 GB while querying, ~5.7 GB while building.
- embedding (``LocalEmbedder``, bf16, 2 threads): 324 short texts/s (Banking77, load 3.0); 89 units/s on 30k
  real units of every length (long CFPB narratives among them; load 8.4).
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import resource
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.search.base import IndexDocument
from feedback_ops.search.embedded import EmbeddedIndex
from feedback_ops.search.units import split_units

DATA = PROJECT_ROOT.parent / "shared" / "data"
WORK = PROJECT_ROOT / ".local" / "bench"
WINDOW_END = datetime(2026, 11, 1)
WINDOW_DAYS = 365
HELD_OUT_COMPLAINTS = 150
"""CFPB complaints kept out of the index: their sentences are queries (real text the index never saw)."""


@dataclass(frozen=True)
class RealUnit:
    """One real analysis unit with its real labels."""

    unit_id: str
    feedback_id: str
    text: str
    channel: str
    category: str
    unit_kind: str
    created_at: datetime


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _spread(rng: random.Random) -> datetime:
    """A time in the 12-month window, recent months busier (feedback volume grows)."""
    age = WINDOW_DAYS * (1 - rng.random() ** 0.7)
    return WINDOW_END - timedelta(days=age, seconds=rng.randrange(86400))


def cfpb_units(rng: random.Random) -> tuple[list[RealUnit], list[str]]:
    """CFPB narratives split into units; the sentences of ``HELD_OUT_COMPLAINTS`` complaints are queries."""
    units: list[RealUnit] = []
    held_out: list[str] = []
    seen = set()
    narratives = []
    for row in _csv_rows(DATA / "cfpb-consumer-complaints" / "cfpb_combined.csv"):
        text = (row.get("Consumer complaint narrative") or "").strip()
        if text and text not in seen:
            seen.add(text)
            narratives.append(row)
    rng.shuffle(narratives)
    for number, row in enumerate(narratives):
        feedback_id = f"cfpb-{number}"
        pieces = split_units(feedback_id, row["Consumer complaint narrative"].strip(), "support_ticket")
        if number < HELD_OUT_COMPLAINTS:
            held_out.extend(u.text for u in pieces[1:] if 40 <= len(u.text) <= 300)
            continue
        try:
            received = datetime.fromisoformat(row.get("Date received") or "")
            created = WINDOW_END - timedelta(days=(datetime(2025, 12, 31) - received).days % WINDOW_DAYS)
            created += timedelta(seconds=rng.randrange(86400))
        except ValueError:
            created = _spread(rng)
        units.extend(
            RealUnit(u.unit_id, feedback_id, u.text, "support_ticket", row["Product"], u.unit_kind, created)
            for u in pieces
        )
    return units, held_out


def short_message_units(rng: random.Random) -> list[RealUnit]:
    """Bitext chats, Banking77 app queries (train) and UCI review sentences: one unit each."""
    sources = [
        (
            "bitext",
            "chat",
            [
                (row["instruction"], row["category"].lower())
                for row in _csv_rows(
                    DATA / "bitext-customer-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
                )
            ],
        ),
        (
            "b77",
            "app_store",
            [(row["text"], row["category"]) for row in _csv_rows(DATA / "banking77" / "train.csv")],
        ),
    ]
    uci = DATA / "uci-sentiment-labelled-sentences"
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"):
        lines = [line.rpartition("\t") for line in (uci / name).read_text(encoding="utf-8").splitlines()]
        labelled = [
            (text.strip(), "positive" if label.strip() == "1" else "negative") for text, _, label in lines
        ]
        sources.append((f"uci-{name[:4]}", "review", [(text, label) for text, label in labelled if text]))
    return [
        RealUnit(
            f"{prefix}-{number}:0", f"{prefix}-{number}", text, channel, category, "message", _spread(rng)
        )
        for prefix, channel, rows in sources
        for number, (text, category) in enumerate(rows)
    ]


def load_real_units(rng: random.Random) -> tuple[list[RealUnit], list[str]]:
    """Every real unit of the four sources, and the held-out query texts (CFPB sentences)."""
    units, held_out = cfpb_units(rng)
    return units + short_message_units(rng), held_out


class PeakMemory:
    """Highest resident memory of this process while a phase runs (sampled every 50 ms on a thread)."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> tuple[float, float]:
        """``(peak GB, peak minus the start GB)``."""
        self.running = False
        self.thread.join()
        return self.peak / 1024**3, (self.peak - self.start) / 1024**3


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def embed_timed(embedder, texts: list[str], label: str) -> np.ndarray:
    started, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed(texts)
    seconds = time.perf_counter() - started
    print(
        f"  embedding {label}: {len(texts):,} texts in {seconds:.1f} s = {len(texts) / seconds:,.0f} texts/s "
        f"({time.process_time() - cpu:.1f} s CPU; {load_average()})"
    )
    return vectors


def real_vectors(embedder, units: list[RealUnit], sample: int, rng: random.Random) -> np.ndarray:
    """Vectors of ``sample`` real units (cached by embedder version and unit ids); others are not embedded."""
    import hashlib

    key = hashlib.sha256(
        (embedder.version + "|" + "|".join(u.unit_id + u.text for u in units[:sample])).encode()
    ).hexdigest()[:16]
    cache = WORK / f"vectors-{key}.npy"
    if cache.exists():
        print(f"  unit vectors: {sample:,} read from {cache.relative_to(PROJECT_ROOT)}")
        return np.load(cache)
    texts = [u.text for u in units[:sample]]
    started = time.perf_counter()
    vectors = np.concatenate([embedder.embed(texts[i : i + 2000]) for i in range(0, len(texts), 2000)])
    print(
        f"  embedding {sample:,} real units (all lengths): {sample / (time.perf_counter() - started):,.0f} "
        f"units/s ({load_average()})"
    )
    WORK.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def make_queries(
    embedder, queries: int, held_out: list[str], units: list[RealUnit], rng: random.Random
) -> list[tuple[str, np.ndarray, dict, str]]:
    """``(text, vector, filters, kind)``: real unseen texts with a filter of one of three kinds."""
    questions = [row["text"] for row in _csv_rows(DATA / "banking77" / "test.csv")]
    texts = rng.sample(questions, queries // 2) + rng.sample(held_out, queries - queries // 2)
    rng.shuffle(texts)
    vectors = embed_timed(embedder, texts, "queries (short real texts)")
    channels = [u.channel for u in units]
    categories_by_channel: dict[str, list[str]] = {}
    for unit in units:
        categories_by_channel.setdefault(unit.channel, []).append(unit.category)
    built = []
    for number, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        channel = rng.choice(channels)
        kind = ("channel", "7 days + category", "channel + 2 categories")[number % 3]
        if kind == "channel":
            filters = {"channel": channel}
        elif kind == "7 days + category":
            start = WINDOW_END - timedelta(days=rng.randrange(7, WINDOW_DAYS))
            filters = {
                "created_after": start.isoformat(),
                "created_before": (start + timedelta(days=7)).isoformat(),
                "category": rng.choice(categories_by_channel[channel]),
            }
        else:
            pool = categories_by_channel[channel]
            filters = {"channel": channel, "category": sorted({rng.choice(pool), rng.choice(pool)})}
        built.append((text, vector, filters, kind))
    return built


class Corpus:
    """N documents derived from the real units (see the module docstring); vectors kept for exact search."""

    def __init__(
        self, units: list[RealUnit], vectors: np.ndarray, size: int, noise: float, seed: int
    ) -> None:
        self.units = units[: len(vectors)]
        self.size = size
        rng = np.random.default_rng(seed)
        self.source = np.concatenate(
            [
                np.arange(min(size, len(self.units))),
                rng.integers(0, len(self.units), max(0, size - len(self.units))),
            ]
        )
        self.vectors = np.empty((size, vectors.shape[1]), dtype=np.float32)
        for start in range(0, size, 100_000):
            block = vectors[self.source[start : start + 100_000]].copy()
            copies = np.arange(start, start + len(block)) >= len(self.units)
            shake = rng.standard_normal((int(copies.sum()), vectors.shape[1])).astype(np.float32)
            shake *= noise / np.sqrt(vectors.shape[1])
            block[copies] += shake
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            self.vectors[start : start + len(block)] = block
        offsets = rng.integers(0, WINDOW_DAYS * 86400, size)
        self.created = [
            self.units[s].created_at if i < len(self.units) else WINDOW_END - timedelta(seconds=int(o))
            for i, (s, o) in enumerate(zip(self.source, offsets, strict=True))
        ]
        self.channel = np.array([self.units[s].channel for s in self.source])
        self.category = np.array([self.units[s].category for s in self.source])
        self.created_np = np.array(self.created, dtype="datetime64[us]")

    def documents(self, start: int, stop: int) -> list[IndexDocument]:
        docs = []
        for i in range(start, stop):
            unit = self.units[self.source[i]]
            unit_id = unit.unit_id if i < len(self.units) else f"copy{i}-{unit.unit_id}"
            docs.append(
                IndexDocument(
                    unit_id=unit_id,
                    feedback_id=unit_id.split(":")[0],
                    text=unit.text,
                    vector=self.vectors[i],
                    content_hash=f"bench-{i}",
                    metadata={
                        "channel": unit.channel,
                        "category": unit.category,
                        "unit_kind": unit.unit_kind,
                        "created_at": self.created[i].isoformat(),
                    },
                )
            )
        return docs

    def unit_id(self, i: int) -> str:
        unit = self.units[self.source[i]]
        return unit.unit_id if i < len(self.units) else f"copy{i}-{unit.unit_id}"

    def mask(self, filters: dict) -> np.ndarray:
        keep = np.ones(self.size, dtype=bool)
        for name, value in filters.items():
            if name == "created_after":
                keep &= self.created_np >= np.datetime64(value)
            elif name == "created_before":
                keep &= self.created_np < np.datetime64(value)
            elif isinstance(value, list):
                keep &= np.isin(getattr(self, name), value)
            else:
                keep &= getattr(self, name) == value
        return keep

    def exact_top(self, vector: np.ndarray, filters: dict, k: int) -> list[str]:
        scores = np.where(self.mask(filters), self.vectors @ vector, -np.inf)  # no copy of the rows
        best = np.argsort(-scores, kind="stable")[:k]
        return [self.unit_id(i) for i in best if np.isfinite(scores[i])]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def build_index(path: Path, corpus: Corpus, batch: int, dimensions: int) -> None:
    """Upsert the corpus in batches and refresh (BM25 postings and the IVF sidecar), timed."""
    for leftover in WORK.glob(path.name + "*"):
        leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    index = EmbeddedIndex(path, dimensions=dimensions)
    started = time.perf_counter()
    for start in range(0, corpus.size, batch):
        index.upsert(corpus.documents(start, min(corpus.size, start + batch)))
    upserted = time.perf_counter()
    index.refresh()
    done = time.perf_counter()
    print(
        f"  indexing: {corpus.size / (done - started):,.0f} docs/s ({done - started:.1f} s: upsert "
        f"{upserted - started:.1f} s, refresh {done - upserted:.1f} s; {load_average()})"
    )
    index.close()


def run_size(size: int, args, units, vectors, queries) -> None:
    print(f"\n== {size:,} units ==")
    corpus = Corpus(units, vectors, size, args.noise, seed=size)
    print(
        f"  corpus: {min(size, len(corpus.units)):,} real units + {max(0, size - len(corpus.units)):,} noisy "
        f"copies; channels {dict(Counter(corpus.channel.tolist()).most_common())}; "
        f"benchmark's own vectors {corpus.vectors.nbytes / 1024**3:.2f} GB"
    )
    path = WORK / f"index-{size}.duckdb"
    memory = PeakMemory()
    if args.reuse and path.exists():
        print(
            f"  indexing: skipped, {path.relative_to(PROJECT_ROOT)} kept by an earlier --keep run is reused"
        )
    else:
        build_index(path, corpus, args.batch, vectors.shape[1])
    gc.collect()
    opened = time.perf_counter()
    index = EmbeddedIndex(path, dimensions=vectors.shape[1])
    index.query(queries[0][0], queries[0][1], top=10, filters=queries[0][2])
    print(f"  reopen + first query: {time.perf_counter() - opened:.2f} s")
    latencies: dict[str, list[float]] = {}
    recalls: dict[str, list[float]] = {}
    empty = 0
    for text, vector, filters, kind in queries:
        started = time.perf_counter()
        hits = index.query(text, vector, top=10, filters=filters)
        latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        empty += not hits
    for _text, vector, filters, kind in queries[: args.recall_queries]:
        found = [h.unit_id for h in index.query("", vector, top=10, filters=filters)]
        exact = corpus.exact_top(vector, filters, 10)
        if exact:
            recalls.setdefault(kind, []).append(len(set(found) & set(exact)) / len(exact))
    everything = [ms for values in latencies.values() for ms in values]
    print(f"  hybrid top-10 latency ({len(everything)} queries, {empty} with no hit; {load_average()}):")
    for kind, values in [*latencies.items(), ("all", everything)]:
        print(
            f"    {kind:>24}: p50 {percentile(values, 50):6.1f} ms  p95 {percentile(values, 95):6.1f} ms  "
            f"max {max(values):6.1f} ms"
        )
    every_recall = [r for values in recalls.values() for r in values]
    print(f"  vector recall@10 vs exact ({len(every_recall)} queries):")
    for kind, values in [*recalls.items(), ("all", every_recall)]:
        print(f"    {kind:>24}: mean {np.mean(values):.3f}  min {min(values):.2f}")
    index.close()
    peak, added = memory.stop()
    on_disk = {p.name: p.stat().st_size / 1024**3 for p in WORK.glob(f"index-{size}.duckdb*") if p.is_file()}
    print(
        f"  memory: process peak {peak:.2f} GB during indexing + queries, {added:.2f} GB above the start "
        f"(the start holds the benchmark's vectors); on disk {sum(on_disk.values()):.2f} GB "
        f"({', '.join(f'{name} {gb:.2f}' for name, gb in on_disk.items())})"
    )
    if not args.keep:
        for leftover in WORK.glob(f"index-{size}.duckdb*"):
            leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    del corpus
    gc.collect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument("--embed-sample", type=int, default=30_000)
    parser.add_argument("--short-texts", type=int, default=3_000)
    parser.add_argument("--noise", type=float, default=0.25)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the index files under .local/bench/")
    parser.add_argument("--reuse", action="store_true", help="query the index a --keep run left (no build)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} is absent: nothing to measure")
        return 0
    from feedback_ops.embed.local import LocalEmbedder

    rng = random.Random(7)
    units, held_out = load_real_units(rng)
    rng.shuffle(units)
    print(
        f"real units: {len(units):,} ({dict(Counter(u.channel for u in units))}); "
        f"{len(held_out):,} held-out query sentences"
    )
    embedder = LocalEmbedder()
    print(f"embedder {embedder.version}, {embedder.workers} worker threads, {os.cpu_count()} CPUs")
    embedder.embed(["warm up"])
    short = [row["text"] for row in _csv_rows(DATA / "banking77" / "train.csv")][: args.short_texts]
    embed_timed(embedder, short, "short texts (Banking77)")
    vectors = real_vectors(embedder, units, min(args.embed_sample, len(units)), rng)
    queries = make_queries(embedder, args.queries, held_out, units[: len(vectors)], rng)
    for size in args.sizes:
        run_size(size, args, units, vectors, queries)
    print(f"\npeak RSS {peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
