"""Local embedding runtimes compared: speed and retrieval quality of the same all-MiniLM-L6-v2.

Runtimes: ``LocalEmbedder`` in torch at float32 and at bfloat16 (the default on CPUs with native bfloat16), and
``OnnxInt8Embedder`` (ONNX Runtime, int8 weights, dynamic activation quantization). Each embeds, on 2 worker
threads as in the pipeline:

- **Banking77**: the 10,003 train questions (the corpus) and the 3,080 test questions (the queries);
- **CFPB**: ``--cfpb`` complaint narratives of ``cfpb_combined.csv`` (long texts, truncated at 128 word
  pieces as in the pipeline), labeled with their product.

Prints per runtime: texts/s on each set (model load and the int8 build excluded), **recall@10** on Banking77
(for each test question, the share of its 10 nearest train questions by cosine that have its intent: every
intent has far more than 10 train questions, so this is recall@10 with the usual ``min(10, relevant)``
denominator) and **CFPB product P@10** (each narrative's 10 nearest other narratives of the same product,
leave-one-out), and the cosine between each runtime's vectors and the float32 ones (mean and worst).

    PYTHONPATH=plugins .venv/bin/python bench/bench_embedding_runtime.py [--cfpb 1500] [--banking 2000]

Reads ``../shared/data`` (exits 0 with a message when absent); the int8 model is built under a temporary
folder (``--models-dir`` to reuse one).

Figures (CPU ``AMD EPYC``, 2 cores, AVX512-BF16), two runs under ``flock /work/bench.lock``:

    runtime       short/s  long/s  recall@10  CFPB P@10  cos mean  cos min
    run 1 (14:46 UTC, load average 1.6-3.3; its CFPB sample held one product: P@10 not meaningful)
    torch fp32        350      77     0.8679         -    1.0000   1.0000
    torch bf16        847     180     0.8680         -    1.0000   1.0000   (the default here)
    onnx int8         350      75     0.8666         -    0.9934   0.9735
    run 2 (15:31 UTC, load average 1.1-2.4; 754 narratives of 14 products)
    torch fp32        304      66     0.8679    0.4073    1.0000   1.0000
    torch bf16        691     145     0.8680    0.4074    1.0000   1.0000
    onnx int8         775     151     0.8666    0.4118    0.9934   0.9735
    run 3 (issue 16, 17:08 UTC, ``--banking 2000 --cfpb 400``: 2,000 + 2,000 questions, 336 narratives of 14
    products; load average 11-15, eight sessions sharing the 2 cores: absolute speeds far below runs 1-2)
    torch fp32         29       6     0.6850    0.3024    1.0000   1.0000
    torch bf16         50      10     0.6851    0.3030    1.0000   1.0000
    onnx int8          85      14     0.6820    0.3027    0.9933   0.9786

(Recall@10 in run 3 is lower because its corpus is a fifth of Banking77: fewer neighbours of each intent.)
int8 keeps retrieval quality (recall@10 0.13-0.3 point under float32, CFPB P@10 0.0-0.4 point over); its speed
was float32's in run 1, 2.5x float32's in run 2 and 2.9x (long texts 2.3x) in run 3; against the bfloat16
default of this CPU it was 0.45x, 1.1x and 1.7x (the runs disagree: other sessions shared the cores). float32
is what the default (``auto``) runs on a CPU without native bfloat16, and there int8 was faster in two runs of
three. The default stays torch (one runtime and one embedding version on every CPU; int8's vectors move with
their batch mates); int8 is an option (``FEEDBACK_OPS_LOCAL_EMBEDDER=onnx-int8``), the one to try on CPUs
without native bfloat16.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def cfpb_narratives(data: Path, limit: int) -> tuple[list[str], list[str]]:
    """Up to ``limit`` narratives of at least 200 characters, as many per product as the products allow (the
    file is sorted by product: its first rows are all of one)."""
    by_product: dict[str, list[str]] = {}
    for row in read_csv(data / "cfpb-consumer-complaints" / "cfpb_combined.csv"):
        narrative = (row.get("Consumer complaint narrative") or "").strip()
        if len(narrative) >= 200 and row.get("Product"):
            by_product.setdefault(row["Product"], []).append(narrative)
    products = sorted(p for p, found in by_product.items() if len(found) >= 20)
    share = max(1, limit // max(len(products), 1))
    texts, labels = [], []
    for product in products:
        for narrative in by_product[product][:share]:
            texts.append(narrative)
            labels.append(product)
    return texts, labels


def evenly(rows: list[dict[str, str]], limit: int | None) -> list[dict[str, str]]:
    """At most ``limit`` rows taken at an even stride (the files are sorted by intent: every intent stays)."""
    if limit is None or limit >= len(rows):
        return rows
    return rows[:: max(1, len(rows) // limit)][:limit]


def timed_embed(embedder, texts: list[str]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = np.vstack([embedder.embed(texts[i : i + 512]) for i in range(0, len(texts), 512)])
    return vectors, len(texts) / (time.perf_counter() - started)


def recall_at_10(
    queries: np.ndarray, query_labels: list[str], corpus: np.ndarray, labels: list[str]
) -> float:
    """Mean share of each query's 10 nearest corpus texts that carry its label."""
    corpus_labels = np.asarray(labels)
    found = []
    for start in range(0, len(queries), 1024):
        scores = queries[start : start + 1024] @ corpus.T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        wanted = np.asarray(query_labels[start : start + 1024])[:, None]
        found.extend((corpus_labels[top] == wanted).mean(axis=1))
    return float(np.mean(found))


