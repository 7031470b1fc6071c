"""Re-embedding and index rebuilds when the embedding model changes, without search ever going empty.

The regular pipeline (``sync_index``) keeps the *active* index current for new feedback. When the configured
embedder's version differs from the one the active index was built with (a new model, a new precision, a
longer context), a plain sync would rewrite every document in place while analysts search it, mixing vectors
of two models in one ranking. ``reindex`` instead:

1. finds the time partitions (months of ``created_at``) holding units without a vector at the configured
   version and re-embeds only those (vectors already current are reused);
2. builds a complete new index file beside the active one and checks its count against the table;
3. switches ``ACTIVE.json`` to it atomically, then removes the old file.

A crash before step 3 leaves the old index active and a partial new file that the next reindex replaces.
Locally the index is a DuckDB file under ``.local/index/``; the same steps apply to Azure AI Search with an
index per version behind an alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.embed.base import Embedder
from feedback_ops.warehouse.base import Warehouse

STALE_PARTITIONS_SQL = """
    select
        strftime(date_trunc('month', s.created_at), '%Y-%m') as partition,
        count(*) as units,
        count(*) filter (where v.unit_id is null) as stale_units
    from enrichment.feedback_units as u
    join enrichment.feedback_enrichment as e
        on e.feedback_id = u.feedback_id and e.enrichment_version = ? and e.text_hash = u.source_text_hash
    join silver.int_feedback_deduplicated as s on s.feedback_id = u.feedback_id
    left join enrichment.embeddings as v
        on v.unit_id = u.unit_id and v.embedding_version = ? and v.text_hash = u.text_hash
    group by 1
    order by 1
"""
"""Units per month and how many of them have no vector at the configured embedding version."""


@dataclass
class ReindexStats:
    """What a reindex found and did."""

    embedding_version: str
    previous_embedding_version: str | None
    partitions: dict[str, dict[str, int]] = field(default_factory=dict)
    stale_partitions: list[str] = field(default_factory=list)
    embedded: int = 0
    rebuilt: bool = False
    documents: int = 0
    active_file: str = ""
    previous_file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _slug(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", version).strip("-")[:60]


def stale_partitions(
    warehouse: Warehouse, enrichment_version: str, embedding_version: str
) -> dict[str, dict[str, int]]:
    """``{month: {"units", "stale_units"}}`` for the current units."""
    frame = warehouse.query_df(STALE_PARTITIONS_SQL, [enrichment_version, embedding_version])
    return {
        str(row.partition): {"units": int(row.units), "stale_units": int(row.stale_units)}
        for row in frame.itertuples(index=False)
    }


def reindex(
    settings: Settings | None = None, *, embedder: Embedder | None = None, force: bool = False
) -> ReindexStats:
    """Re-embed the stale partitions and, if the active index is of another version, rebuild and switch.

    Args:
        force: rebuild and switch even when the active index already has the configured version.
    """
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.enrich.versions import current_enrichment_version
    from feedback_ops.search.embedded import (
        EmbeddedIndex,
        index_files,
        read_active_pointer,
        switch_active_index,
    )
    from feedback_ops.search.sync import build_missing_units, embed_missing, sync_index
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    embedder = embedder or make_embedder(settings)
    enrichment_version = current_enrichment_version(settings)
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    pointer = read_active_pointer(index_dir)
    stats = ReindexStats(embedder.version, pointer["embedding_version"], active_file=pointer["file"])
    with open_warehouse(settings) as warehouse:
        build_missing_units(warehouse, settings, enrichment_version)
        stats.partitions = stale_partitions(warehouse, enrichment_version, embedder.version)
        stats.stale_partitions = [p for p, counts in stats.partitions.items() if counts["stale_units"]]
        stats.embedded = embed_missing(warehouse, settings, embedder, enrichment_version)
        if not force and pointer["embedding_version"] == embedder.version:
            return stats
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        new_path = index_dir / f"feedback_index-{_slug(embedder.version)}-{stamp}.duckdb"
        new_path.unlink(missing_ok=True)
        new_index = EmbeddedIndex(
            new_path,
            dimensions=embedder.dimensions,
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
        )
        try:
            synced = sync_index(warehouse, new_index, settings, embedder, enrichment_version)
        finally:
            new_index.close()
    previous = switch_active_index(index_dir, new_path, embedder.version)
    if previous.resolve() != new_path.resolve():
        for leftover in index_files(previous):
            leftover.unlink(missing_ok=True)
    stats.rebuilt = True
    stats.documents = synced.index_count
    stats.active_file = new_path.name
    stats.previous_file = previous.name
    return stats
