"""Keep the search index in step with the warehouse: embed what is new, push what changed, delete what left.

One document per analysis unit (``feedback_ops.search.units``: the whole redacted message ``<feedback_id>:0``
and, for messages saying several things, one per sentence or speaker turn ``<feedback_id>:<n>``). Units are
cut once per (message text, splitter version); only units whose vector at the current embedding version is
missing are embedded; only documents whose content hash differs from the index's are pushed; documents of
removed records are deleted. Afterwards the index count must equal the table's (``IndexOutOfSync``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.embed.rows import embedding_rows
from feedback_ops.search.base import IndexDocument
from feedback_ops.search.units import SPLITTER_VERSION, split_units
from feedback_ops.warehouse import DuckDBWarehouse
from feedback_ops.warehouse.dialect import in_list


class IndexOutOfSync(RuntimeError):
    """The index does not hold exactly the documents the warehouse says it should."""


@dataclass
class IndexSyncStats:
    """What one synchronisation did."""

    embedding_version: str
    messages_split: int
    embedded: int
    upserted: int
    deleted: int
    index_count: int
    expected_count: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


UNITS_TO_BUILD_SQL = """
    select e.feedback_id, e.text_hash, e.redacted_text, s.channel
    from enrichment.feedback_enrichment as e
    join silver.int_feedback_deduplicated as s on s.feedback_id = e.feedback_id
    left join enrichment.feedback_units as u
        on u.feedback_id = e.feedback_id and u.unit_index = 0
        and u.source_text_hash = e.text_hash and u.splitter_version = ?
    where e.enrichment_version = ? and u.unit_id is null
    order by e.feedback_id
"""
"""Current enriched messages whose units are missing or were cut from another text / by another splitter."""

MISSING_VECTORS_SQL = """
    select u.unit_id
    from enrichment.feedback_units as u
    join enrichment.feedback_enrichment as e
        on e.feedback_id = u.feedback_id and e.enrichment_version = ? and e.text_hash = u.source_text_hash
    left join enrichment.embeddings as v
        on v.unit_id = u.unit_id and v.embedding_version = ? and v.text_hash = u.text_hash
    where v.unit_id is null
    order by u.unit_id
"""
"""Ids of the units of current messages without a vector at the embedding version (ids only: ``embed_missing``
reads their texts a batch at a time)."""

UNITS_BY_ID_SQL = """
    select unit_id, feedback_id, text_hash, text
    from enrichment.feedback_units
    where {unit_ids}
    order by unit_id
"""

DOCUMENT_FIELDS = (
    "s.feedback_id",
    "u.text",
    "s.created_at",
    "s.channel",
    "s.product_area",
    "s.locale",
    "e.language",
    "e.category",
    "e.sentiment_label",
    "e.urgency",
    "e.sentiment_score",
    "e.confidence",
    "e.enrichment_version",
    "v.embedding_version",
    "u.unit_kind",
    "u.unit_index",
    "u.speaker",
    "u.char_start",
    "u.char_end",
)
"""What an index document holds besides its id and vector; its content hash is made of these, in this order."""

CONTENT_HASH_SQL = "md5(concat_ws(chr(31), {}))".format(
    ", ".join(f"coalesce(cast({field} as string), chr(30))" for field in DOCUMENT_FIELDS)
)
"""A document's content hash, computed by the warehouse (the same text on DuckDB and Databricks SQL): a
changed field changes it, a NULL differs from any text (chr(30)), fields are separated by chr(31). Computing it
in SQL lets a sync compare two short columns instead of building every document in Python (1k records on top of
100k built ~374k documents to find ~4k changed ones)."""

DOCUMENTS_FROM_SQL = """
    from silver.int_feedback_deduplicated as s
    join enrichment.feedback_enrichment as e
        on e.feedback_id = s.feedback_id and e.enrichment_version = ?
    join enrichment.feedback_units as u
        on u.feedback_id = s.feedback_id and u.source_text_hash = e.text_hash
    join enrichment.embeddings as v
        on v.unit_id = u.unit_id and v.embedding_version = ? and v.text_hash = u.text_hash
"""
"""The documents the index should hold: units of current messages with a vector at the embedding version."""

DOCUMENTS_SQL = (
    f"select u.unit_id, {', '.join(DOCUMENT_FIELDS)}, {CONTENT_HASH_SQL} as content_hash, v.vector"
    f"{DOCUMENTS_FROM_SQL}{{unit_filter}}order by u.unit_id"
)
"""Whole documents, vectors included; ``{unit_filter}`` is empty or a ``where`` on ``u.unit_id`` (inside the
joins: filtering the sorted result instead made DuckDB join and sort every vector first)."""

DOCUMENT_HASHES_SQL = f"select u.unit_id, {CONTENT_HASH_SQL} as content_hash{DOCUMENTS_FROM_SQL}"
"""Every expected document's id and content hash, without the vectors."""


