"""Keep the search index in step with the warehouse: embed what is new, push what changed, delete what left.

One document per analysis unit (today: the whole redacted message, ``unit_id = <feedback_id>:0``). Only
units whose vector at the current embedding version is missing are embedded; only documents whose content
hash differs from the index's are pushed. Afterwards the index count must equal the table's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.search.base import IndexDocument
from feedback_ops.warehouse import DuckDBWarehouse


class IndexOutOfSync(RuntimeError):
    """The index does not hold exactly the documents the warehouse says it should."""


@dataclass
class IndexSyncStats:
    """What one synchronisation did."""

    embedding_version: str
    embedded: int
    upserted: int
    deleted: int
    index_count: int
    expected_count: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


MISSING_VECTORS_SQL = """
    select e.feedback_id, e.text_hash, e.redacted_text
    from enrichment.feedback_enrichment as e
    left join enrichment.embeddings as v
        on v.feedback_id = e.feedback_id and v.embedding_version = ? and v.text_hash = e.text_hash
    where e.enrichment_version = ? and v.unit_id is null
    order by e.feedback_id
"""

DOCUMENTS_SQL = """
    select
        v.unit_id, s.feedback_id, e.redacted_text as text, v.vector, s.created_at, s.channel,
        s.product_area, s.locale, e.language, e.category, e.sentiment_label, e.urgency, e.sentiment_score,
        e.enrichment_version, v.embedding_version
    from silver.int_feedback_deduplicated as s
    join enrichment.feedback_enrichment as e
        on e.feedback_id = s.feedback_id and e.enrichment_version = ?
    join enrichment.embeddings as v
        on v.feedback_id = s.feedback_id and v.embedding_version = ? and v.text_hash = e.text_hash
    order by v.unit_id
"""


def embed_missing(
    warehouse: DuckDBWarehouse, settings: Settings, embedder: Any, enrichment_version: str
) -> int:
    """Embed the redacted text of enriched records that have no vector at the embedder's version."""
    import pandas as pd

    todo = warehouse.query_df(MISSING_VECTORS_SQL, [embedder.version, enrichment_version])
    for start in range(0, len(todo), settings.batch_size):
        batch = todo.iloc[start : start + settings.batch_size]
        vectors = embedder.embed(batch["redacted_text"].tolist())
        frame = pd.DataFrame(
            {
                "unit_id": batch["feedback_id"] + ":0",
                "feedback_id": batch["feedback_id"],
                "text_hash": batch["text_hash"],
                "embedding_model": embedder.model_name,
                "embedding_version": embedder.version,
                "vector": [list(map(float, v)) for v in vectors],
                "embedded_at": datetime.now(UTC).replace(tzinfo=None),
            }
        )
        warehouse.upsert("enrichment.embeddings", frame, keys=["unit_id", "embedding_version"])
    return len(todo)


def _document(row: dict[str, Any]) -> IndexDocument:
    metadata = {k: row[k] for k in row if k not in {"unit_id", "feedback_id", "text", "vector"}}
    metadata["created_at"] = None if row["created_at"] is None else row["created_at"].isoformat()
    digest = hashlib.sha256(
        json.dumps([row["text"], metadata], sort_keys=True, default=str).encode()
    ).hexdigest()
    return IndexDocument(
        unit_id=row["unit_id"],
        feedback_id=row["feedback_id"],
        text=row["text"],
        vector=row["vector"],
        content_hash=digest[:32],
        metadata=metadata,
    )


def sync_index(
    warehouse: DuckDBWarehouse, index: Any, settings: Settings, embedder: Any, enrichment_version: str
) -> IndexSyncStats:
    """Embed what is missing, push changed documents, delete removed ones, and check the counts agree.

    Raises:
        IndexOutOfSync: after the sync, the index count differs from the number of documents expected.
    """
    embedded = embed_missing(warehouse, settings, embedder, enrichment_version)
    current = index.content_hashes()
    expected_ids: set[str] = set()
    upserted = 0
    for table in warehouse.iter_batches(
        DOCUMENTS_SQL, settings.batch_size, [enrichment_version, embedder.version]
    ):
        documents = [_document(row) for row in table.to_pylist()]
        expected_ids.update(d.unit_id for d in documents)
        changed = [d for d in documents if current.get(d.unit_id) != d.content_hash]
        upserted += index.upsert(changed)
    removed = sorted(set(current) - expected_ids)
    index.delete(removed)
    index.refresh()
    stats = IndexSyncStats(
        embedding_version=embedder.version,
        embedded=embedded,
        upserted=upserted,
        deleted=len(removed),
        index_count=index.count(),
        expected_count=len(expected_ids),
    )
    if stats.index_count != stats.expected_count:
        raise IndexOutOfSync(
            f"index holds {stats.index_count} documents, the warehouse expects {stats.expected_count}"
        )
    return stats
