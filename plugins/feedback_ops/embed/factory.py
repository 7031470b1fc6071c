"""``make_embedder``: the embedding backend the settings select.

``settings.embedding_backend`` (``FEEDBACK_OPS_EMBEDDING_BACKEND``) picks it: ``local`` (all-MiniLM-L6-v2 in
process, the default: ``LocalEmbedder`` in torch, or ``OnnxInt8Embedder`` with
``FEEDBACK_OPS_LOCAL_EMBEDDER=onnx-int8``), ``azure_openai`` or ``openai_compatible`` (``AzureOpenAIEmbedder``).
Backends are imported here, on demand, so that importing ``feedback_ops.embed`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import EMBEDDING_BACKENDS, LOCAL_EMBEDDERS, Settings


def make_local_embedder(settings: Settings) -> Any:
    """The local MiniLM in the runtime ``settings.local_embedder`` names (``FEEDBACK_OPS_LOCAL_EMBEDDER``):
    ``torch`` (``LocalEmbedder``, the default) or ``onnx-int8`` (``OnnxInt8Embedder``, its model file built
    under ``settings.models_dir`` on first use). Loads no model.

    Raises:
        ValueError: an unknown runtime name.
    """
    if settings.local_embedder not in LOCAL_EMBEDDERS:
        raise ValueError(
            f"unknown local embedder {settings.local_embedder!r}; expected one of {LOCAL_EMBEDDERS}"
        )
    if settings.local_embedder == "onnx-int8":
        from feedback_ops.embed.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(settings.models_dir)
    from feedback_ops.embed.local import LocalEmbedder

    return LocalEmbedder()


def make_embedder(settings: Settings, backend: str | None = None) -> Any:
    """The embedder of ``backend`` (default: ``settings.embedding_backend``); loads no model, calls nothing.

    Raises:
        ValueError: an unknown backend name.
    """
    name = backend or settings.embedding_backend
    if name not in EMBEDDING_BACKENDS:
        raise ValueError(f"unknown embedding backend {name!r}; expected one of {EMBEDDING_BACKENDS}")
    if name == "local":
        return make_local_embedder(settings)
    from feedback_ops.embed.azure_openai import AzureOpenAIEmbedder

    return AzureOpenAIEmbedder(settings, backend=name)
