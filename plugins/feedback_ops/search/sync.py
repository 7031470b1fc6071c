"""Keep the search index in step with the warehouse: embed what is new, push what changed, delete what left.

One document per analysis unit (``feedback_ops.search.units``: the whole redacted message ``<feedback_id>:0``
and, for messages saying several things, one per sentence or speaker turn ``<feedback_id>:<n>``). Units are
cut once per (message text, splitter version); only units whose vector at the current embedding version is
missing are embedded; only documents whose content hash differs from the index's are pushed; documents of
removed records are deleted. Afterwards the index count must equal the table's (``IndexOutOfSync``).

One record never stops the sync: a message the splitter raises on (stage ``units``), a unit the embedder
raises on (``embed``) and a document the index refuses for good (``index``: a record error building it, or a
non-retryable per-document status from Azure AI Search) are isolated (``enrich.failures.isolate_failures``),
written to ``enrichment.record_failures`` with the feedback id, reason and error, left out of what the index
is expected to hold, and not tried again at the same versions and text; ``IndexSyncStats.failed`` counts them
by stage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.embed.base import Embedder
from feedback_ops.embed.rows import embedding_rows
from feedback_ops.enrich.failures import (
    RecordFailure,
    clear_failures,
    failed_items,
    failure_of,
    isolate_failures,
    write_failures,
)
from feedback_ops.search.base import IndexDocument, SearchIndex
from feedback_ops.search.units import split_units, splitter_version
from feedback_ops.warehouse.base import Warehouse
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
    failed: dict[str, int] = field(default_factory=dict)
    """Items set aside in ``enrichment.record_failures`` by this sync, per stage (``units``, ``embed``,
    ``index``); only stages that set something aside are listed."""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


UNITS_TO_BUILD_SQL = """
    select e.feedback_id, e.text_hash, e.redacted_text, s.channel
    from enrichment.feedback_enrichment as e
    join silver.int_feedback_deduplicated as s on s.feedback_id = e.feedback_id
    left join enrichment.feedback_units as u
        on u.feedback_id = e.feedback_id and u.unit_index = 0
        and u.source_text_hash = e.text_hash and u.splitter_version = ?
    left join enrichment.record_failures as f
        on f.stage = 'units' and f.item_id = e.feedback_id and f.stage_version = ? and f.text_hash = e.text_hash
    where e.enrichment_version = ? and u.unit_id is null and f.item_id is null
    order by e.feedback_id
"""
"""Current enriched messages whose units are missing or were cut from another text / by another splitter, and
that the splitter did not fail on (parameters: splitter version, units stage version, enrichment version)."""

MISSING_VECTORS_SQL = """
    select u.unit_id
    from enrichment.feedback_units as u
    join enrichment.feedback_enrichment as e
        on e.feedback_id = u.feedback_id and e.enrichment_version = ? and e.text_hash = u.source_text_hash
    left join enrichment.embeddings as v
        on v.unit_id = u.unit_id and v.embedding_version = ? and v.text_hash = u.text_hash
    left join enrichment.record_failures as f
        on f.stage = 'embed' and f.item_id = u.unit_id and f.stage_version = ? and f.text_hash = u.text_hash
    where v.unit_id is null and f.item_id is null
    order by u.unit_id
