"""The ``Embedder`` protocol every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors.

    Attributes:
        model_name: the embedding model (``all-MiniLM-L6-v2``, an Azure deployment name, ...).
        version: what is stamped on stored vectors; changes whenever the vectors could change.
        dimensions: length of every vector.
    """

    model_name: str
    version: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embed ``texts`` in batches.

        Returns:
            A ``float32`` array of shape ``(len(texts), dimensions)`` whose rows have L2 norm 1.
        """
        ...
