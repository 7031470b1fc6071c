"""The Azure OpenAI embeddings backend against the loopback fake of the Azure OpenAI REST API.

``tests/fakes/azure_openai_server.py`` serves the embeddings path the ``openai`` SDK calls on 127.0.0.1 and
answers hashed-bag-of-words vectors (``fake_embedding``), so every vector the embedder returns can be checked
against an independent computation. Faults (429 with Retry-After, 500, a stall past the timeout) are scripted
per request; backoff settings are short so the file stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import openai
import pytest

from fakes.azure_openai_server import FakeAzureOpenAI, Fault, fake_embedding
from feedback_ops.config import EmbeddingSettings, LanguageModelSettings, Settings
from feedback_ops.embed import Embedder
from feedback_ops.embed.azure_openai import AzureOpenAIEmbedder, EmbeddingFailed
from feedback_ops.embed.factory import make_embedder

API_VERSION = "2024-10-21"
DIMENSIONS = 64
TEXTS = [
    "I was charged twice for my order and want a refund",
    "charged twice for the same order, refund please",
    "The app crashes when I open the camera",
    "Delivery was late and the parcel was damaged",
    "Love the new dark mode",
]


def cloud_settings(fake: FakeAzureOpenAI, backend: str = "azure_openai", **embedding: object) -> Settings:
    """Settings pointing both backends at ``fake``, with 64-dimensional vectors and short backoff."""
    llm = LanguageModelSettings(
        endpoint=fake.endpoint, api_key=fake.api_key, api_version=API_VERSION, base_url=fake.base_url
    )
    options: dict[str, object] = {
        "deployment": "emb-small",
        "model": "text-embedding-3-small",
        "dimensions": DIMENSIONS,
        "batch_size": 2,
        "timeout_s": 2.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        **embedding,
    }
    return dataclasses.replace(
        Settings(), embedding_backend=backend, llm=llm, embedding=EmbeddingSettings(**options)
    )


@pytest.fixture
def fake() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as server:
        yield server


def expected_vectors(texts: list[str], dimensions: int = DIMENSIONS) -> np.ndarray:
    return np.asarray([fake_embedding(text, dimensions) for text in texts], dtype=np.float32)


def test_vectors_batches_and_version(fake: FakeAzureOpenAI) -> None:
    embedder = make_embedder(cloud_settings(fake))
    assert isinstance(embedder, AzureOpenAIEmbedder) and isinstance(embedder, Embedder)
    vectors = embedder.embed(TEXTS)

    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS), atol=1e-6)
    assert embedder.version == "azure:emb-small/text-embedding-3-small@64"
    assert embedder.model_name == "text-embedding-3-small" and embedder.dimensions == DIMENSIONS

    # five texts in batches of two: three requests, each to the deployment's path with the API version
    assert sorted(len(r.embedding_inputs) for r in fake.requests) == [1, 2, 2]  # sent concurrently
    assert {r.path for r in fake.requests} == {"/openai/deployments/emb-small/embeddings"}
    assert all(r.query["api-version"] == [API_VERSION] for r in fake.requests)
    assert all(r.json["dimensions"] == DIMENSIONS for r in fake.requests)
    assert sorted(text for r in fake.requests for text in r.embedding_inputs) == sorted(TEXTS)


def test_similar_texts_are_nearer_than_unrelated_ones(fake: FakeAzureOpenAI) -> None:
    vectors = make_embedder(cloud_settings(fake)).embed(TEXTS)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_openai_compatible_endpoint(fake: FakeAzureOpenAI) -> None:
    embedder = make_embedder(cloud_settings(fake, backend="openai_compatible", batch_size=8))
    vectors = embedder.embed(TEXTS[:3])
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS[:3]), atol=1e-6)
    assert embedder.version == "openai-compatible:emb-small/text-embedding-3-small@64"
    (request,) = fake.requests
    assert request.path == "/v1/embeddings" and request.json["model"] == "emb-small"
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"


def test_429_is_retried_after_the_servers_delay(fake: FakeAzureOpenAI) -> None:
    fake.inject(Fault("status", status=429, headers={"retry-after-ms": "300"}, match="crashes"))
    embedder = make_embedder(cloud_settings(fake))
    vectors = embedder.embed(TEXTS)

    np.testing.assert_allclose(vectors, expected_vectors(TEXTS), atol=1e-6)
    refused, retried = fake.requests_matching("crashes")
    assert retried.received_at - refused.received_at >= 0.3
    assert embedder.calls == 4


def test_500_and_timeouts_are_retried(fake: FakeAzureOpenAI) -> None:
    fake.inject(
        Fault("status", status=500, match="Delivery"),
        Fault("delay", delay_s=1.5, match="charged twice"),
    )
    embedder = make_embedder(cloud_settings(fake, timeout_s=0.5))
    vectors = embedder.embed(TEXTS)
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS), atol=1e-6)
    assert len(fake.requests_matching("Delivery")) == 2
    assert len(fake.requests_matching("charged twice")) == 2


def test_persistent_failure_raises_naming_the_batch(fake: FakeAzureOpenAI) -> None:
    fake.inject(Fault("status", status=503, times=100, match="crashes"))
    embedder = make_embedder(cloud_settings(fake, max_attempts=3))
    with pytest.raises(EmbeddingFailed, match=r"batch 1 \(2 texts\) failed after 3 calls.*503"):
        embedder.embed(TEXTS)
    assert len(fake.requests_matching("crashes")) == 3


def test_bad_key_is_not_retried(fake: FakeAzureOpenAI) -> None:
    settings = cloud_settings(fake)
    settings = dataclasses.replace(settings, llm=dataclasses.replace(settings.llm, api_key="wrong"))
    with pytest.raises(openai.AuthenticationError):
        make_embedder(settings).embed(TEXTS[:1])
    assert len(fake.requests) == 1


def test_bad_input_and_configuration_give_clear_errors(fake: FakeAzureOpenAI) -> None:
    embedder = make_embedder(cloud_settings(fake))
    with pytest.raises(ValueError, match=r"empty texts \(positions \[1\]\)"):
        embedder.embed(["fine", "  "])
    assert fake.requests == []
    with pytest.raises(ValueError, match="FEEDBACK_OPS_EMBEDDING_DIMENSIONS"):
        make_embedder(cloud_settings(fake, model="my-own-model", dimensions=None))
    # ada-002 cannot shorten its vectors: the service answers 1536 floats where 64 were configured
    mismatched = make_embedder(cloud_settings(fake, model="text-embedding-ada-002"))
    with pytest.raises(EmbeddingFailed, match=r"shape \(1, 1536\), expected \(1, 64\)"):
        mismatched.embed(TEXTS[:1])
    assert "dimensions" not in fake.requests[-1].json


def test_native_dimensions_and_empty_input(fake: FakeAzureOpenAI) -> None:
    embedder = make_embedder(cloud_settings(fake, dimensions=None))
    assert embedder.dimensions == 1536 and embedder.version.endswith("@1536")
    assert embedder.embed([]).shape == (0, 1536)
    assert embedder.embed(TEXTS[:1]).shape == (1, 1536)
    assert "dimensions" not in fake.requests[-1].json
