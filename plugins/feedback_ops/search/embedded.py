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
  the corpus per query (0.4 s at 100k), and its index can only be rebuilt over every document (so every
  sync of a few new records would re-tokenize the whole history). ``refresh`` tokenizes only the
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
  more while fewer than the wanted candidates were found. A small index ranks in DuckDB with an exact scan
  (DuckDB reads every array it scans: 0.7 s for 15k of 100k units). DuckDB's own HNSW (``vss``) is not
  used: it applies WHERE after the index returns its top k (filtered queries come back short) and its
  persistence is experimental, without WAL recovery; an HNSW build (usearch) ran at ~1,000 vectors/s on this
  machine, where the IVF adds 100k in a second.
- **Filters from memory.** The filterable columns (all but ``feedback_id``) are held as integer codes indexed
  by key, loaded once per generation, so a filter becomes a numpy mask (~10 ms at 1M, where fetching the
  matching keys from DuckDB takes ~50-100 ms); a ``feedback_id`` filter (one message's units) is asked of
  DuckDB. Hits are read back by key through an index on ``vector_key``.
- **The sidecar is disposable, and writes do not rewrite it.** ``<file>.ivf`` is written to a temporary name
  and renamed, then ``<file>.ivf.json`` records the generation, count and next key it holds. A write does not
  touch it: it records the vector keys it removed or replaced in ``ivf_removed`` (same transaction), and its
  new vectors have keys from ``next_key`` on. Whoever needs the IVF loads the sidecar and catches up: removes
  the keys logged after the sidecar's generation, adds the documents keyed from its next key (rewriting the
  ~290 MB sidecar of 374k units on every sync would make a 1k-record sync pay for the whole index, twice: read and
  write). The sidecar is rewritten when what it misses passes ``IVF_COMPACT_SHARE`` of the index (then the log
  is trimmed), or grew past twice what its lists were trained on (retrained). A sidecar that is missing,
  corrupt, of another file or older than the log is rebuilt from the ``documents`` table; so is one whose
  caught-up count differs from the table's. A crash at any point leaves the previous DuckDB state and, at
  worst, a sidecar to rebuild.

