"""``make_embedder``: the embedding backend the settings select.

``settings.embedding_backend`` (``FEEDBACK_OPS_EMBEDDING_BACKEND``) picks it: ``local`` (``LocalEmbedder``,
all-MiniLM-L6-v2 in process, the default), ``azure_openai`` or ``openai_compatible`` (``AzureOpenAIEmbedder``).
Backends are imported here, on demand, so that importing ``feedback_ops.embed`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import EMBEDDING_BACKENDS, Settings


def make_embedder(settings: Settings, backend: str | None = None) -> Any:
    """The embedder of ``backend`` (default: ``settings.embedding_backend``); loads no model, calls nothing.

    Raises:
        ValueError: an unknown backend name.
    """
    name = backend or settings.embedding_backend
    if name not in EMBEDDING_BACKENDS:
        raise ValueError(f"unknown embedding backend {name!r}; expected one of {EMBEDDING_BACKENDS}")
    if name == "local":
        from feedback_ops.embed.local import LocalEmbedder

        return LocalEmbedder()
    from feedback_ops.embed.azure_openai import AzureOpenAIEmbedder

    return AzureOpenAIEmbedder(settings, backend=name)
