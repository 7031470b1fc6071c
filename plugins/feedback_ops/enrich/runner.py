"""Run enrichment over the silver records that have none at the current version.

Incremental and cached: a record already enriched at the current ``enrichment_version`` is skipped; a record
whose ``text_hash`` was enriched before at this version reuses that result instead of calling a model. The
vectors the local models computed for the redacted text are stored in ``enrichment.embeddings`` so the
embedding stage does not compute them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.warehouse import DuckDBWarehouse

PENDING_SQL = """
    select
        s.feedback_id, s.text_hash, s.feedback_text as text, s.channel, s.severity, s.rating,
        s.product_area, s.locale
    from silver.int_feedback_deduplicated as s
    left join enrichment.feedback_enrichment as e
        on e.feedback_id = s.feedback_id and e.enrichment_version = ?
    where e.feedback_id is null
    order by s.feedback_id
"""

REUSE_BY_TEXT_HASH_SQL = """
    insert into enrichment.feedback_enrichment
    select distinct on (p.feedback_id)
        p.feedback_id, e.* exclude (feedback_id)
    from _pending as p
    join enrichment.feedback_enrichment as e
        on e.text_hash = p.text_hash and e.enrichment_version = ?
    order by p.feedback_id, e.feedback_id
"""


@dataclass
class EnrichmentRunStats:
    """What one enrichment run did."""

    enrichment_version: str
    pending: int = 0
    reused_by_text_hash: int = 0
    enriched: int = 0
    batches: int = 0
    categories: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _items(frame: Any) -> list[Any]:
    from feedback_ops.enrich.schemas import FeedbackItem

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [FeedbackItem(**record) for record in records]


def _embedding_frame(results: list[Any], vectors: Any, embedder: Any, now: datetime) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "unit_id": [f"{r.feedback_id}:0" for r in results],
            "feedback_id": [r.feedback_id for r in results],
            "text_hash": [r.text_hash for r in results],
            "embedding_model": embedder.model_name,
            "embedding_version": embedder.version,
            "vector": [list(map(float, v)) for v in vectors],
            "embedded_at": now,
        }
    )


def enrich_pending(
    warehouse: DuckDBWarehouse, settings: Settings, enricher: Any | None = None
) -> EnrichmentRunStats:
    """Enrich every silver record that has no enrichment at the enricher's current version."""
    import pandas as pd

    if enricher is None:
        from feedback_ops.enrich.local import LocalEnricher

        enricher = LocalEnricher(settings)
    version = enricher.enrichment_version
    stats = EnrichmentRunStats(enrichment_version=version)
    warehouse.execute(f"create or replace temp table _pending as {PENDING_SQL}", [version])
    stats.pending = int(warehouse.scalar("select count(*) from _pending"))
    before = int(
        warehouse.scalar(
            "select count(*) from enrichment.feedback_enrichment where enrichment_version = ?", [version]
        )
    )
    warehouse.execute(REUSE_BY_TEXT_HASH_SQL, [version])
    after = int(
        warehouse.scalar(
            "select count(*) from enrichment.feedback_enrichment where enrichment_version = ?", [version]
        )
    )
    stats.reused_by_text_hash = after - before
    remaining = """
        select p.* from _pending as p
        left join enrichment.feedback_enrichment as e
            on e.feedback_id = p.feedback_id and e.enrichment_version = ?
        where e.feedback_id is null order by p.feedback_id
    """
    todo = warehouse.query_df(remaining, [version])
    for start in range(0, len(todo), settings.batch_size):
        batch = todo.iloc[start : start + settings.batch_size]
        results, vectors = enricher.enrich_with_embeddings(_items(batch))
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = pd.DataFrame([{**r.model_dump(), "enriched_at": now} for r in results])
        with warehouse.transaction():
            warehouse.upsert(
                "enrichment.feedback_enrichment", rows, keys=["feedback_id", "enrichment_version"]
            )
            warehouse.upsert(
                "enrichment.embeddings",
                _embedding_frame(results, vectors, enricher.embedder, now),
                keys=["unit_id", "embedding_version"],
            )
        stats.enriched += len(results)
        stats.batches += 1
    counts = warehouse.query_df(
        "select category, count(*) as n from enrichment.feedback_enrichment where enrichment_version = ? "
        "group by category order by n desc",
        [version],
    )
    stats.categories = dict(zip(counts["category"], counts["n"].astype(int), strict=True))
    warehouse.execute("drop table if exists _pending")
    return stats