def build_missing_units(warehouse: DuckDBWarehouse, settings: Settings, enrichment_version: str) -> int:
    """Cut the units of every current message that has none for its text and the splitter version.

    A message's old units are deleted first (its text or the splitter changed), so a message never keeps a
    stale claim. Returns the number of messages whose units were (re)built.
    """
    import pandas as pd

    todo = warehouse.query_df(UNITS_TO_BUILD_SQL, [SPLITTER_VERSION, enrichment_version])
    now = datetime.now(UTC).replace(tzinfo=None)
    for start in range(0, len(todo), settings.batch_size):
        batch = todo.iloc[start : start + settings.batch_size]
        rows = []
        for feedback_id, text_hash, text, channel in batch.itertuples(index=False):
            for unit in split_units(feedback_id, text or "", channel):
                rows.append(
                    {
                        "unit_id": unit.unit_id,
                        "feedback_id": feedback_id,
                        "unit_index": unit.unit_index,
                        "unit_kind": unit.unit_kind,
                        "speaker": unit.speaker,
                        "text": unit.text,
                        "text_hash": unit.text_hash,
                        "char_start": unit.char_start,
                        "char_end": unit.char_end,
                        "source_text_hash": text_hash,
                        "splitter_version": SPLITTER_VERSION,
                        "created_at": now,
                    }
                )
        with warehouse.transaction():
            warehouse.execute(
                f"delete from enrichment.feedback_units where {in_list(warehouse, 'feedback_id')}",
                [batch["feedback_id"].tolist()],
            )
            warehouse.append("enrichment.feedback_units", pd.DataFrame(rows))
    return len(todo)


WRITE_BATCH_ROWS = 4096
"""Units embedded and written per ``enrichment.embeddings`` upsert, and documents per index upsert (at least
``settings.batch_size``). DuckDB's keyed upsert of vector rows costs ~0.1 s per statement whatever its size up
to a few thousand rows (~3,000 rows/s in batches of 512, ~6,400 in batches of 4,096 on 2 cores): bigger
writes, fewer statements. 4,096 vectors are 6 MB."""


def embed_missing(
    warehouse: DuckDBWarehouse, settings: Settings, embedder: Any, enrichment_version: str
) -> int:
    """Embed the redacted units of current messages that have no vector at the embedder's version.

    Streamed: only the ids of the missing units are listed up front; their texts are read, embedded and
    written a batch at a time, so memory follows the batch, not the backlog (a first run of 100k records
    embeds ~374k units). Batches are the same ``step`` units in id order as when the whole backlog was read at
    once, so the vectors are too.
    """
    todo = warehouse.query_df(MISSING_VECTORS_SQL, [enrichment_version, embedder.version])["unit_id"].tolist()
    step = max(settings.batch_size, WRITE_BATCH_ROWS)
    units_by_id = UNITS_BY_ID_SQL.format(unit_ids=in_list(warehouse, "unit_id"))
    for start in range(0, len(todo), step):
        batch = warehouse.query_df(units_by_id, [todo[start : start + step]])
        vectors = embedder.embed(batch["text"].tolist())
        rows = embedding_rows(
            batch["unit_id"].tolist(),
            batch["feedback_id"].tolist(),
            batch["text_hash"].tolist(),
            embedder,
            vectors,
            datetime.now(UTC).replace(tzinfo=None),
        )
        warehouse.upsert("enrichment.embeddings", rows, keys=["unit_id", "embedding_version"])
    return len(todo)


def _vector_rows(column: Any) -> Any:
    """The vectors of an Arrow list column as one float32 array (a row per document), without a Python float
    per element: ``to_pylist`` of 4,096 vectors took longer than their database write."""
    import numpy as np

    vectors = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if not len(vectors):
        return np.zeros((0, 0), dtype=np.float32)
    lengths = np.asarray(vectors.value_lengths().to_numpy(zero_copy_only=False))
    if vectors.null_count or lengths.min() != lengths.max():
        raise ValueError("stored vectors of one embedding version must all be present and of one length")
    return np.asarray(vectors.flatten().to_numpy(), dtype=np.float32).reshape(len(vectors), -1)


