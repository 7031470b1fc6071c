"""What enriching a batch gives back: every input item ends in exactly one of three places.

- ``results``: valid ``EnrichmentResult`` rows, written to ``enrichment.feedback_enrichment``;
- ``quarantined``: items whose model output stayed invalid (or that the service refused, or whose processing
  raised an error on that record alone), written to
  ``enrichment.enrichment_quarantine`` with the reason — never written as if valid;
- ``deferred``: items not attempted or not finished in this run (budget spent, service unavailable): nothing
  is written, they stay pending and the next run picks them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from feedback_ops.enrich.schemas import EnrichmentResult

if TYPE_CHECKING:
    import numpy

QuarantineReason = Literal["invalid_output", "content_filter", "rejected_by_service", "processing_error"]
"""``processing_error``: the backend raised on this record alone (``enrich.failures.isolate_failures``)."""
DeferReason = Literal["budget_exhausted", "service_unavailable"]


class QuarantinedRecord(BaseModel):
    """One row of ``enrichment.enrichment_quarantine`` (without ``quarantined_at``, set by the writer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feedback_id: str = Field(min_length=1)
    enrichment_version: str = Field(min_length=1)
    text_hash: str = Field(min_length=1)
    reason: QuarantineReason
    attempts: int = Field(ge=1)
    last_error: str


@dataclass(frozen=True)
class DeferredRecord:
    """An item left pending for a later run, and why."""

    feedback_id: str
    reason: DeferReason
    detail: str = ""


@dataclass
class EnrichmentBatch:
    """The outcome of enriching one batch; ``vectors`` (row i for ``results[i]``) only from local models.

    ``spent_usd`` is what the batch's calls cost, failed and retried ones included.
    """

    results: list[EnrichmentResult] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    deferred: list[DeferredRecord] = field(default_factory=list)
    vectors: numpy.ndarray | None = None
    spent_usd: float = 0.0

    @classmethod
    def merged(cls, parts: list[EnrichmentBatch]) -> EnrichmentBatch:
        """One batch of several parts' outcomes, in order (vectors stacked when every part has them)."""
        import numpy as np

        merged = cls(spent_usd=sum(p.spent_usd for p in parts))
        for part in parts:
            merged.results += part.results
            merged.quarantined += part.quarantined
            merged.deferred += part.deferred
        vectors = [p.vectors for p in parts if p.vectors is not None]
        if vectors and len(vectors) == len(parts):
            merged.vectors = np.vstack(vectors)
        return merged

    @property
    def feedback_ids(self) -> list[str]:
        """Every id the batch accounts for, results first, then quarantined, then deferred."""
        return [
            *(r.feedback_id for r in self.results),
            *(q.feedback_id for q in self.quarantined),
            *(d.feedback_id for d in self.deferred),
        ]
