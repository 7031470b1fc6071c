"""``AzureOpenAIEmbedder``: vectors from an Azure OpenAI embeddings deployment or an OpenAI-compatible endpoint.

Built on the official ``openai`` SDK (``AsyncAzureOpenAI``, or ``AsyncOpenAI`` with a ``base_url``, the same
way ``enrich.azure_openai`` reaches the chat deployments), ``embeddings.create``:

- **batched**: ``embedding.batch_size`` texts per request, ``embedding.concurrency`` requests in flight, under
  client-side requests- and tokens-per-minute limits (``feedback_ops.throttle.RateLimiter``);
- **retried**: SDK retries are off (``max_retries=0``); the loop here retries 429 (honouring ``Retry-After`` /
  ``retry-after-ms``, which also pauses every other request), 5xx, 408 / 409, timeouts and connection errors
  with exponential backoff and jitter, and raises ``EmbeddingFailed`` naming the batch once the attempts run
  out; 400 / 401 / 404 (bad input, key, deployment) are raised at once: no retry can fix them;
- **checked**: every text gets exactly one vector of ``dimensions`` floats (by the response's ``index``), or
  the call fails; rows are L2-normalized so cosine equals dot product, as the ``Embedder`` protocol promises.

Only redacted text is ever passed in (the embed stage embeds ``redacted_text``). ``version`` is
``<backend>:<deployment>/<model>@<dimensions>``: vectors from another deployment, model or length are never
mixed with these in one index (the sync re-embeds everything when it changes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from feedback_ops.config import ConfigurationError, Settings, get_settings
from feedback_ops.throttle import RateLimiter, backoff_delay, retry_after_seconds

if TYPE_CHECKING:
    import numpy

log = logging.getLogger(__name__)

CLOUD_BACKENDS = ("azure_openai", "openai_compatible")
VERSION_PREFIX = {"azure_openai": "azure", "openai_compatible": "openai-compatible"}
NATIVE_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
"""Vector length of well-known models when ``FEEDBACK_OPS_EMBEDDING_DIMENSIONS`` is unset."""
SHORTENABLE = ("text-embedding-3",)
"""Model families that accept the ``dimensions`` parameter (ada-002 rejects it)."""
MAX_INPUT_CHARS = 8000
"""Characters sent per text. The models take 8,191 tokens; 8,000 characters stay under that in any script."""
MAX_BATCH_TOKENS = 250_000
"""Estimated tokens per request at most (the service refuses requests over 300,000 tokens)."""
RETRYABLE_STATUS = frozenset({408, 409, 429})
CHARS_PER_TOKEN = 4


class EmbeddingFailed(RuntimeError):
    """A batch could not be embedded after every attempt (the service kept failing)."""


def native_dimensions(model: str) -> int | None:
    """The vector length ``model`` returns by default, if it is a well-known one."""
    return NATIVE_DIMENSIONS.get(model)


class AzureOpenAIEmbedder:
    """The cloud ``Embedder``.

    Args:
        settings: ``settings.embedding`` (deployment, model, dimensions, batching, limits, retries) and the
            resource in ``settings.llm`` (endpoint, key, API version, base URL); process settings if None.
        backend: ``azure_openai`` (``AsyncAzureOpenAI`` on ``llm.endpoint``) or ``openai_compatible``
            (``AsyncOpenAI`` on ``llm.base_url``).

    Raises:
        ValueError: an unknown backend, or no dimensions configured for a model whose length is not known.
    """

    def __init__(self, settings: Settings | None = None, *, backend: str = "azure_openai") -> None:
        if backend not in CLOUD_BACKENDS:
            raise ValueError(f"unknown cloud embedding backend {backend!r}; expected one of {CLOUD_BACKENDS}")
        self.settings = settings or get_settings()
        self.backend = backend
        self.options = self.settings.embedding
        if self.options.batch_size < 1 or self.options.max_attempts < 1:
            raise ValueError("embedding batch_size and max_attempts must be at least 1")
        self.model_name = self.options.model
        self.deployment = self.options.deployment
        dimensions = self.options.dimensions or native_dimensions(self.options.model)
        if not dimensions or dimensions < 1:
            raise ValueError(
                f"the vector length of embedding model {self.options.model!r} is not known: "
                "set FEEDBACK_OPS_EMBEDDING_DIMENSIONS"
            )
        self.dimensions = int(dimensions)
        self.version = f"{VERSION_PREFIX[backend]}:{self.deployment}/{self.model_name}@{self.dimensions}"
        self.limiter = RateLimiter(self.options.requests_per_minute, self.options.tokens_per_minute)
        self.calls = 0
        """HTTP requests made (retries included), for logs and tests."""

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embed ``texts``: ``float32`` array of shape ``(len(texts), dimensions)``, unit-norm rows.

        Raises:
            ValueError: a text is empty (the service rejects empty input; nothing is silently replaced).
            EmbeddingFailed: a batch kept failing with 429 / 5xx / timeouts through every attempt.
            openai.APIStatusError: the service refused the request for good (key, deployment, input).
        """
        import numpy

        empty = [index for index, text in enumerate(texts) if not text or not text.strip()]
        if empty:
            raise ValueError(f"cannot embed empty texts (positions {empty[:20]})")
        vectors = numpy.zeros((len(texts), self.dimensions), dtype=numpy.float32)
        if not texts:
            return vectors
        batches = self._batches([len(text[:MAX_INPUT_CHARS]) for text in texts])
        results = asyncio.run(self._embed_all([[texts[i][:MAX_INPUT_CHARS] for i in b] for b in batches]))
        for batch, result in zip(batches, results, strict=True):
            vectors[batch] = result
        norms = numpy.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / numpy.maximum(norms, 1e-12)

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Positions in input order, cut at ``batch_size`` texts or ``MAX_BATCH_TOKENS`` estimated tokens."""
        batches: list[list[int]] = []
        batch: list[int] = []
        tokens = 0
        for index, length in enumerate(lengths):
            estimate = -(-length // CHARS_PER_TOKEN)
            if batch and (len(batch) >= self.options.batch_size or tokens + estimate > MAX_BATCH_TOKENS):
                batches.append(batch)
                batch, tokens = [], 0
            batch.append(index)
            tokens += estimate
        return [*batches, batch] if batch else batches

    async def _embed_all(self, batches: list[list[str]]) -> list[numpy.ndarray]:
        client = self._client()
        semaphore = asyncio.Semaphore(max(1, self.options.concurrency))

        async def one(number: int, batch: list[str]) -> numpy.ndarray:
            async with semaphore:
                return await self._embed_batch(client, number, batch)

        try:
            return list(await asyncio.gather(*(one(n, b) for n, b in enumerate(batches))))
        finally:
            await client.close()

    def _client(self) -> Any:
        """A new SDK client with retries off (the loop here owns them); one per ``embed`` call."""
        from openai import AsyncAzureOpenAI, AsyncOpenAI

        llm = self.settings.llm
        options: dict[str, Any] = {"max_retries": 0, "timeout": self.options.timeout_s}
        if self.backend == "azure_openai":
            if not llm.endpoint or not llm.api_key:
                raise ConfigurationError(
                    "azure_openai embeddings need AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY"
                )
            return AsyncAzureOpenAI(
                azure_endpoint=llm.endpoint, api_key=llm.api_key, api_version=llm.api_version, **options
            )
        if not llm.base_url:
            raise ConfigurationError("openai_compatible embeddings need FEEDBACK_OPS_LLM_BASE_URL")
        return AsyncOpenAI(base_url=llm.base_url, api_key=llm.api_key or "not-needed", **options)

    def _request_options(self) -> dict[str, Any]:
        """``dimensions`` only when configured and the model can shorten its vectors."""
        if self.options.dimensions and self.model_name.startswith(SHORTENABLE):
            return {"dimensions": self.options.dimensions}
        return {}

    async def _embed_batch(self, client: Any, number: int, batch: list[str]) -> numpy.ndarray:
        """One batch's vectors, in input order, retrying what a retry can fix."""
        import openai

        tokens = sum(-(-len(text) // CHARS_PER_TOKEN) for text in batch)
        last_error = ""
        for attempt in range(1, self.options.max_attempts + 1):
            await self.limiter.acquire(tokens)
            self.calls += 1
            try:
                response = await client.embeddings.create(
                    model=self.deployment,
                    input=batch,
                    encoding_format="float",
                    timeout=self.options.timeout_s,
                    **self._request_options(),
                )
            except openai.APIError as error:
                last_error = f"{type(error).__name__}: {error}"[:500]
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                if attempt < self.options.max_attempts:
                    log.warning(
                        "embed batch %d: %s (call %d/%d), retrying in %.2f s",
                        number,
                        last_error,
                        attempt,
                        self.options.max_attempts,
                        delay,
                    )
                    await asyncio.sleep(delay)
                continue
            return self._vectors(response, len(batch))
        raise EmbeddingFailed(
            f"embedding batch {number} ({len(batch)} texts) failed after {self.options.max_attempts} calls "
            f"to {self.deployment}: {last_error}"
        )

    def _retry_delay(self, error: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying ``error``, or None when no retry can fix it."""
        import openai

        status = error.status_code if isinstance(error, openai.APIStatusError) else None
        retryable = isinstance(error, openai.APIConnectionError) or (
            status is not None and (status >= 500 or status in RETRYABLE_STATUS)
        )
        if not retryable:
            return None
        headers = error.response.headers if isinstance(error, openai.APIStatusError) else None
        server_delay = retry_after_seconds(headers)
        if status == 429 and server_delay is not None:
            self.limiter.pause(server_delay)
        if server_delay is not None:
            return server_delay
        return backoff_delay(attempt, self.options.backoff_base_s, self.options.backoff_max_s)

    def _vectors(self, response: Any, expected: int) -> numpy.ndarray:
        """The response's vectors ordered by ``index``; fails unless there is one of the right length per text."""
        import numpy

        rows = sorted(response.data, key=lambda item: item.index)
        if [row.index for row in rows] != list(range(expected)):
            raise EmbeddingFailed(
                f"{self.deployment} returned vectors for positions {[r.index for r in rows][:20]}, "
                f"expected 0..{expected - 1}"
            )
        vectors = numpy.asarray([row.embedding for row in rows], dtype=numpy.float32)
        if vectors.shape != (expected, self.dimensions):
            raise EmbeddingFailed(
                f"{self.deployment} returned vectors of shape {vectors.shape}, expected "
                f"({expected}, {self.dimensions}): check FEEDBACK_OPS_EMBEDDING_DIMENSIONS"
            )
        return vectors