def leave_one_out_p10(vectors: np.ndarray, labels: list[str]) -> float:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    names = np.asarray(labels)
    return float((names[top] == names[:, None]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cfpb", type=int, default=1500, help="CFPB narratives to embed")
    parser.add_argument(
        "--banking", type=int, help="Banking77 questions to embed of each split (default: all of them)"
    )
    parser.add_argument("--models-dir", type=Path, help="where the int8 model is built / found")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default {DATA})")
    args = parser.parse_args()
    data = args.data
    if not data.exists():
        print(f"{data} is absent: nothing to measure")
        sys.exit(0)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from feedback_ops.embed.local import LocalEmbedder
    from feedback_ops.embed.onnx_int8 import OnnxInt8Embedder

    train = evenly(read_csv(data / "banking77" / "train.csv"), args.banking)
    test = evenly(read_csv(data / "banking77" / "test.csv"), args.banking)
    long_texts, products = cfpb_narratives(data, args.cfpb)
    print(
        f"Banking77: {len(train):,} train / {len(test):,} test questions; CFPB: {len(long_texts):,} narratives "
        f"({len(set(products))} products); cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        models_dir = args.models_dir or Path(tmp)
        runtimes = {
            "torch fp32": LocalEmbedder(precision="fp32"),
            "torch bf16": LocalEmbedder(precision="bf16"),
            "onnx int8": OnnxInt8Embedder(models_dir),
        }
        reference: dict[str, np.ndarray] = {}
        print(
            f"\n{'runtime':<12}{'short/s':>9}{'long/s':>8}{'recall@10':>11}{'CFPB P@10':>11}"
            f"{'cos mean':>10}{'cos min':>9}  load"
        )
        for name, embedder in runtimes.items():
            embedder.embed(["warm up: load the model (and build the int8 file) outside the timing"])
            corpus, _ = timed_embed(embedder, [row["text"] for row in train])
            queries, short_rate = timed_embed(embedder, [row["text"] for row in test])
            narratives, long_rate = timed_embed(embedder, long_texts)
            recall = recall_at_10(
                queries, [r["category"] for r in test], corpus, [r["category"] for r in train]
            )
            p10 = leave_one_out_p10(narratives, products)
            every = np.vstack([corpus, queries, narratives])
            if not reference:
                reference = {"all": every}
            cosine = np.sum(every * reference["all"], axis=1)
            print(
                f"{name:<12}{short_rate:>9.0f}{long_rate:>8.0f}{recall:>11.4f}{p10:>11.4f}"
                f"{cosine.mean():>10.4f}{cosine.min():>9.4f}  {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
