"""Enrichment backends: the configured one (``make_enricher``) and one way to run a batch on any of them.

``settings.enrichment_backend`` picks the backend: ``local`` (``LocalEnricher``, the default),
``azure_openai`` or ``openai_compatible`` (``AzureOpenAIEnricher``). Backends share the version properties
and ``enrich(items)``; ``run_batch`` turns either kind of batch into an ``EnrichmentBatch`` (results,
quarantined, deferred, and the vectors when the backend computed them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from feedback_ops.config import Settings, enrichment_backend_name
from feedback_ops.embed.base import Embedder
from feedback_ops.enrich.outcomes import EnrichmentBatch, QuarantinedRecord
from feedback_ops.enrich.schemas import EnrichmentResult, FeedbackItem


@runtime_checkable
class Enricher(Protocol):
    """What every enrichment backend offers."""

    @property
    def enrichment_version(self) -> str: ...

    @property
    def model_version(self) -> str: ...

    @property
    def taxonomy_version(self) -> str: ...

    def enrich(self, items: Sequence[FeedbackItem]) -> list[EnrichmentResult]: ...


@runtime_checkable
class EmbeddingEnricher(Enricher, Protocol):
    """An enricher that embeds each message itself (the local one): its vectors are stored and reused."""

    embedder: Embedder


def make_enricher(settings: Settings, backend: str | None = None) -> Any:
    """The enricher of ``backend`` (default: ``settings.enrichment_backend``); builds no client, calls nothing.

    Raises:
        ValueError: an unknown backend name.
    """
    name = enrichment_backend_name(settings, backend)
    if name == "local":
        from feedback_ops.enrich.local import LocalEnricher

        return LocalEnricher(settings)
    from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher

    return AzureOpenAIEnricher(settings, backend=name)


def begin_run(enricher: Enricher) -> None:
    """Tell a backend a new run starts (resets a per-run budget); a no-op for backends without one."""
    start = getattr(enricher, "begin_run", None)
    if callable(start):
        start()


def run_batch(enricher: Enricher, items: Sequence[FeedbackItem]) -> EnrichmentBatch:
    """Enrich ``items`` with any backend and account for every one of them; one record never fails the batch.

    A backend with ``enrich_batch`` (cloud) reports quarantined and deferred items itself; one with
    ``enrich_with_embeddings`` (local) returns a result per item and its vectors. A record the backend raises a
    record error on (``enrich.failures.RECORD_ERRORS``: e.g. output that breaks the ``EnrichmentResult``
    contract) is isolated and quarantined with the reason and the error; the others are enriched.
    """
    from feedback_ops.enrich.failures import describe, failure_reason, isolate_failures

    done, failed = isolate_failures(list(items), lambda part: _run_backend(enricher, part))
    batch = EnrichmentBatch.merged([outcome for _, outcome in done])
    batch.quarantined += [
        QuarantinedRecord(
            feedback_id=item.feedback_id,
            enrichment_version=enricher.enrichment_version,
            text_hash=item.text_hash,
            reason=failure_reason(error),  # type: ignore[arg-type]
            attempts=1,
            last_error=describe(error),
        )
        for item, error in failed
    ]
    return batch


def _run_backend(enricher: Enricher, items: Sequence[FeedbackItem]) -> EnrichmentBatch:
    """One call of the backend over ``items``."""
    if hasattr(enricher, "enrich_batch"):
        return enricher.enrich_batch(items)
    if hasattr(enricher, "enrich_with_embeddings"):
        results, vectors = enricher.enrich_with_embeddings(items)
        return EnrichmentBatch(results=list(results), vectors=vectors)
    return EnrichmentBatch(results=list(enricher.enrich(items)))
