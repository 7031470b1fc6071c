"""The local embedder: shape, unit norm, and that meaning drives distance."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_ops.embed import Embedder
from feedback_ops.embed.local import DIMENSIONS, LocalEmbedder


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder(batch_size=4)


def test_shape_dtype_and_unit_norm(embedder: LocalEmbedder) -> None:
    texts = ["The app crashes on start.", "Great service!", "Where is my parcel?", "x" * 3000, "", "ok"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(texts), DIMENSIONS) == (6, embedder.dimensions)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated_ones(embedder: LocalEmbedder) -> None:
    checkout, payment, weather = embedder.embed(
        [
            "Checkout failed when I tried to pay.",
            "The payment never went through at checkout.",
            "It is sunny and warm at the beach today.",
        ]
    )
    assert float(checkout @ payment) > float(checkout @ weather) + 0.3


def test_batching_does_not_change_vectors(embedder: LocalEmbedder) -> None:
    texts = [f"My order number {i} has not arrived yet." for i in range(9)]
    np.testing.assert_allclose(embedder.embed(texts), LocalEmbedder(batch_size=64).embed(texts), atol=1e-5)


def test_empty_input_and_identity(embedder: LocalEmbedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSIONS)
    assert isinstance(embedder, Embedder)
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert embedder.version == "all-MiniLM-L6-v2@gt-0.1.0"