The parts, composed by ``EmbeddedIndex``: ``embedded_store`` (the tables, the ``index_state`` counters, bulk
upserts and deletes, content hashes, hits), ``embedded_bm25`` (tokenizing, postings, scoring),
``embedded_ivf`` (the sidecar, its manifest, the removal log's catch-up, build and probe search) and
``embedded_filters`` (the where clause and the key masks). The file layout, tables and sidecar format are
theirs; this module fuses the rankings and names the active index file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from feedback_ops.search.base import IndexDocument, SearchHit
from feedback_ops.search.embedded_bm25 import Bm25Postings
from feedback_ops.search.embedded_filters import KeyFilter, where_clause
from feedback_ops.search.embedded_ivf import IvfSidecar
from feedback_ops.search.embedded_store import FILTERABLE, DocumentStore, KeyMask

__all__ = [
    "ACTIVE_POINTER",
    "DEFAULT_INDEX_FILE",
    "EXACT_SCAN_ROWS",
    "FILTERABLE",
    "RRF_K",
    "SMALL_INDEX_ROWS",
    "EmbeddedIndex",
    "active_index_path",
    "index_files",
    "open_active_index",
    "read_active_pointer",
    "switch_active_index",
]

RRF_K = 60
"""Reciprocal-rank fusion constant: a unit scores ``sum(1 / (RRF_K + rank))`` over the rankings it is in."""
SMALL_INDEX_ROWS = 2_000
"""An index of at most this many units ranks vectors by an exact scan in DuckDB and keeps no IVF sidecar."""
EXACT_SCAN_ROWS = 20_000
"""Up to this many candidate units (after the filter) the IVF probes every list: an exact ranking."""


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
        self.store = DocumentStore(path, dimensions, memory_limit=memory_limit, threads=threads)
        self.path = path
        self.dimensions = dimensions
        self.small_index_rows = small_index_rows
        self.exact_scan_rows = exact_scan_rows
        self.connection = self.store.connection
        self.sidecar_path = path.with_name(path.name + ".ivf")
        self.bm25 = Bm25Postings(self.store)
        self.ivf = IvfSidecar(self.store, self.sidecar_path)
        self.filters = KeyFilter(self.store)

    @property
    def generation(self) -> int:
        """Bumped by every committed write; derived structures record the generation they reflect."""
        return self.store.generation

    # -- writes ----------------------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[IndexDocument]) -> int:
        """Merge-or-upload: documents are inserted or replaced by ``unit_id`` (of a repeated id, the last)."""
        if not documents:
            return 0
        documents = list({d.unit_id: d for d in documents}.values())
        self.ivf.follow_write(self.store.upsert(documents))
        return len(documents)

    def delete(self, unit_ids: Sequence[str]) -> int:
        """Delete the documents of ``unit_ids``; returns how many ids were asked for."""
        if not unit_ids:
            return 0
        self.ivf.follow_write(self.store.delete(unit_ids))
        return len(unit_ids)

    # -- reads -----------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Documents in the index."""
        return self.store.count()

    def content_hashes(self) -> dict[str, str]:
        """``{unit_id: content_hash}`` of every document."""
        return self.store.content_hashes()

    def newest_created_at(self) -> Any:
        """The ``created_at`` of the newest document (None when empty)."""
        return self.store.newest_created_at()

    def facet_values(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Distinct values of filterable fields, most frequent first (what a question can filter on)."""
        return self.store.facet_values(names)

    def refresh(self) -> None:
        """Bring the derived structures up to the last write: the BM25 postings (for the documents written or
        removed since the last refresh only), and for a large index the IVF sidecar, when it is missing or
        misses more than ``IVF_COMPACT_SHARE`` of the index (otherwise its readers catch up)."""
        generation = self.generation
        if not self.bm25.is_current(generation):
            self.bm25.update(generation)
        total = self.count()
        if total <= self.small_index_rows:
            return
        self.ivf.refresh(generation, total)

    def query(
        self,
        text: str,
        vector: Sequence[float] | None,
        top: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Hybrid search: BM25 over the text and cosine over the vector, fused by reciprocal rank."""
        where, params = where_clause(filters)
        state = self.store.states()
        if state["bm25_generation"] != state["generation"]:
            self.refresh()
            state = self.store.states()
        depth = max(top * 5, 50)
        allowed = self.filters.mask(filters, where, params, state)
        ranks: dict[int, dict[str, int]] = {}
        for rank, key in enumerate(self.bm25.ranking(text, allowed, depth, state["generation"]), start=1):
            ranks[key] = {"bm25": rank}
        if vector is not None:
            ranking = self._vector_ranking(vector, allowed, where, params, depth, state["generation"])
            for rank, key in enumerate(ranking, start=1):
                ranks.setdefault(key, {})["vector"] = rank
        fused = sorted(
            ((sum(1.0 / (RRF_K + r) for r in found.values()), key) for key, found in ranks.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )[:top]
        return self.store.hits(fused, ranks)

    def _vector_ranking(
        self,
        vector: Sequence[float],
        allowed: KeyMask | None,
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
            return self.store.nearest(query[0], where, params, depth)
        return self.ivf.search(
            query, allowed, depth, generation=generation, total=total, exact_scan_rows=self.exact_scan_rows
        )

    # -- the parts' internals, as the index's tests inspect them ---------------------------------------------

    @property
    def _ivf(self) -> Any:
        """The faiss IVF in memory (None until a query or refresh needed it)."""
        return self.ivf.index

    def _manifest_path(self) -> Path:
        return self.ivf.manifest_path

    def _manifest(self) -> dict[str, Any] | None:
        return self.ivf.manifest()

    def _sidecar_behind(self) -> int | None:
        return self.ivf.behind()

    def _bm25_scores(
        self, text: str, allowed: KeyMask | None, generation: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.bm25.scores(text, allowed, generation)

    def close(self) -> None:
        """Refresh the derived structures, then close the file."""
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