"""
"""Ids of the units of current messages without a vector at the embedding version, the embedder's failures
left out (ids only: ``embed_missing`` reads their texts a batch at a time; parameters: enrichment version,
embedding version, embedding version)."""

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


def build_missing_units(
    warehouse: Warehouse,
    settings: Settings,
    enrichment_version: str,
    failures: list[RecordFailure] | None = None,
) -> int:
    """Cut the units of every current message that has none for its text and the splitter version.

    A message's old units are deleted first (its text or the splitter changed), so a message never keeps a
    stale claim. A message the splitter raises a record error on is set aside (stage ``units``, appended to
    ``failures`` when given). Returns the number of messages whose units were (re)built.
    """
    import pandas as pd

    version = splitter_version(settings.max_units_per_message, settings.max_text_chars)
    stage_version = f"{version}@{enrichment_version}"
    todo = warehouse.query_df(UNITS_TO_BUILD_SQL, [version, stage_version, enrichment_version])
    now = datetime.now(UTC).replace(tzinfo=None)
    built = 0
    for start in range(0, len(todo), settings.batch_size):
        messages = list(todo.iloc[start : start + settings.batch_size].itertuples(index=False))
        done, failed = isolate_failures(messages, lambda part: _unit_rows(part, settings, version, now))
        failed_here = [
            failure_of("units", stage_version, error, feedback_id=m[0], text_hash=m[1]) for m, error in failed
        ]
        rows = [row for _, part_rows in done for row in part_rows]
        built_ids = [m[0] for part, _ in done for m in part]
        with warehouse.transaction():
            warehouse.execute(
                f"delete from enrichment.feedback_units where {in_list(warehouse, 'feedback_id')}",
                [[m[0] for m in messages]],
            )
            if rows:
                warehouse.append("enrichment.feedback_units", pd.DataFrame(rows))
            write_failures(warehouse, failed_here, now)
            clear_failures(warehouse, "units", stage_version, built_ids)
        built += len(built_ids)
        if failures is not None:
            failures += failed_here
    return built


def _unit_rows(messages: list[Any], settings: Settings, version: str, now: datetime) -> list[dict[str, Any]]:
    """The ``enrichment.feedback_units`` rows of ``(feedback_id, text_hash, redacted_text, channel)`` tuples."""
    rows = []
    for feedback_id, text_hash, text, channel in messages:
        units = split_units(
            feedback_id,
            text or "",
            channel,
            max_units=settings.max_units_per_message,
            max_chars=settings.max_text_chars,
        )
        rows += [
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
                "splitter_version": version,
                "created_at": now,
            }
            for unit in units
        ]
    return rows


WRITE_BATCH_ROWS = 4096
"""Units embedded and written per ``enrichment.embeddings`` upsert, and documents per index upsert (at least
``settings.batch_size``). DuckDB's keyed upsert of vector rows costs ~0.1 s per statement whatever its size up
to a few thousand rows (~3,000 rows/s in batches of 512, ~6,400 in batches of 4,096 on 2 cores): bigger
writes, fewer statements. 4,096 vectors are 6 MB."""


def _embed_positions(embedder: Embedder, texts: list[str], positions: list[int]) -> Any:
    """The vectors of ``texts`` at ``positions`` (a part of a batch, when one record's text is isolated)."""
    return embedder.embed([texts[p] for p in positions])


def embed_missing(
    warehouse: Warehouse,
    settings: Settings,
    embedder: Embedder,
    enrichment_version: str,
    failures: list[RecordFailure] | None = None,
) -> int:
    """Embed the redacted units of current messages that have no vector at the embedder's version.

    Streamed: only the ids of the missing units are listed up front; their texts are read, embedded and
    written a batch at a time, so memory follows the batch, not the backlog (a first run of 100k records
    embeds ~374k units). Batches are the same ``step`` units in id order as when the whole backlog was read at
    once, so the vectors are too. A unit the embedder raises a record error on is set aside (stage ``embed``,
    appended to ``failures`` when given). Returns the number of units embedded.
    """
    todo = warehouse.query_df(MISSING_VECTORS_SQL, [enrichment_version, embedder.version, embedder.version])[
        "unit_id"
    ].tolist()
    step = max(settings.batch_size, WRITE_BATCH_ROWS)
    units_by_id = UNITS_BY_ID_SQL.format(unit_ids=in_list(warehouse, "unit_id"))
    embedded = 0
    for start in range(0, len(todo), step):
        batch = warehouse.query_df(units_by_id, [todo[start : start + step]])
        texts = batch["text"].tolist()
        done, failed = isolate_failures(
            list(range(len(batch))),
            partial(_embed_positions, embedder, texts),
        )
        now = datetime.now(UTC).replace(tzinfo=None)
        failed_here = [
            failure_of(
                "embed",
                embedder.version,
                error,
                feedback_id=batch["feedback_id"].iat[p],
                item_id=batch["unit_id"].iat[p],
                text_hash=batch["text_hash"].iat[p],
            )
            for p, error in failed
        ]
        for positions, vectors in done:
            part = batch.iloc[positions]
            rows = embedding_rows(
                part["unit_id"].tolist(),
                part["feedback_id"].tolist(),
                part["text_hash"].tolist(),
                embedder,
                vectors,
                now,
            )
            warehouse.upsert("enrichment.embeddings", rows, keys=["unit_id", "embedding_version"])
            embedded += len(positions)
        write_failures(warehouse, failed_here, now)
        if failures is not None:
            failures += failed_here
    return embedded


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
    warehouse: Warehouse,
    versions: list[str],
    current: dict[str, str],
    refused: dict[str, str | None] | None = None,
) -> tuple[set[str], list[str]]:
    """The ids of every document the index should hold, and of those whose content differs from the index's.

    A document the index refused in this very content (``refused``: unit id -> content hash) is neither: it
    stays out of the index until its content or a version changes.

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
            if refused and refused.get(unit_id) == content_hash:
                continue
            expected_ids.add(unit_id)
            if current.get(unit_id) != content_hash:
                changed_ids.append(unit_id)
    changed_ids.sort()
    return expected_ids, changed_ids


def _push_documents(
    warehouse: Warehouse,
    index: SearchIndex,
    settings: Settings,
    versions: list[str],
    changed_ids: list[str],
    expected_count: int,
) -> tuple[int, list[RecordFailure]]:
    """Upsert the documents of ``changed_ids`` with their vectors, a batch at a time; return how many, and the
    documents set aside (a record error building one, or refused for good by the index).

    A few are read by id; many (a first sync, a new enrichment version) in one pass over every document, as
    reading them by id would scan the vectors once per query.
    """
    if not changed_ids:
        return 0, []
    batch_rows = max(settings.batch_size, WRITE_BATCH_ROWS)
    if len(changed_ids) > FULL_READ_SHARE * expected_count:
        wanted = set(changed_ids)
        queries: list[tuple[str, list[Any]]] = [(DOCUMENTS_SQL.format(unit_filter=""), list(versions))]
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
    failures: list[RecordFailure] = []
    stage_version = _index_stage_version(versions)
    for sql, params in queries:
        for table in warehouse.iter_batches(sql, batch_rows, params):
            vectors = _vector_rows(table.column("vector"))
            rows = table.drop_columns(["vector"]).to_pylist()
            rows = [
                (r, v) for r, v in zip(rows, vectors, strict=True) if wanted is None or r["unit_id"] in wanted
            ]
            done, failed = isolate_failures(rows, lambda part: _upsert_documents(index, part))
            upserted += sum(count for _, (count, _) in done)
            failures += [
                failure_of(
                    "index",
                    stage_version,
                    error,
                    feedback_id=row["feedback_id"],
                    item_id=row["unit_id"],
                    text_hash=row["content_hash"],
                )
                for (row, _), error in failed
            ]
            failures += [
                failure_of(
                    "index",
                    stage_version,
                    _Refused(refused[row["unit_id"]]),
                    feedback_id=row["feedback_id"],
                    item_id=row["unit_id"],
                    text_hash=row["content_hash"],
                )
                for part, (_, refused) in done
                for row, _ in part
                if row["unit_id"] in refused
            ]
    return upserted, failures


class _Refused(Exception):
    """The index refused one document for good (a non-retryable per-document status)."""


def _index_stage_version(versions: list[str]) -> str:
    """The ``stage_version`` of the index stage's failures: embedding version @ enrichment version."""
    return f"{versions[1]}@{versions[0]}"


