"""The embedded local index: a DuckDB file under ``.local/index/`` with BM25 (fts) and cosine search.

Hybrid queries fuse the BM25 ranking and the vector ranking with reciprocal-rank fusion. The DuckDB file is
the index's only source of truth; the whole index can be rebuilt from the warehouse at any time (it holds
nothing the warehouse does not).

Made to answer a filtered hybrid top-10 in under 100 ms at 1M units on 2 cores, measured by
``bench/bench_search_index.py`` (p95 17 ms at 100k, 99 ms at 1M, recall@10 0.99 against exact search;
indexing 2,400-4,600 units/s; figures and conditions in its docstring):

- **Writes are bulk.** ``upsert`` sends a batch as one Arrow table in one transaction (one statement per
  row would index ~60 documents/s). Every write bumps a ``generation`` counter in the ``index_state`` table in the same
  transaction; everything derived from the documents records the generation it was built at, so a derived
  structure that missed a write (a crash, another process) is noticed and rebuilt, never trusted.
- **BM25 from postings kept incrementally.** DuckDB's fts ``match_bm25`` macro scans every term occurrence of
  the corpus per query (0.4 s at 100k), and its index can only be rebuilt over every document (what every
  sync did, so a few new records paid for re-tokenizing the whole history). ``refresh`` tokenizes only the
  documents written since the last refresh and drops the postings of removed or replaced ones
  (``bm25_terms``: term frequency per (term, unit); ``bm25_docs``: length per unit; ``bm25_dict``), with
  fts's own tokenizer macro and stopword list (built once, while the table is empty); a query loads the
  postings once per generation, sorted by term, and computes its terms' BM25 weights from the current
  document count, mean length and document frequencies with numpy (k1 = 1.2, b = 0.75, base-10 idf: the
  scores equal those of the macro over an fts index built afresh, which a test checks after inserts,
  replacements and deletes).
- **Vectors: a faiss IVF beside the DuckDB file.** An index of more than ``small_index_rows`` units keeps an
  IVF (inverted lists of fp16 vectors, ~sqrt(N) lists trained by k-means on a sample) in a sidecar file; the
  filter goes into the search as a bitmap of allowed keys, so it is applied while scanning (no over-fetch that
  can come back short). When the filter leaves at most ``exact_scan_rows`` candidates every list is probed (an
  exact ranking); otherwise ``IVF_PROBE_FRACTION`` of the lists, more for a narrower filter, and four times
  more while fewer than the wanted candidates were found. A small index ranks in DuckDB with an exact scan, as
  before (DuckDB reads every array it scans: 0.7 s for 15k of 100k units). DuckDB's own HNSW (``vss``) is not
  used: it applies WHERE after the index returns its top k (filtered queries come back short) and its
  persistence is experimental, without WAL recovery; an HNSW build (usearch) ran at ~1,000 vectors/s on this
  machine, where the IVF adds 100k in a second.
- **Filters from memory.** The filterable columns (all but ``feedback_id``) are held as integer codes indexed
  by key, loaded once per generation, so a filter becomes a numpy mask (~10 ms at 1M, where fetching the
  matching keys from DuckDB took ~50-100 ms); a ``feedback_id`` filter (one message's units) is asked of
  DuckDB. Hits are read back by key through an index on ``vector_key``.
- **The sidecar is disposable, and writes do not rewrite it.** ``<file>.ivf`` is written to a temporary name
  and renamed, then ``<file>.ivf.json`` records the generation, count and next key it holds. A write does not
  touch it: it records the vector keys it removed or replaced in ``ivf_removed`` (same transaction), and its
  new vectors have keys from ``next_key`` on. Whoever needs the IVF loads the sidecar and catches up: removes
  the keys logged after the sidecar's generation, adds the documents keyed from its next key (rewriting the
  ~290 MB sidecar of 374k units on every sync made a 1k-record sync pay for the whole index, twice: read and
  write). The sidecar is rewritten when what it misses passes ``IVF_COMPACT_SHARE`` of the index (then the log
  is trimmed), or grew past twice what its lists were trained on (retrained). A sidecar that is missing,
  corrupt, of another file or older than the log is rebuilt from the ``documents`` table; so is one whose
  caught-up count differs from the table's. A crash at any point leaves the previous DuckDB state and, at
  worst, a sidecar to rebuild.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
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
RRF_K = 60
BM25_K1 = 1.2
BM25_B = 0.75
"""The fts extension's defaults (``match_bm25(..., k := 1.2, b := 0.75)``): precomputed weights agree."""
SMALL_INDEX_ROWS = 2_000
"""An index of at most this many units ranks vectors by an exact scan in DuckDB and keeps no IVF sidecar."""
EXACT_SCAN_ROWS = 20_000
"""Up to this many candidate units (after the filter) the IVF probes every list: an exact ranking."""
IVF_PROBE_FRACTION = 0.12
"""Share of the inverted lists a query probes (at least ``IVF_MIN_PROBES``): recall@10 >= 0.95 at 1M."""
IVF_MIN_PROBES = 16
IVF_TRAIN_SAMPLE = 50_000
IVF_COMPACT_SHARE = 0.1
"""The sidecar is rewritten once the documents it misses (added, or removed / replaced since it was saved) pass
this share of the index: until then loading it catches up from the table (0.1 of 374k units: ~37k vectors,
~60 MB read), and a sync never pays for the whole sidecar before that."""
_COLUMNS = (
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


class EmbeddedIndex:
    """A search index in one DuckDB file (plus a disposable IVF sidecar for large ones).

    Args:
        path: the DuckDB file.
        dimensions: length of every vector.
        small_index_rows: index size up to which vectors are ranked in DuckDB without a sidecar
            (``SMALL_INDEX_ROWS``; tests lower it to exercise the IVF on a few documents).
        exact_scan_rows: candidate count (after the filter) up to which the IVF probes every list.
        memory_limit / threads: DuckDB's buffer pool limit and worker threads for the file
            (``Settings.duckdb_memory_limit`` / ``duckdb_threads``; None / 0: DuckDB's defaults, 80 % of RAM and
            one thread per core). Unlimited, DuckDB keeps the whole file and every temporary table cached.
    """

    def __init__(
        self,
        path: Path,
        dimensions: int,
        *,
        small_index_rows: int = SMALL_INDEX_ROWS,
        exact_scan_rows: int = EXACT_SCAN_ROWS,
        memory_limit: str | None = None,
        threads: int = 0,
    ) -> None:
        import duckdb

        from feedback_ops.warehouse.duckdb_warehouse import limit_duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dimensions = dimensions
        self.small_index_rows = small_index_rows
        self.exact_scan_rows = exact_scan_rows
        self.sidecar_path = path.with_name(path.name + ".ivf")
        self.connection = duckdb.connect(str(path))
        limit_duckdb(self.connection, memory_limit, threads)
        load_fts(self.connection)
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
                vector float[{dimensions}]
            )
            """
        )
        if not self._has_fts() and not self.count():
            # fts's tokenizer macro and stopword list, which the BM25 postings use; built while the table is
            # empty it costs nothing (``_update_bm25``: the fts index itself is never used nor rebuilt)
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
        self._epoch = self._state("epoch")
        self._ivf: Any = None
        self._ivf_generation = -1
        self._ivf_next_key = 0
        self._ivf_trained_on = 0
        self._ivf_dirty = False
        self._postings: tuple[Any, ...] | None = None
        self._columns: dict[str, Any] | None = None
        self._columns_generation = -1
        self._postings_generation = -1

    # -- state -----------------------------------------------------------------------------------------------

    def _one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        """The first row of a query that always returns one (a count, a state value, an aggregate)."""
        row = self.connection.execute(sql, params).fetchone()
        if row is None:
            raise LookupError(f"the embedded index returned no row for: {sql}")
        return tuple(row)

    def _state(self, name: str) -> int:
        return int(self._one("select value from index_state where name = ?", [name])[0])

    @property
    def generation(self) -> int:
        """Bumped by every committed write; derived structures record the generation they reflect."""
        return self._state("generation")

    def _states(self) -> dict[str, int]:
        """Every counter of ``index_state`` in one round trip (a query reads them once)."""
        return dict(self.connection.execute("select name, value from index_state").fetchall())

    def _drop_if_other_layout(self) -> None:
        """An index file written by an older layout (other columns or dimensions) is dropped, not migrated:
        the index holds nothing the warehouse does not, and the next sync refills it."""
        columns = self.connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'documents' "
            "order by ordinal_position"
        ).fetchall()
        if columns and (
            [c for c, _ in columns] != list(_COLUMNS) or columns[-1][1] != f"FLOAT[{self.dimensions}]"
        ):
            self.connection.execute("drop table documents")
            self.connection.execute("drop table if exists index_state")
            self.connection.execute("drop table if exists bm25_postings")
            self.connection.execute("drop table if exists ivf_removed")

    # -- writes ----------------------------------------------------------------------------------------------

    def _arrow_batch(self, documents: Sequence[IndexDocument], first_key: int) -> Any:
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

    def upsert(self, documents: Sequence[IndexDocument]) -> int:
        """Merge-or-upload: documents are inserted or replaced by ``unit_id`` (of a repeated id, the last)."""
        if not documents:
            return 0
        documents = list({d.unit_id: d for d in documents}.values())
        generation = self.generation
        self.connection.execute("begin transaction")
        try:
            replaced = self.connection.execute(
                "select vector_key from documents where unit_id in (select unnest(?))",
                [[d.unit_id for d in documents]],
            ).fetchnumpy()["vector_key"]
            first_key = self._state("next_key")
            batch, vectors = self._arrow_batch(documents, first_key)
            self.connection.register("_incoming_documents", batch)
            casts = {"created_at": "created_at::timestamp", "vector": f"vector::float[{self.dimensions}]"}
            selected = ", ".join(casts.get(column, column) for column in _COLUMNS)
            self.connection.execute(
                f"insert or replace into documents ({', '.join(_COLUMNS)}) "
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
        self._follow_write(generation, np.asarray(replaced, dtype=np.int64), keys, vectors)
        return len(documents)

    def delete(self, unit_ids: Sequence[str]) -> int:
        if not unit_ids:
            return 0
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
        self._follow_write(generation, np.asarray(removed, dtype=np.int64), None, None)
        return len(unit_ids)

    def _log_removed(self, generation: int, keys: Any) -> None:
        """Record, inside the write's transaction, the vector keys it removed or replaced."""
        if len(keys):
            self.connection.execute(
                "insert into ivf_removed select ?, unnest(?::bigint[])",
                [generation, np.asarray(keys, dtype=np.int64).tolist()],
            )

    def _follow_write(
        self, before: int, removed: np.ndarray, keys: np.ndarray | None, vectors: np.ndarray | None
    ) -> None:
        """Apply a committed write to the IVF held in memory when it reflected the state just before the write.

        Nothing is loaded for it: an IVF not in memory catches up from ``ivf_removed`` and the new keys when it
        is next needed (``_vector_index``)."""
        if self._ivf is None or self._ivf_generation != before:
            return
        import faiss

        if len(removed):
            self._ivf.remove_ids(faiss.IDSelectorBatch(removed))
        if keys is not None and len(keys):
            self._ivf.add_with_ids(vectors, keys)
            self._ivf_next_key = int(keys[-1]) + 1
        self._ivf_generation = before + 1
        self._ivf_dirty = True

    # -- reads -----------------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._one("select count(*) from documents")[0])

    def content_hashes(self) -> dict[str, str]:
        return dict(self.connection.execute("select unit_id, content_hash from documents").fetchall())

    def newest_created_at(self) -> Any:
        """The ``created_at`` of the newest document (None when empty)."""
        return self._one("select max(created_at) from documents")[0]

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

    def refresh(self) -> None:
        """Bring the derived structures up to the last write: the BM25 postings (for the documents written or
        removed since the last refresh only), and for a large index the IVF sidecar, when it is missing or
        misses more than ``IVF_COMPACT_SHARE`` of the index (otherwise its readers catch up)."""
        generation = self.generation
        if self._state("bm25_generation") != generation or not self._has_bm25_tables():
            self._update_bm25(generation)
        total = self.count()
        if total <= self.small_index_rows:
            return
        behind = self._sidecar_behind()
        if behind is not None and behind <= IVF_COMPACT_SHARE * total:
            return
        self._vector_index(generation)
        if self._ivf.ntotal > 2 * max(self._ivf_trained_on, 1):
            self._build_ivf(generation)  # grown far past what its lists were trained on: retrain
        if self._ivf_dirty:
            self._save_sidecar()

    def _has_bm25_tables(self) -> bool:
        found = self._one(
            "select count(*) from information_schema.tables where table_schema = 'main' "
            "and table_name in ('bm25_dict', 'bm25_terms', 'bm25_docs')"
        )[0]
        return found == 3 and self._has_fts()

    def _update_bm25(self, generation: int) -> None:
        """Bring the postings up to the documents table: drop those of removed (or replaced) documents, add
        those of new ones. Cost follows the change, not the index size.

        DuckDB's fts index cannot be updated, only rebuilt over every document (``create_fts_index``: ~1 s
        per 15k units on 2 cores, so every sync of a few new records re-tokenized the whole history). It is
        built once per index file, for its tokenizer macro (``fts_main_documents.tokenize``) and stopword list,
        which the postings here use exactly as it does: tokens of the accent-stripped lower-cased text, minus
        stopwords and empty tokens, Porter-stemmed. Kept per document: the term frequencies (``bm25_terms``)
        and the length in terms (``bm25_docs``, zero-length documents included, as fts counts them); the BM25
        weight itself depends on the document count, the mean length and each term's document frequency,
        which every write changes, so it is computed at query time from these (``_bm25_postings``).
        """
        connection = self.connection
        if not self._has_fts():  # an index file filled before it had one: built once, over what it holds
            connection.execute("pragma create_fts_index('documents', 'unit_id', 'text', overwrite=1)")
        connection.execute("begin transaction")
        try:
            connection.execute("drop table if exists bm25_postings")  # older layout: precomputed weights
            connection.execute(
                "create table if not exists bm25_dict (termid integer primary key, term varchar not null)"
            )
            connection.execute(
                "create table if not exists bm25_terms "
                "(termid integer not null, vector_key bigint not null, tf integer not null)"
            )
            connection.execute(
                "create table if not exists bm25_docs (vector_key bigint primary key, len integer not null)"
            )
            gone = connection.execute(
                "select vector_key from bm25_docs anti join documents using (vector_key)"
            ).fetchnumpy()["vector_key"]
            if len(gone):
                keys = [int(key) for key in gone]
                connection.execute("delete from bm25_terms where vector_key in (select unnest(?))", [keys])
                connection.execute("delete from bm25_docs where vector_key in (select unnest(?))", [keys])
            connection.execute(
                """
                create or replace temp table _bm25_new as
                select vector_key, text from documents anti join bm25_docs using (vector_key)
                """
            )
            connection.execute(
                """
                create or replace temp table _bm25_tokens as
                select vector_key, stem(token, 'porter') as term
                from (select vector_key, unnest(fts_main_documents.tokenize(text)) as token from _bm25_new)
                where token <> '' and token not in (select sw from fts_main_documents.stopwords)
                """
            )
            connection.execute(
                """
                insert into bm25_dict
                select (select coalesce(max(termid), -1) from bm25_dict) + row_number() over (order by term),
                    term
                from (select distinct term from _bm25_tokens anti join bm25_dict using (term))
                """
            )
            connection.execute(
                """
                insert into bm25_terms
                select d.termid, t.vector_key, count(*)::integer
                from _bm25_tokens as t join bm25_dict as d using (term)
                group by d.termid, t.vector_key
                """
            )
            connection.execute(
                """
                insert into bm25_docs
                select n.vector_key, count(t.term)::integer
                from _bm25_new as n left join _bm25_tokens as t using (vector_key)
                group by n.vector_key
                """
            )
            connection.execute("drop table _bm25_tokens")
            connection.execute("drop table _bm25_new")
            connection.execute(
                "update index_state set value = ? where name = 'bm25_generation'", [generation]
            )
            connection.execute("commit")
        except Exception:
            connection.execute("rollback")
            raise
        self._postings = None

    def _bm25_postings(self, generation: int) -> tuple[Any, ...]:
        """``(offsets by termid, vector keys, term frequencies, length by key, document count, mean length)``
        of the postings, sorted by term, loaded once per generation."""
        if self._postings is None or self._postings_generation != generation:
            columns = self.connection.execute(
                "select termid, vector_key, tf from bm25_terms order by termid, vector_key"
            ).fetchnumpy()
            docs = self.connection.execute("select vector_key, len from bm25_docs").fetchnumpy()
            termids = np.asarray(columns["termid"], dtype=np.int64)
            size = int(termids.max()) + 2 if len(termids) else 1
            offsets = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(np.bincount(termids, minlength=size), out=offsets[1:])
            doc_keys = np.asarray(docs["vector_key"], dtype=np.int64)
            doc_lengths = np.asarray(docs["len"], dtype=np.float64)
            length_by_key = np.zeros(int(doc_keys.max()) + 1 if len(doc_keys) else 1, dtype=np.float64)
            length_by_key[doc_keys] = doc_lengths
            self._postings = (
                offsets,
                np.asarray(columns["vector_key"], dtype=np.int64),
                np.asarray(columns["tf"], dtype=np.float64),
                length_by_key,
                len(doc_keys),
                float(doc_lengths.mean()) if len(doc_lengths) else 0.0,
            )
            self._postings_generation = generation
        assert self._postings is not None  # built above for this generation
        return self._postings

    def _where(self, filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for name, value in (filters or {}).items():
            if name == "created_after":
                clauses.append("created_at >= ?")
                params.append(value)
            elif name == "created_before":
                clauses.append("created_at < ?")
                params.append(value)
            elif name in FILTERABLE and isinstance(value, list | tuple | set):
                clauses.append(f"{name} in (select unnest(?))")
                params.append(sorted(str(v) for v in value))
            elif name in FILTERABLE:
                clauses.append(f"{name} = ?")
                params.append(str(value))
            else:
                raise ValueError(
                    f"unknown filter {name!r}; filterable: {FILTERABLE + ('created_after', 'created_before')}"
                )
        return (" and ".join(clauses) or "true"), params

    def query(
        self,
        text: str,
        vector: Sequence[float] | None,
        top: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Hybrid search: BM25 over the text and cosine over the vector, fused by reciprocal rank."""
        where, params = self._where(filters)
        state = self._states()
        if state["bm25_generation"] != state["generation"]:
            self.refresh()
            state = self._states()
        depth = max(top * 5, 50)
        allowed = None
        if filters and "feedback_id" in filters:  # one message's units: few, fetched from DuckDB
            allowed = self._filter_mask(where, params, state["next_key"])
        elif filters:
            allowed = self._memory_filter_mask(filters, state["generation"], state["next_key"])
        ranks: dict[int, dict[str, int]] = {}
        for rank, key in enumerate(self._bm25_ranking(text, allowed, depth, state["generation"]), start=1):
            ranks[key] = {"bm25": rank}
        if vector is not None:
            ranking = self._vector_ranking(vector, allowed, where, params, depth, state["generation"])
            for rank, key in enumerate(ranking, start=1):
                ranks.setdefault(key, {})["vector"] = rank
        fused = sorted(
            ((sum(1.0 / (RRF_K + r) for r in found.values()), key) for key, found in ranks.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )[:top]
        return self._hits(fused, ranks)

    def _metadata_columns(self, generation: int, next_key: int) -> dict[str, Any]:
        """The filterable columns (but ``feedback_id``) as arrays indexed by key, loaded once per generation:
        ``{name: (codes, {value: code})}`` (code -1: null or no such unit), ``created_at`` as datetime64."""
        if self._columns is None or self._columns_generation != generation:
            import pandas as pd

            names = [name for name in FILTERABLE if name != "feedback_id"]
            frame = self.connection.execute(
                f"select vector_key, created_at, {', '.join(names)} from documents"
            ).df()
            keys = frame["vector_key"].to_numpy(dtype=np.int64)
            columns: dict[str, Any] = {}
            created = np.full(next_key + 1, np.datetime64("NaT"), dtype="datetime64[us]")
            created[keys] = frame["created_at"].to_numpy(dtype="datetime64[us]")
            columns["created_at"] = created
            for name in names:
                codes, values = pd.factorize(frame[name], use_na_sentinel=True)
                by_key = np.full(next_key + 1, -1, dtype=np.int32)
                by_key[keys] = codes
                columns[name] = (by_key, {str(value): code for code, value in enumerate(values)})
            self._columns, self._columns_generation = columns, generation
        return self._columns

    def _memory_filter_mask(
        self, filters: dict[str, Any], generation: int, next_key: int
    ) -> tuple[np.ndarray, int]:
        """``(mask over keys, count)`` of the units the filter allows, from the in-memory columns: what
        ``_where`` selects, without scanning the table (1M units: ~2 ms instead of ~50)."""
        columns = self._metadata_columns(generation, next_key)
        mask = columns["channel"][0] >= -1  # every key
        for name, value in filters.items():
            if name in ("created_after", "created_before"):
                bound = np.datetime64(self._one("select ?::timestamp", [value])[0], "us")
                created = columns["created_at"]
                mask &= (created >= bound) if name == "created_after" else (created < bound)
                continue
            codes, lookup = columns[name]
            wanted = value if isinstance(value, list | tuple | set) else [value]
            found = [lookup[str(v)] for v in wanted if str(v) in lookup]
            mask &= np.isin(codes, found) if len(found) > 1 else codes == (found[0] if found else -2)
        return mask, int(mask.sum())

    def _filter_mask(self, where: str, params: list[Any], next_key: int) -> tuple[np.ndarray, int]:
        """``(mask over keys, count)`` of the units the filter allows. A wide filter fetches the (smaller)
        complement and inverts it: keys cost ~50 ns each to fetch, and half a million of them would be most of
        a query's time. Keys of replaced or deleted units may be left set: no ranking holds them any more."""
        allowed, total = self._one(f"select count(*) filter (where {where}), count(*) from documents", params)
        size = next_key + 1
        wide = allowed > total / 2
        keys = self.connection.execute(
            f"select vector_key from documents where not coalesce(({where}), false)"
            if wide
            else f"select vector_key from documents where {where}",
            params,
        ).fetchnumpy()["vector_key"]
        mask = np.full(size, wide, dtype=bool)
        mask[np.asarray(keys, dtype=np.int64)] = not wide
        return mask, int(allowed)

    def _bm25_ranking(
        self, text: str, allowed: tuple[np.ndarray, int] | None, depth: int, generation: int
    ) -> list[int]:
        """Keys of the best BM25 matches among the allowed keys (all when None), best first."""
        keys, scores = self._bm25_scores(text, allowed, generation)
        return keys[np.lexsort((keys, -scores))[:depth]].tolist()

    def _bm25_scores(
        self, text: str, allowed: tuple[np.ndarray, int] | None, generation: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, scores)`` of every allowed unit matching a term of ``text``: the fts macro's BM25 score,
        summed from the precomputed postings of the query's (stemmed, stopword-free, distinct) terms."""
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if not text.strip() or (allowed is not None and not allowed[1]):
            return nothing
        termids = self.connection.execute(
            "select termid from bm25_dict where term in "
            "(select stem(unnest(fts_main_documents.tokenize(?)), 'porter'))",
            [text],
        ).fetchnumpy()["termid"]
        postings = self._bm25_postings(self.generation if generation is None else generation)
        offsets, keys = postings[0], postings[1]
        termids = [
            int(t) for t in termids if int(t) + 1 < len(offsets) and offsets[int(t) + 1] > offsets[int(t)]
        ]
        if not termids:
            return nothing
        found_keys = np.concatenate([keys[offsets[t] : offsets[t + 1]] for t in termids])
        found_weights = np.concatenate([self._bm25_weights(postings, t) for t in termids])
        if allowed is not None:
            keep = allowed[0][found_keys]
            found_keys, found_weights = found_keys[keep], found_weights[keep]
        if len(found_keys) * 8 < len(keys):  # few postings: sort them
            unique, inverse = np.unique(found_keys, return_inverse=True)
            return unique, np.bincount(inverse, weights=found_weights, minlength=len(unique))
        scores = np.bincount(found_keys, weights=found_weights)  # many: sum straight into a key-indexed array
        unique = np.flatnonzero(scores)
        return unique, scores[unique]

    @staticmethod
    def _bm25_weights(postings: tuple[Any, ...], termid: int) -> np.ndarray:
        """The BM25 weight of each posting of ``termid``, as the fts ``match_bm25`` macro computes it (k1 = 1.2,
        b = 0.75, base-10 idf over the current document count, mean length and the term's document frequency),
        rounded to float32 as the precomputed weights were."""
        offsets, keys, frequencies, length_by_key, documents, mean_length = postings
        start, end = offsets[termid], offsets[termid + 1]
        df = end - start
        tf = frequencies[start:end]
        lengths = length_by_key[keys[start:end]]
        idf = math.log10((documents - df + 0.5) / (df + 0.5) + 1)
        weights = idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * lengths / mean_length))
        return weights.astype(np.float32)

    def _vector_ranking(
        self,
        vector: Sequence[float],
        allowed: tuple[np.ndarray, int] | None,
        where: str,
        params: list[Any],
        depth: int,
        generation: int,
    ) -> list[int]:
        """Keys of the nearest allowed vectors, nearest first: in DuckDB for a small index, else the IVF,
        probing every list (exact) when the filter leaves few candidates."""
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        total = self.count()
        if total <= self.small_index_rows:
            rows = self.connection.execute(
                f"""
                select vector_key from documents where {where}
                order by array_cosine_similarity(vector, ?::float[{self.dimensions}]) desc, vector_key
                limit {depth}
                """,
                [*params, query[0].tolist()],
            ).fetchall()
            return [row[0] for row in rows]
        import faiss

        ivf = self._vector_index(generation)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        candidates, selector, bitmap = total, None, None
        if allowed is not None:
            candidates = allowed[1]
            bitmap = np.packbits(allowed[0], bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # length in bytes
        if candidates <= self.exact_scan_rows:
            probes = ivf.nlist
        else:
            share = candidates / max(total, 1)
            probes = max(IVF_MIN_PROBES, math.ceil(ivf.nlist * IVF_PROBE_FRACTION / share**0.5))
        wanted = min(depth, candidates)
        while True:
            probes = min(probes, ivf.nlist)
            parameters = faiss.SearchParametersIVF(nprobe=probes, sel=selector)  # type: ignore[call-arg]
            _, keys = ivf.search(query, depth, params=parameters)
            found = [int(k) for k in keys[0] if k >= 0]
            if len(found) >= wanted or probes == ivf.nlist:
                del bitmap  # kept alive until the search is done: faiss reads it through a raw pointer
                return found
            probes *= 4

    # -- the IVF sidecar -------------------------------------------------------------------------------------

    def _vector_index(self, generation: int) -> Any:
        """The IVF for ``generation``: in memory, else the sidecar file caught up, else rebuilt (and saved)."""
        if self._ivf is not None and self._catch_up(generation):
            return self._ivf
        self._ivf = None
        if self._load_sidecar() and self._catch_up(generation):
            return self._ivf
        self._ivf = self._build_ivf(generation)
        self._save_sidecar()
        return self._ivf

    def _catch_up(self, generation: int) -> bool:
        """Bring the IVF in memory from its generation to ``generation``: remove the keys logged since, add the
        documents keyed from its next key. False (rebuild it) when the log does not reach back that far or the
        result does not hold exactly the table's documents."""
        if self._ivf_generation == generation:
            return True
        if not self._state("ivf_log_start") <= self._ivf_generation < generation:
            return False
        import faiss

        removed = self.connection.execute(
            "select vector_key from ivf_removed where generation > ? and generation <= ?",
            [self._ivf_generation, generation],
        ).fetchnumpy()["vector_key"]
        if len(removed):
            self._ivf.remove_ids(faiss.IDSelectorBatch(np.asarray(removed, dtype=np.int64)))
        for keys, vectors in self._vector_batches(f"where vector_key >= {int(self._ivf_next_key)}"):
            self._ivf.add_with_ids(vectors, keys)
        self._ivf_generation = generation
        self._ivf_next_key = self._state("next_key")
        self._ivf_dirty = True
        return self._ivf.ntotal == self.count()

    def _manifest_path(self) -> Path:
        return self.sidecar_path.with_name(self.sidecar_path.name + ".json")

    def _manifest(self) -> dict[str, Any] | None:
        """The sidecar's manifest when it is of this file (epoch) and these dimensions, else None."""
        try:
            manifest = json.loads(self._manifest_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if manifest.get("epoch") != self._epoch or manifest.get("dimensions") != self.dimensions:
            return None
        return manifest

    def _sidecar_behind(self) -> int | None:
        """How many documents the sidecar on disk misses (added since, or removed / replaced since); None when
        there is none to catch up from (absent, of another file, older than the log, of an older layout)."""
        manifest = self._manifest()
        if manifest is None or "next_key" not in manifest:
            return None
        if not self._state("ivf_log_start") <= manifest["generation"] <= self.generation:
            return None
        added, removed = self._one(
            "select (select count(*) from documents where vector_key >= ?), "
            "(select count(*) from ivf_removed where generation > ?)",
            [manifest["next_key"], manifest["generation"]],
        )
        return int(added) + int(removed)

    def _load_sidecar(self) -> bool:
        """Load the sidecar file if its manifest is of this file and it reads back whole (any generation: the
        caller catches it up)."""
        import faiss

        manifest = self._manifest()
        try:
            if manifest is None:
                return False
            ivf = faiss.read_index(str(self.sidecar_path))
            if ivf.ntotal != manifest["count"] or ivf.d != self.dimensions:
                return False
            generation, next_key = int(manifest["generation"]), int(manifest["next_key"])
        except (OSError, ValueError, KeyError, RuntimeError):
            return False
        self._ivf, self._ivf_generation, self._ivf_next_key = ivf, generation, next_key
        self._ivf_trained_on = int(manifest.get("trained_on", ivf.ntotal))
        self._ivf_dirty = False
        return True

    def _build_ivf(self, generation: int) -> Any:
        """Train inverted lists (~sqrt(N), k-means on a sample) and add every vector of the table."""
        import faiss

        total = self.count()
        lists = max(1, min(int(math.sqrt(total)), total // 39 or 1))
        sample = self._vectors(f"using sample reservoir({min(total, IVF_TRAIN_SAMPLE)} rows) repeatable (42)")
        quantizer = faiss.IndexFlatIP(self.dimensions)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dimensions, lists, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        ivf.cp.min_points_per_centroid = 1  # a small index has few points per list: no warning about it
        ivf.train(sample[1])
        del sample
        self._ivf = None  # a retrain: the old lists go before the new ones fill (never two IVFs in memory)
        for keys, vectors in self._vector_batches():
            ivf.add_with_ids(vectors, keys)
        self._ivf_generation = generation
        self._ivf_next_key = self._state("next_key")
        self._ivf_trained_on = total
        self._ivf_dirty = True
        self._ivf = ivf
        return ivf

    def _vectors(self, sample_clause: str = "") -> tuple[np.ndarray, np.ndarray]:
        reader = self.connection.execute(f"select vector_key, vector from documents {sample_clause}").arrow()
        return self._as_numpy(reader.read_all())

    def _vector_batches(self, where: str = "", rows: int = 16_384) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored vector (or those ``where`` selects), normalized, a batch of ``rows`` at a time (16,384 x
        384 floats: 25 MB, and as much again normalized; 100,000 were 300 MB at the IVF build's peak)."""
        reader = self.connection.execute(f"select vector_key, vector from documents {where}").to_arrow_reader(
            rows
        )
        for batch in reader:
            yield self._as_numpy(batch)

    def _as_numpy(self, table: Any) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(table.column(0).to_numpy(), dtype=np.int64)
        flat = table.column(1)
        if hasattr(flat, "combine_chunks"):
            flat = flat.combine_chunks()
        vectors = np.asarray(flat.values.to_numpy(), dtype=np.float32).reshape(-1, self.dimensions)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return keys, np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))

    def _save_sidecar(self) -> None:
        """Write the IVF under a temporary name and rename it, then the manifest the same way."""
        import faiss

        staging = self.sidecar_path.with_name(self.sidecar_path.name + ".tmp")
        faiss.write_index(self._ivf, str(staging))
        os.replace(staging, self.sidecar_path)
        manifest = {
            "epoch": self._epoch,
            "generation": self._ivf_generation,
            "next_key": self._ivf_next_key,
            "count": int(self._ivf.ntotal),
            "dimensions": self.dimensions,
            "lists": int(self._ivf.nlist),
            "trained_on": self._ivf_trained_on,
        }
        staging = self._manifest_path().with_name(self._manifest_path().name + ".tmp")
        staging.write_text(json.dumps(manifest), encoding="utf-8")
        os.replace(staging, self._manifest_path())
        self._ivf_dirty = False
        # what the sidecar on disk now holds needs no log: a reader older than it reloads the sidecar instead
        self.connection.execute("begin transaction")
        self.connection.execute("delete from ivf_removed where generation <= ?", [self._ivf_generation])
        self.connection.execute(
            "update index_state set value = ? where name = 'ivf_log_start'", [self._ivf_generation]
        )
        self.connection.execute("commit")

    def _has_fts(self) -> bool:
        found = self._one(
            "select count(*) from information_schema.schemata where schema_name = 'fts_main_documents'"
        )[0]
        return bool(found)

    def _hits(self, fused: list[tuple[float, int]], ranks: dict[int, dict[str, int]]) -> list[SearchHit]:
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

    def close(self) -> None:
        self.refresh()
        self.connection.close()


DEFAULT_INDEX_FILE = "feedback_index.duckdb"
ACTIVE_POINTER = "ACTIVE.json"
"""Names the index file searches use, and the embedding version it was built with. Switched atomically
(write a temporary file, ``os.replace``) by a reindex once the new index is complete, so search never sees a
half-built or empty index."""


def index_files(path: Path) -> list[Path]:
    """Every file of the index at ``path``: the DuckDB file, its WAL, the IVF sidecar and its manifest."""
    return [path.with_name(path.name + suffix) for suffix in ("", ".wal", ".ivf", ".ivf.json", ".ivf.tmp")]


def read_active_pointer(index_dir: Path) -> dict[str, Any]:
    """``{"file", "embedding_version", "switched_at"}`` of the active index (defaults when never switched)."""
    pointer = index_dir / ACTIVE_POINTER
    if pointer.exists():
        return json.loads(pointer.read_text(encoding="utf-8"))
    return {"file": DEFAULT_INDEX_FILE, "embedding_version": None, "switched_at": None}


def active_index_path(index_dir: Path) -> Path:
    return index_dir / read_active_pointer(index_dir)["file"]


def switch_active_index(index_dir: Path, new_file: Path, embedding_version: str) -> Path:
    """Point searches at ``new_file`` (atomic); returns the previously active file."""
    import os
    from datetime import UTC, datetime

    previous = active_index_path(index_dir)
    pointer = index_dir / ACTIVE_POINTER
    staging = pointer.with_suffix(".json.tmp")
    staging.write_text(
        json.dumps(
            {
                "file": new_file.name,
                "embedding_version": embedding_version,
                "switched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        ),
        encoding="utf-8",
    )
    os.replace(staging, pointer)
    return previous


def open_active_index(settings: Any, dimensions: int) -> EmbeddedIndex:
    """The index searches and the regular sync use (``ACTIVE.json`` under ``settings.index_dir``)."""
    return EmbeddedIndex(
        active_index_path(settings.index_dir),
        dimensions=dimensions,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
    )
