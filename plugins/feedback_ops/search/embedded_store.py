"""The embedded index's document store: the DuckDB file's tables, its counters and its bulk writes.

``documents`` holds every unit (text, content hash, filterable metadata, ``vector_key``, vector);
``index_state`` the counters every derived structure checks itself against (``generation``, bumped by every
committed write; ``next_key``, the next vector key; ``bm25_generation``; ``epoch``, random per file;
``ivf_log_start``); ``ivf_removed`` the vector keys each write removed or replaced, written in the write's own
transaction so that an IVF sidecar of an earlier generation can catch up (``embedded_ivf``). The BM25 postings
(``embedded_bm25``) and the IVF sidecar are derived from these tables; ``EmbeddedIndex``
(``feedback_ops.search.embedded``) composes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from feedback_ops.search.base import IndexDocument, SearchHit

FILTERABLE = (
    "channel",
    "product_area",
    "category",
    "sentiment_label",
    "urgency",
    "locale",
    "language",
    "feedback_id",
    "unit_kind",
)
"""Metadata a query may filter on by equality (``feedback_id`` is the parent id of every unit); time ranges
use ``created_after`` / ``created_before``."""
COLUMNS = (
    "unit_id",
    "feedback_id",
    "text",
    "content_hash",
    "created_at",
    *(name for name in FILTERABLE if name != "feedback_id"),
    "metadata",
    "vector_key",
    "vector",
)
"""The ``documents`` table's columns, in order (a file with other columns is of another layout)."""

KeyMask = tuple[np.ndarray, int]
"""``(mask over vector keys, number of keys set)``: the units a filter allows, as the rankings apply it."""


def load_fts(connection: Any) -> None:
    """Install DuckDB's full-text-search extension from the ``duckdb-extension-fts`` wheel (offline)."""
    import duckdb_extension_fts

    extension = next(Path(duckdb_extension_fts.__file__).parent.rglob("fts.duckdb_extension"))
    connection.execute(f"install '{extension}'")
    connection.execute("load fts")


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Write:
    """A committed write to ``documents``: the generation before it, the vector keys it removed or replaced,
    and the keys and (unnormalized) vectors it added (None for a delete)."""

    before: int
    removed: np.ndarray
    keys: np.ndarray | None
    vectors: np.ndarray | None


