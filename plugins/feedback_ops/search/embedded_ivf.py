"""The embedded index's vectors: a faiss IVF in a sidecar file beside the DuckDB file.

An IVF holds inverted lists of fp16 vectors (~sqrt(N) lists trained by k-means on a sample); a filter goes
into the search as a bitmap of allowed keys, so it is applied while scanning. When the filter leaves at most
``exact_scan_rows`` candidates every list is probed (an exact ranking); otherwise ``IVF_PROBE_FRACTION`` of the
lists, more for a narrower filter, and four times more while fewer than the wanted candidates were found.

The sidecar is disposable, and writes do not rewrite it. ``<file>.ivf`` is written to a temporary name and
renamed, then ``<file>.ivf.json`` (the manifest) records the epoch, generation, count, next key, dimensions,
lists and training size it holds. A write records the vector keys it removed or replaced in ``ivf_removed``
(``DocumentStore``, same transaction) and keys its new vectors from ``next_key`` on. Whoever needs the IVF
loads the sidecar and catches up: removes the keys logged after the sidecar's generation, adds the documents
keyed from its next key. ``refresh`` rewrites the sidecar when what it misses passes ``IVF_COMPACT_SHARE`` of
the index (then the log is trimmed), or retrains it once it grew past twice what its lists were trained on. A
sidecar that is missing, corrupt, of another file or older than the log is rebuilt from the ``documents``
table; so is one whose caught-up count differs from the table's.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from feedback_ops.search.embedded_store import DocumentStore, KeyMask, Write

IVF_PROBE_FRACTION = 0.12
"""Share of the inverted lists a query probes (at least ``IVF_MIN_PROBES``): recall@10 >= 0.95 at 1M."""
IVF_MIN_PROBES = 16
IVF_TRAIN_SAMPLE = 50_000
IVF_COMPACT_SHARE = 0.1
"""The sidecar is rewritten once the documents it misses (added, or removed / replaced since it was saved) pass
this share of the index: until then loading it catches up from the table (0.1 of 374k units: ~37k vectors,
~60 MB read), and a sync never pays for the whole sidecar before that."""


class IvfSidecar:
    """The IVF of a ``DocumentStore``'s vectors: in memory, in its sidecar file, caught up or rebuilt.

    Args:
        store: the documents the IVF indexes.
        path: the sidecar file (``<index file>.ivf``; its manifest is ``<index file>.ivf.json``).
    """

    def __init__(self, store: DocumentStore, path: Path) -> None:
        self.store = store
        self.path = path
        self.index: Any = None
        """The faiss IVF in memory (None until it is needed)."""
        self._generation = -1
        self._next_key = 0
        self._trained_on = 0
        self._dirty = False

    @property
    def manifest_path(self) -> Path:
        """``<index file>.ivf.json``: what the sidecar holds."""
        return self.path.with_name(self.path.name + ".json")

    # -- following writes ------------------------------------------------------------------------------------

    def follow_write(self, write: Write) -> None:
        """Apply a committed write to the IVF held in memory when it reflected the state just before the write.

        Nothing is loaded for it: an IVF not in memory catches up from ``ivf_removed`` and the new keys when it
        is next needed (``current``)."""
        if self.index is None or self._generation != write.before:
            return
        import faiss

        if len(write.removed):
            self.index.remove_ids(faiss.IDSelectorBatch(write.removed))
        if write.keys is not None and len(write.keys):
            self.index.add_with_ids(write.vectors, write.keys)
            self._next_key = int(write.keys[-1]) + 1
        self._generation = write.before + 1
        self._dirty = True

    def refresh(self, generation: int, total: int) -> None:
        """Rewrite the sidecar when it is missing or misses more than ``IVF_COMPACT_SHARE`` of the ``total``
        documents (retrained when it grew past twice what its lists were trained on); otherwise leave it for
        its readers to catch up."""
        behind = self.behind()
        if behind is not None and behind <= IVF_COMPACT_SHARE * total:
            return
        self.current(generation)
        if self.index.ntotal > 2 * max(self._trained_on, 1):
            self._build(generation)  # grown far past what its lists were trained on: retrain
        if self._dirty:
            self._save()

    # -- searching -------------------------------------------------------------------------------------------

    def search(
        self,
        query: np.ndarray,
        allowed: KeyMask | None,
        depth: int,
        *,
        generation: int,
        total: int,
        exact_scan_rows: int,
    ) -> list[int]:
        """Keys of the nearest allowed vectors to ``query`` (shape ``(1, dimensions)``), nearest first: every
        list probed when the filter leaves at most ``exact_scan_rows`` of the ``total`` candidates."""
        import faiss

        ivf = self.current(generation)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        candidates, selector, bitmap = total, None, None
        if allowed is not None:
            candidates = allowed[1]
            bitmap = np.packbits(allowed[0], bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # length in bytes
        if candidates <= exact_scan_rows:
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

    def current(self, generation: int) -> Any:
        """The IVF for ``generation``: in memory, else the sidecar file caught up, else rebuilt (and saved)."""
        if self.index is not None and self._catch_up(generation):
            return self.index
        self.index = None
        if self._load() and self._catch_up(generation):
            return self.index
        self.index = self._build(generation)
        self._save()
        return self.index

    def _catch_up(self, generation: int) -> bool:
        """Bring the IVF in memory from its generation to ``generation``: remove the keys logged since, add the
        documents keyed from its next key. False (rebuild it) when the log does not reach back that far or the
        result does not hold exactly the table's documents."""
        if self._generation == generation:
            return True
        if not self.store.state("ivf_log_start") <= self._generation < generation:
            return False
        import faiss

        removed = self.store.connection.execute(
            "select vector_key from ivf_removed where generation > ? and generation <= ?",
            [self._generation, generation],
        ).fetchnumpy()["vector_key"]
        if len(removed):
            self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(removed, dtype=np.int64)))
        for keys, vectors in self._vector_batches(f"where vector_key >= {int(self._next_key)}"):
            self.index.add_with_ids(vectors, keys)
        self._generation = generation
        self._next_key = self.store.state("next_key")
        self._dirty = True
        return bool(self.index.ntotal == self.store.count())

    # -- the sidecar file ------------------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        """The sidecar's manifest when it is of this file (epoch) and these dimensions, else None."""
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if manifest.get("epoch") != self.store.epoch or manifest.get("dimensions") != self.store.dimensions:
            return None
        return manifest

    def behind(self) -> int | None:
        """How many documents the sidecar on disk misses (added since, or removed / replaced since); None when
        there is none to catch up from (absent, of another file, older than the log, of an older layout)."""
        manifest = self.manifest()
        if manifest is None or "next_key" not in manifest:
            return None
        if not self.store.state("ivf_log_start") <= manifest["generation"] <= self.store.generation:
            return None
        added, removed = self.store.one(
            "select (select count(*) from documents where vector_key >= ?), "
            "(select count(*) from ivf_removed where generation > ?)",
            [manifest["next_key"], manifest["generation"]],
        )
        return int(added) + int(removed)

    def _load(self) -> bool:
        """Load the sidecar file if its manifest is of this file and it reads back whole (any generation: the
        caller catches it up)."""
        import faiss

        manifest = self.manifest()
        try:
            if manifest is None:
                return False
            ivf = faiss.read_index(str(self.path))
            if ivf.ntotal != manifest["count"] or ivf.d != self.store.dimensions:
                return False
            generation, next_key = int(manifest["generation"]), int(manifest["next_key"])
        except (OSError, ValueError, KeyError, RuntimeError):
            return False
        self.index, self._generation, self._next_key = ivf, generation, next_key
        self._trained_on = int(manifest.get("trained_on", ivf.ntotal))
        self._dirty = False
        return True

    def _build(self, generation: int) -> Any:
        """Train inverted lists (~sqrt(N), k-means on a sample) and add every vector of the table."""
        import faiss

        dimensions = self.store.dimensions
        total = self.store.count()
        lists = max(1, min(int(math.sqrt(total)), total // 39 or 1))
        sample = self._vectors(f"using sample reservoir({min(total, IVF_TRAIN_SAMPLE)} rows) repeatable (42)")
        quantizer = faiss.IndexFlatIP(dimensions)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dimensions, lists, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        ivf.cp.min_points_per_centroid = 1  # a small index has few points per list: no warning about it
        ivf.train(sample[1])
        del sample
        self.index = None  # a retrain: the old lists go before the new ones fill (never two IVFs in memory)
        for keys, vectors in self._vector_batches():
            ivf.add_with_ids(vectors, keys)
        self._generation = generation
        self._next_key = self.store.state("next_key")
        self._trained_on = total
        self._dirty = True
        self.index = ivf
        return ivf

    def _save(self) -> None:
        """Write the IVF under a temporary name and rename it, then the manifest the same way; then trim the
        removal log of what the sidecar now holds."""
        import faiss

        staging = self.path.with_name(self.path.name + ".tmp")
        faiss.write_index(self.index, str(staging))
        os.replace(staging, self.path)
        manifest = {
            "epoch": self.store.epoch,
            "generation": self._generation,
            "next_key": self._next_key,
            "count": int(self.index.ntotal),
            "dimensions": self.store.dimensions,
            "lists": int(self.index.nlist),
            "trained_on": self._trained_on,
        }
        staging = self.manifest_path.with_name(self.manifest_path.name + ".tmp")
        staging.write_text(json.dumps(manifest), encoding="utf-8")
        os.replace(staging, self.manifest_path)
        self._dirty = False
        # what the sidecar on disk now holds needs no log: a reader older than it reloads the sidecar instead
        connection = self.store.connection
        connection.execute("begin transaction")
        connection.execute("delete from ivf_removed where generation <= ?", [self._generation])
        connection.execute(
            "update index_state set value = ? where name = 'ivf_log_start'", [self._generation]
        )
        connection.execute("commit")

    # -- reading vectors from the table ----------------------------------------------------------------------

    def _vectors(self, sample_clause: str = "") -> tuple[np.ndarray, np.ndarray]:
        reader = self.store.connection.execute(
            f"select vector_key, vector from documents {sample_clause}"
        ).arrow()
        return self._as_numpy(reader.read_all())

    def _vector_batches(self, where: str = "", rows: int = 16_384) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored vector (or those ``where`` selects), normalized, a batch of ``rows`` at a time (16,384 x
        384 floats: 25 MB, and as much again normalized; 100,000 were 300 MB at the IVF build's peak)."""
        reader = self.store.connection.execute(
            f"select vector_key, vector from documents {where}"
        ).to_arrow_reader(rows)
        for batch in reader:
            yield self._as_numpy(batch)

    def _as_numpy(self, table: Any) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(table.column(0).to_numpy(), dtype=np.int64)
        flat = table.column(1)
        if hasattr(flat, "combine_chunks"):
            flat = flat.combine_chunks()
        vectors = np.asarray(flat.values.to_numpy(), dtype=np.float32).reshape(-1, self.store.dimensions)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return keys, np.ascontiguousarray(vectors / np.maximum(norms, 1e-12))