def _upsert_documents(
    index: SearchIndex, rows: list[tuple[dict[str, Any], Any]]
) -> tuple[int, dict[str, str]]:
    """Upsert the documents of ``(row, vector)`` pairs; return how many were written and the documents the
    index refused for good (unit id -> reason).

    Raises:
        RuntimeError: the index failed documents with a status a later run may get past (throttling, a busy
            replica): the task fails and the next run retries them.
    """
    documents = [_document(row, vector) for row, vector in rows]
    try:
        return index.upsert(documents), {}
    except RuntimeError as error:
        refused = getattr(error, "failures", None)
        if not isinstance(refused, dict) or not refused or any(map(_retryable, refused.values())):
            raise
        return len(documents) - len(refused), dict(refused)


def _retryable(reason: str) -> bool:
    """Whether a per-document failure (``<status>: <message>``) is one a later run may get past."""
    from feedback_ops.search.azure_search import RETRYABLE_DOCUMENT_STATUS

    status = reason.split(":", 1)[0].strip()
    return not status.isdigit() or int(status) in RETRYABLE_DOCUMENT_STATUS


def sync_index(
    warehouse: Warehouse, index: SearchIndex, settings: Settings, embedder: Embedder, enrichment_version: str
) -> IndexSyncStats:
    """Embed what is missing, push changed documents, delete removed ones, and check the counts agree.

    Raises:
        IndexOutOfSync: after the sync, the index count differs from the number of documents expected.
    """
    failures: list[RecordFailure] = []
    units_built = build_missing_units(warehouse, settings, enrichment_version, failures)
    embedded = embed_missing(warehouse, settings, embedder, enrichment_version, failures)
    current = index.content_hashes()
    versions = [enrichment_version, embedder.version]
    stage_version = _index_stage_version(versions)
    refused = failed_items(warehouse, "index", stage_version)
    expected_ids, changed_ids = _compare_documents(warehouse, versions, current, refused)
    upserted, index_failures = _push_documents(
        warehouse, index, settings, versions, changed_ids, len(expected_ids)
    )
    write_failures(warehouse, index_failures)
    refused_now = {f.item_id for f in index_failures}
    clear_failures(warehouse, "index", stage_version, [i for i in changed_ids if i not in refused_now])
    expected_ids -= refused_now
    removed = sorted(set(current) - expected_ids)
    index.delete(removed)
    index.refresh()
    failures += index_failures
    stats = IndexSyncStats(
        embedding_version=embedder.version,
        messages_split=units_built,
        embedded=embedded,
        upserted=upserted,
        deleted=len(removed),
        index_count=index.count(),
        expected_count=len(expected_ids),
        failed=dict(Counter(f.stage for f in failures)),
    )
    if stats.index_count != stats.expected_count:
        raise IndexOutOfSync(
            f"index holds {stats.index_count} documents, the warehouse expects {stats.expected_count}"
        )
    return stats