class DocumentStore:
    """The DuckDB file of an embedded index: opens (or creates) its tables and writes documents in bulk.

    Args:
        path: the DuckDB file.
        dimensions: length of every vector.
        memory_limit / threads: DuckDB's buffer pool limit and worker threads for the file (None / 0: DuckDB's
            defaults).
    """

    def __init__(self, path: Path, dimensions: int, *, memory_limit: str | None, threads: int) -> None:
        import duckdb

        from feedback_ops.warehouse.duckdb_warehouse import limit_duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dimensions = dimensions
        self.connection = duckdb.connect(str(path))
        limit_duckdb(self.connection, memory_limit, threads)
        load_fts(self.connection)
        self._create_tables()
        self.epoch = self.state("epoch")

    def _create_tables(self) -> None:
        filter_columns = ", ".join(f"{name} varchar" for name in FILTERABLE if name != "feedback_id")
        self._drop_if_other_layout()
        self.connection.execute(
            f"""
            create table if not exists documents (
                unit_id varchar primary key,
                feedback_id varchar not null,
                text varchar not null,
                content_hash varchar not null,
                created_at timestamp,
                {filter_columns},
                metadata varchar,
                vector_key bigint not null,
                vector float[{self.dimensions}]
            )
            """
        )
        if not self.has_fts() and not self.count():
            # fts's tokenizer macro and stopword list, which the BM25 postings use; built while the table is
            # empty it costs nothing (``Bm25Postings.update``: the fts index itself is never used nor rebuilt)
            self.connection.execute("pragma create_fts_index('documents', 'unit_id', 'text', overwrite=1)")
        # Hits are looked up by the keys the rankings produce: a point lookup, not a scan of the table.
        self.connection.execute("create index if not exists documents_vector_key on documents (vector_key)")
        self.connection.execute(
            "create table if not exists index_state (name varchar primary key, value bigint not null)"
        )
        self.connection.execute(
            "insert or ignore into index_state values ('generation', 0), ('next_key', 0), "
            "('bm25_generation', -1), ('epoch', ?)",
            [int.from_bytes(os.urandom(7), "big")],
        )
        # vector keys removed or replaced by each write, for an IVF of an earlier generation to catch up;
        # complete for every generation after 'ivf_log_start' (a file from before the log starts it now)
        self.connection.execute(
            "create table if not exists ivf_removed (generation bigint not null, vector_key bigint not null)"
        )
        self.connection.execute(
            "insert or ignore into index_state select 'ivf_log_start', value from index_state "
            "where name = 'generation'"
        )

    def _drop_if_other_layout(self) -> None:
        """An index file written by an older layout (other columns or dimensions) is dropped, not migrated:
        the index holds nothing the warehouse does not, and the next sync refills it."""
        columns = self.connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'documents' "
            "order by ordinal_position"
        ).fetchall()
        if columns and (
            [c for c, _ in columns] != list(COLUMNS) or columns[-1][1] != f"FLOAT[{self.dimensions}]"
        ):
            self.connection.execute("drop table documents")
            self.connection.execute("drop table if exists index_state")
            self.connection.execute("drop table if exists bm25_postings")
            self.connection.execute("drop table if exists ivf_removed")

    # -- state -----------------------------------------------------------------------------------------------

    def one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        """The first row of a query that always returns one (a count, a state value, an aggregate)."""
        row = self.connection.execute(sql, params).fetchone()
        if row is None:
            raise LookupError(f"the embedded index returned no row for: {sql}")
        return tuple(row)

    def state(self, name: str) -> int:
        """One counter of ``index_state``."""
        return int(self.one("select value from index_state where name = ?", [name])[0])

    @property
    def generation(self) -> int:
        """Bumped by every committed write; derived structures record the generation they reflect."""
        return self.state("generation")

    def states(self) -> dict[str, int]:
        """Every counter of ``index_state`` in one round trip (a query reads them once)."""
        return dict(self.connection.execute("select name, value from index_state").fetchall())

    def has_fts(self) -> bool:
        """Whether the file holds fts's schema (its tokenizer macro and stopword list)."""
        found = self.one(
            "select count(*) from information_schema.schemata where schema_name = 'fts_main_documents'"
        )[0]
        return bool(found)

    # -- writes ----------------------------------------------------------------------------------------------

    def _arrow_batch(self, documents: Sequence[IndexDocument], first_key: int) -> tuple[Any, np.ndarray]:
        import pyarrow as pa

        vectors = np.asarray([np.asarray(d.vector, dtype=np.float32) for d in documents], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimensions:
            raise ValueError(
                f"every vector must have {self.dimensions} dimensions; got shape {vectors.shape} "
                f"(first unit {documents[0].unit_id!r})"
            )
        columns = {
            "unit_id": [d.unit_id for d in documents],
            "feedback_id": [d.feedback_id for d in documents],
            "text": [d.text for d in documents],
            "content_hash": [d.content_hash for d in documents],
            "created_at": [_text_or_none(d.metadata.get("created_at")) for d in documents],
        }
        for name in FILTERABLE:
            if name != "feedback_id":
                columns[name] = [_text_or_none(d.metadata.get(name)) for d in documents]
        columns["metadata"] = [json.dumps(d.metadata, default=str, sort_keys=True) for d in documents]
        arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
        arrays["vector_key"] = pa.array(np.arange(first_key, first_key + len(documents), dtype=np.int64))
        arrays["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), self.dimensions)
        return pa.table(arrays), vectors

    def upsert(self, documents: Sequence[IndexDocument]) -> Write:
        """Insert or replace ``documents`` (distinct, at least one) by ``unit_id`` as one Arrow table in one
        transaction, with new vector keys from ``next_key`` on; the replaced keys go to ``ivf_removed``."""
        generation = self.generation
        self.connection.execute("begin transaction")
        try:
            replaced = self.connection.execute(
                "select vector_key from documents where unit_id in (select unnest(?))",
                [[d.unit_id for d in documents]],
            ).fetchnumpy()["vector_key"]
            first_key = self.state("next_key")
            batch, vectors = self._arrow_batch(documents, first_key)
            self.connection.register("_incoming_documents", batch)
            casts = {"created_at": "created_at::timestamp", "vector": f"vector::float[{self.dimensions}]"}
            selected = ", ".join(casts.get(column, column) for column in COLUMNS)
            self.connection.execute(
                f"insert or replace into documents ({', '.join(COLUMNS)}) "
                f"select {selected} from _incoming_documents"
            )
            self._log_removed(generation + 1, replaced)
            self.connection.execute(
                "update index_state set value = case name when 'generation' then value + 1 else ? end "
                "where name in ('generation', 'next_key')",
                [first_key + len(documents)],
            )
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
        finally:
            self.connection.unregister("_incoming_documents")
        keys = np.arange(first_key, first_key + len(documents), dtype=np.int64)
        return Write(generation, np.asarray(replaced, dtype=np.int64), keys, vectors)

    def delete(self, unit_ids: Sequence[str]) -> Write:
        """Delete the documents of ``unit_ids`` (at least one) in one transaction, logging their vector keys."""
        generation = self.generation
        self.connection.execute("begin transaction")
        try:
            removed = self.connection.execute(
                "delete from documents where unit_id in (select unnest(?)) returning vector_key",
                [list(unit_ids)],
            ).fetchnumpy()["vector_key"]
            self._log_removed(generation + 1, removed)
            self.connection.execute("update index_state set value = value + 1 where name = 'generation'")
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
        return Write(generation, np.asarray(removed, dtype=np.int64), None, None)

    def _log_removed(self, generation: int, keys: Any) -> None:
        """Record, inside the write's transaction, the vector keys it removed or replaced."""
        if len(keys):
            self.connection.execute(
                "insert into ivf_removed select ?, unnest(?::bigint[])",
                [generation, np.asarray(keys, dtype=np.int64).tolist()],
            )

    # -- reads -----------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Documents in the store."""
        return int(self.one("select count(*) from documents")[0])

    def content_hashes(self) -> dict[str, str]:
        """``{unit_id: content_hash}`` of every document."""
        return dict(self.connection.execute("select unit_id, content_hash from documents").fetchall())

    def newest_created_at(self) -> Any:
        """The ``created_at`` of the newest document (None when empty)."""
        return self.one("select max(created_at) from documents")[0]

    def facet_values(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Distinct values of filterable fields, most frequent first (what a question can filter on)."""
        found = {}
        for name in names:
            if name not in FILTERABLE:
                raise ValueError(f"{name!r} is not filterable")
            rows = self.connection.execute(
                f"select {name} from documents where {name} is not null group by 1 order by count(*) desc, 1"
            ).fetchall()
            found[name] = [row[0] for row in rows]
        return found

    def nearest(self, query: np.ndarray, where: str, params: list[Any], depth: int) -> list[int]:
        """Keys of the ``depth`` vectors nearest ``query`` among those ``where`` selects, by an exact scan in
        DuckDB (a small index: it reads every array it scans)."""
        rows = self.connection.execute(
            f"""
            select vector_key from documents where {where}
            order by array_cosine_similarity(vector, ?::float[{self.dimensions}]) desc, vector_key
            limit {depth}
            """,
            [*params, query.tolist()],
        ).fetchall()
        return [row[0] for row in rows]

    def hits(self, fused: list[tuple[float, int]], ranks: dict[int, dict[str, int]]) -> list[SearchHit]:
        """The documents of the ``(score, key)`` pairs, in order, with the ranks each key had."""
        if not fused:
            return []
        keys = [int(key) for _, key in fused]
        # A list of constants, not a subquery: DuckDB then looks each key up in the vector_key index.
        rows = self.connection.execute(
            "select vector_key, unit_id, feedback_id, text, metadata from documents "
            f"where vector_key in ({', '.join('?' * len(keys))})",
            keys,
        ).fetchall()
        by_key = {row[0]: row for row in rows}
        return [
            SearchHit(
                unit_id=by_key[key][1],
                feedback_id=by_key[key][2],
                text=by_key[key][3],
                score=score,
                bm25_rank=ranks[key].get("bm25"),
                vector_rank=ranks[key].get("vector"),
                metadata=json.loads(by_key[key][4] or "{}"),
            )
            for score, key in fused
            if key in by_key
        ]
