"""The local embedder: shape, unit norm, meaning drives distance, and its speed settings keep the vectors."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_ops.embed import Embedder
from feedback_ops.embed.local import DIMENSIONS, LocalEmbedder, resolve_precision


@pytest.fixture
def embedder(cpu_bf16: bool) -> LocalEmbedder:
    """The default (``auto``) embedder, on a CPU with native bfloat16 and on one without in turn."""
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
    assert embedder.version == "all-MiniLM-L6-v2@gt-0.1.0+t128-auto"
    assert LocalEmbedder(max_tokens=256, precision="fp32").version == "all-MiniLM-L6-v2@gt-0.1.0+t256-fp32"
    assert LocalEmbedder(precision="bf16").version == "all-MiniLM-L6-v2@gt-0.1.0+t128-bf16"


def test_auto_resolves_by_cpu_but_the_version_names_only_the_configuration(monkeypatch) -> None:
    """Two workers on CPUs with and without native bfloat16 stamp one version and make vectors that agree."""
    by_cpu = {}
    for has_bf16 in (True, False):
        monkeypatch.setattr("feedback_ops.embed.local.native_bf16", lambda has_bf16=has_bf16: has_bf16)
        embedder = LocalEmbedder()
        by_cpu[has_bf16] = (embedder.precision, embedder.version, embedder.embed(SENTENCES))
    assert (by_cpu[True][0], by_cpu[False][0]) == ("bf16", "fp32")
    assert by_cpu[True][1] == by_cpu[False][1] == "all-MiniLM-L6-v2@gt-0.1.0+t128-auto"
    assert float(np.min(np.sum(by_cpu[True][2] * by_cpu[False][2], axis=1))) > 0.999


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
