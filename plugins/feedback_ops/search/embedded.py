"""The embedded local index: a DuckDB file under ``.local/index/`` with BM25 (fts) and cosine search.

Hybrid queries fuse the BM25 ranking and the vector ranking with reciprocal-rank fusion. Writes are DuckDB
transactions, so a crash mid-write leaves the previous state; the whole index can be rebuilt from the
warehouse at any time (it holds nothing the warehouse does not).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from feedback_ops.search.base import IndexDocument, SearchHit

FILTERABLE = ("channel", "product_area", "category", "sentiment_label", "urgency", "locale", "language")
RRF_K = 60


def load_fts(connection: Any) -> None:
    """Install DuckDB's full-text-search extension from the ``duckdb-extension-fts`` wheel (offline)."""
    import duckdb_extension_fts

    extension = next(Path(duckdb_extension_fts.__file__).parent.rglob("fts.duckdb_extension"))
    connection.execute(f"install '{extension}'")
    connection.execute("load fts")


class EmbeddedIndex:
    """A search index in one DuckDB file."""

    def __init__(self, path: Path, dimensions: int) -> None:
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dimensions = dimensions
        self.connection = duckdb.connect(str(path))
        load_fts(self.connection)
        filter_columns = ", ".join(f"{name} varchar" for name in FILTERABLE)
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
                vector float[{dimensions}]
            )
            """
        )
        self._fts_stale = False

    def _row(self, doc: IndexDocument) -> tuple[Any, ...]:
        meta = doc.metadata
        return (
            doc.unit_id,
            doc.feedback_id,
            doc.text,
            doc.content_hash,
            meta.get("created_at"),
            *(None if meta.get(name) is None else str(meta.get(name)) for name in FILTERABLE),
            json.dumps(meta, default=str, sort_keys=True),
            [float(x) for x in doc.vector],
        )

    def upsert(self, documents: Sequence[IndexDocument]) -> int:
        """Merge-or-upload: documents are inserted or replaced by ``unit_id``."""
        if not documents:
            return 0
        placeholders = ", ".join(["?"] * (6 + len(FILTERABLE)))
        with_cast = f"{placeholders}, ?::float[{self.dimensions}]"
        self.connection.execute("begin transaction")
        try:
            self.connection.executemany(
                f"insert or replace into documents values ({with_cast})", [self._row(d) for d in documents]
            )
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
        self._fts_stale = True
        return len(documents)

    def delete(self, unit_ids: Sequence[str]) -> int:
        if not unit_ids:
            return 0
        self.connection.execute("delete from documents where unit_id in (select unnest(?))", [list(unit_ids)])
        self._fts_stale = True
        return len(unit_ids)

    def count(self) -> int:
        return int(self.connection.execute("select count(*) from documents").fetchone()[0])

    def content_hashes(self) -> dict[str, str]:
        return dict(self.connection.execute("select unit_id, content_hash from documents").fetchall())

    def refresh(self) -> None:
        """Rebuild the BM25 index after writes (DuckDB's fts index is not updated incrementally)."""
        self.connection.execute("pragma create_fts_index('documents', 'unit_id', 'text', overwrite=1)")
        self._fts_stale = False

    def _where(self, filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for name, value in (filters or {}).items():
            if name == "created_after":
                clauses.append("created_at >= ?")
                params.append(value)
            elif name == "created_before":
                clauses.append("created_at < ?")
                params.append(value)
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
        if self._fts_stale or not self._has_fts():
            self.refresh()
        where, params = self._where(filters)
        depth = max(top * 5, 50)
        bm25 = self.connection.execute(
            f"""
            select unit_id, row_number() over (order by score desc) as rank from (
                select unit_id, fts_main_documents.match_bm25(unit_id, ?) as score from documents where {where}
            ) where score is not null order by score desc limit {depth}
            """,
            [text, *params],
        ).fetchall()
        ranks: dict[str, dict[str, int]] = {uid: {"bm25": rank} for uid, rank in bm25}
        if vector is not None:
            nearest = self.connection.execute(
                f"""
                select unit_id, row_number() over (order by sim desc) as rank from (
                    select unit_id, array_cosine_similarity(vector, ?::float[{self.dimensions}]) as sim
                    from documents where {where}
                ) order by sim desc limit {depth}
                """,
                [[float(x) for x in vector], *params],
            ).fetchall()
            for uid, rank in nearest:
                ranks.setdefault(uid, {})["vector"] = rank
        fused = sorted(
            ((sum(1.0 / (RRF_K + r) for r in found.values()), uid) for uid, found in ranks.items()),
            reverse=True,
        )[:top]
        return self._hits(fused, ranks)

    def _has_fts(self) -> bool:
        found = self.connection.execute(
            "select count(*) from information_schema.schemata where schema_name = 'fts_main_documents'"
        ).fetchone()[0]
        return bool(found)

    def _hits(self, fused: list[tuple[float, str]], ranks: dict[str, dict[str, int]]) -> list[SearchHit]:
        if not fused:
            return []
        rows = self.connection.execute(
            "select unit_id, feedback_id, text, metadata from documents where unit_id in (select unnest(?))",
            [[uid for _, uid in fused]],
        ).fetchall()
        by_id = {row[0]: row for row in rows}
        return [
            SearchHit(
                unit_id=uid,
                feedback_id=by_id[uid][1],
                text=by_id[uid][2],
                score=score,
                bm25_rank=ranks[uid].get("bm25"),
                vector_rank=ranks[uid].get("vector"),
                metadata=json.loads(by_id[uid][3] or "{}"),
            )
            for score, uid in fused
        ]

    def close(self) -> None:
        if self._fts_stale:
            self.refresh()
        self.connection.close()
