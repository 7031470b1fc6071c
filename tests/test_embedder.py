"""The local embedder: shape, unit norm, meaning drives distance, and its speed settings keep the vectors."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_ops.embed import Embedder
from feedback_ops.embed.local import DIMENSIONS, LocalEmbedder, resolve_precision


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
    precision = resolve_precision("auto")
    assert embedder.version == f"all-MiniLM-L6-v2@gt-0.1.0+t128-{precision}"
    assert LocalEmbedder(max_tokens=256, precision="fp32").version == "all-MiniLM-L6-v2@gt-0.1.0+t256-fp32"


SENTENCES = [
    "The app crashes every time I open the camera.",
    "I was charged twice for the same order and want my money back.",
    "Delivery was fast and the support agent was lovely.",
    "How do I change the e-mail address on my account?",
    "Checkout keeps failing since the last update. " * 12,
]


def test_bf16_vectors_agree_with_fp32() -> None:
    """bfloat16 matrix products (used where the CPU has them natively) barely move the vectors."""
    fp32 = LocalEmbedder(precision="fp32").embed(SENTENCES)
    bf16 = LocalEmbedder(precision="bf16").embed(SENTENCES)
    assert float(np.min(np.sum(fp32 * bf16, axis=1))) > 0.999


def test_chunking_and_worker_threads_do_not_change_vectors() -> None:
    texts = [*SENTENCES, *(f"Order {i} is late again." for i in range(20))]
    one = LocalEmbedder(batch_size=64, batch_tokens=10**6, precision="fp32", workers=1).embed(texts)
    many = LocalEmbedder(batch_size=3, batch_tokens=64, precision="fp32", workers=3).embed(texts)
    np.testing.assert_allclose(one, many, atol=1e-5)


def test_input_is_truncated_to_max_tokens() -> None:
    """Only the first ``max_tokens`` word pieces count: a long tail changes nothing."""
    embedder = LocalEmbedder(max_tokens=16, precision="fp32")
    head = "The parcel arrived broken and nobody answers my e-mails about it at all"
    short, long = embedder.embed([head, head + " and then some more words about other things" * 20])
    np.testing.assert_allclose(short @ long, 1.0, atol=1e-5)


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        LocalEmbedder(max_tokens=4)
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int4")  # type: ignore[arg-type]