def _document(row: dict[str, Any], vector: Any) -> IndexDocument:
    """An index document from a ``DOCUMENTS_SQL`` row (its vector passed apart, as a float32 row)."""
    metadata = {
        k: row[k] for k in row if k not in {"unit_id", "feedback_id", "text", "vector", "content_hash"}
    }
    metadata["created_at"] = None if row["created_at"] is None else row["created_at"].isoformat()
    return IndexDocument(
        unit_id=row["unit_id"],
        feedback_id=row["feedback_id"],
        text=row["text"],
        vector=vector,
        content_hash=row["content_hash"],
        metadata=metadata,
    )


CHANGED_IDS_PER_QUERY = 20_000
"""Changed documents read per query by id; past ``FULL_READ_SHARE`` of the index, one read of every document."""
FULL_READ_SHARE = 0.25


def _compare_documents(
    warehouse: DuckDBWarehouse, versions: list[str], current: dict[str, str]
) -> tuple[set[str], list[str]]:
    """The ids of every document the index should hold, and of those whose content differs from the index's.

    Two short columns per document (id, content hash computed by the warehouse), no vector: the hash is made of
    the document's fields, not of its vector, which follows the unit's text and the embedding version.
    ``_push_documents`` then reads the changed documents' vectors only.
    """
    expected_ids: set[str] = set()
    changed_ids: list[str] = []
    for table in warehouse.iter_batches(DOCUMENT_HASHES_SQL, 8 * WRITE_BATCH_ROWS, versions):
        for unit_id, content_hash in zip(
            table.column("unit_id").to_pylist(), table.column("content_hash").to_pylist(), strict=True
        ):
            expected_ids.add(unit_id)
            if current.get(unit_id) != content_hash:
                changed_ids.append(unit_id)
    changed_ids.sort()
    return expected_ids, changed_ids


def _push_documents(
    warehouse: DuckDBWarehouse,
    index: Any,
    settings: Settings,
    versions: list[str],
    changed_ids: list[str],
    expected_count: int,
) -> int:
    """Upsert the documents of ``changed_ids`` with their vectors, a batch at a time; return how many.

    A few are read by id; many (a first sync, a new enrichment version) in one pass over every document, as
    reading them by id would scan the vectors once per query.
    """
    if not changed_ids:
        return 0
    batch_rows = max(settings.batch_size, WRITE_BATCH_ROWS)
    if len(changed_ids) > FULL_READ_SHARE * expected_count:
        wanted = set(changed_ids)
        queries = [(DOCUMENTS_SQL.format(unit_filter=""), versions)]
    else:
        wanted = None
        # the ids filter the units inside the joins: filtering the sorted result instead made DuckDB join and
        # sort every vector first (1k records on top of 100k ran out of a 640 MiB memory limit doing that)
        by_id = DOCUMENTS_SQL.format(unit_filter=f"where {in_list(warehouse, 'u.unit_id')}\n")
        queries = [
            (by_id, [*versions, changed_ids[start : start + CHANGED_IDS_PER_QUERY]])
            for start in range(0, len(changed_ids), CHANGED_IDS_PER_QUERY)
        ]
    upserted = 0
    for sql, params in queries:
        for table in warehouse.iter_batches(sql, batch_rows, params):
            vectors = _vector_rows(table.column("vector"))
            rows = table.drop_columns(["vector"]).to_pylist()
            documents = [_document(row, vector) for row, vector in zip(rows, vectors, strict=True)]
            upserted += index.upsert([d for d in documents if wanted is None or d.unit_id in wanted])
    return upserted


def sync_index(
    warehouse: DuckDBWarehouse, index: Any, settings: Settings, embedder: Any, enrichment_version: str
) -> IndexSyncStats:
    """Embed what is missing, push changed documents, delete removed ones, and check the counts agree.

    Raises:
        IndexOutOfSync: after the sync, the index count differs from the number of documents expected.
    """
    units_built = build_missing_units(warehouse, settings, enrichment_version)
    embedded = embed_missing(warehouse, settings, embedder, enrichment_version)
    current = index.content_hashes()
    versions = [enrichment_version, embedder.version]
    expected_ids, changed_ids = _compare_documents(warehouse, versions, current)
    upserted = _push_documents(warehouse, index, settings, versions, changed_ids, len(expected_ids))
    removed = sorted(set(current) - expected_ids)
    index.delete(removed)
    index.refresh()
    stats = IndexSyncStats(
        embedding_version=embedder.version,
        messages_split=units_built,
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
