"""The ``SearchIndex`` protocol: what an index backend (embedded or Azure AI Search) provides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class IndexDocument:
    """One searchable unit: redacted text, its vector and filterable metadata."""

    unit_id: str
    feedback_id: str
    text: str
    vector: Sequence[float]
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """One result of a query, with the fused score and the scores it came from."""

    unit_id: str
    feedback_id: str
    text: str
    score: float
    bm25_rank: int | None
    vector_rank: int | None
    metadata: dict[str, Any]


class SearchIndex(Protocol):
    """Upsert, delete, count and hybrid query."""

    def upsert(self, documents: Sequence[IndexDocument]) -> int: ...

    def delete(self, unit_ids: Sequence[str]) -> int: ...

    def count(self) -> int: ...

    def content_hashes(self) -> dict[str, str]: ...

    def newest_created_at(self) -> Any:
        """The newest ``created_at`` among the indexed units (None when empty): where "now" is for a question."""

    def refresh(self) -> None:
        """Make what was written searchable (the embedded index's postings and vector structure)."""

    def close(self) -> None:
        """Release the index's connections."""

    def query(
        self,
        text: str,
        vector: Sequence[float] | None,
        top: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> list[SearchHit]: ...
