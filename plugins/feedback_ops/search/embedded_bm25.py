"""BM25 for the embedded index, from postings kept incrementally in its DuckDB file.

DuckDB's fts ``match_bm25`` macro scans every term occurrence of the corpus per query, and its index can only
be rebuilt over every document. ``Bm25Postings.update`` tokenizes only the documents written since the last
update and drops the postings of removed or replaced ones (``bm25_terms``: term frequency per (term, unit);
``bm25_docs``: length per unit; ``bm25_dict``), with fts's own tokenizer macro and stopword list. A query loads
the postings once per generation, sorted by term, and computes its terms' BM25 weights with numpy from the
current document count, mean length and document frequencies (k1 = 1.2, b = 0.75, base-10 idf): the scores
equal those of the macro over an fts index built afresh.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from feedback_ops.search.embedded_store import DocumentStore, KeyMask

BM25_K1 = 1.2
BM25_B = 0.75
"""The fts extension's defaults (``match_bm25(..., k := 1.2, b := 0.75)``): the weights computed here agree."""


class Postings(NamedTuple):
    """The postings of one generation, sorted by term: the keys of term ``t`` are
    ``keys[offsets[t]:offsets[t + 1]]``."""

    offsets: np.ndarray
    keys: np.ndarray
    frequencies: np.ndarray
    length_by_key: np.ndarray
    documents: int
    mean_length: float


def bm25_weights(postings: Postings, termid: int) -> np.ndarray:
    """The BM25 weight of each posting of ``termid``, as the fts ``match_bm25`` macro computes it (k1 = 1.2,
    b = 0.75, base-10 idf over the current document count, mean length and the term's document frequency),
    rounded to float32."""
    start, end = postings.offsets[termid], postings.offsets[termid + 1]
    df = end - start
    tf = postings.frequencies[start:end]
    lengths = postings.length_by_key[postings.keys[start:end]]
    idf = math.log10((postings.documents - df + 0.5) / (df + 0.5) + 1)
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / postings.mean_length)
    weights = idf * tf * (BM25_K1 + 1) / (tf + norm)
    return weights.astype(np.float32)


class Bm25Postings:
    """The BM25 postings of a ``DocumentStore``: kept up to its documents, scored in memory."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._postings: Postings | None = None
        self._postings_generation = -1

    def is_current(self, generation: int) -> bool:
        """Whether the postings reflect ``generation`` (and their tables and fts's schema exist)."""
        return self.store.state("bm25_generation") == generation and self._has_tables()

    def _has_tables(self) -> bool:
        found = self.store.one(
            "select count(*) from information_schema.tables where table_schema = 'main' "
            "and table_name in ('bm25_dict', 'bm25_terms', 'bm25_docs')"
        )[0]
        return found == 3 and self.store.has_fts()

    def update(self, generation: int) -> None:
        """Bring the postings up to the documents table: drop those of removed (or replaced) documents, add
        those of new ones. Cost follows the change, not the index size.

        DuckDB's fts index cannot be updated, only rebuilt over every document (``create_fts_index``: ~1 s
        per 15k units on 2 cores, so every sync of a few new records would re-tokenize the whole history). It
        is built once per index file, for its tokenizer macro (``fts_main_documents.tokenize``) and stopword
        list, which the postings here use exactly as it does: tokens of the accent-stripped lower-cased text,
        minus stopwords and empty tokens, Porter-stemmed. Kept per document: the term frequencies
        (``bm25_terms``) and the length in terms (``bm25_docs``, zero-length documents included, as fts counts
        them); the BM25 weight itself depends on the document count, the mean length and each term's document
        frequency, which every write changes, so it is computed at query time from these (``postings``).
        """
        connection = self.store.connection
        if not self.store.has_fts():  # an index file filled before it had one: built once, over what it holds
            connection.execute("pragma create_fts_index('documents', 'unit_id', 'text', overwrite=1)")
        connection.execute("begin transaction")
        try:
            self._create_tables()
            self._drop_removed()
            self._add_new()
            connection.execute(
                "update index_state set value = ? where name = 'bm25_generation'", [generation]
            )
            connection.execute("commit")
        except Exception:
            connection.execute("rollback")
            raise
        self._postings = None

    def _create_tables(self) -> None:
        connection = self.store.connection
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

    def _drop_removed(self) -> None:
        """Delete the postings of documents no longer in the table (removed, or replaced under a new key)."""
        connection = self.store.connection
        gone = connection.execute(
            "select vector_key from bm25_docs anti join documents using (vector_key)"
        ).fetchnumpy()["vector_key"]
        if len(gone):
            keys = [int(key) for key in gone]
            connection.execute("delete from bm25_terms where vector_key in (select unnest(?))", [keys])
            connection.execute("delete from bm25_docs where vector_key in (select unnest(?))", [keys])

    def _add_new(self) -> None:
        """Tokenize the documents without postings and add their terms, frequencies and lengths."""
        connection = self.store.connection
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

    def postings(self, generation: int) -> Postings:
        """The postings, sorted by term, loaded once per generation."""
        if self._postings is None or self._postings_generation != generation:
            connection = self.store.connection
            columns = connection.execute(
                "select termid, vector_key, tf from bm25_terms order by termid, vector_key"
            ).fetchnumpy()
            docs = connection.execute("select vector_key, len from bm25_docs").fetchnumpy()
            termids = np.asarray(columns["termid"], dtype=np.int64)
            size = int(termids.max()) + 2 if len(termids) else 1
            offsets = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(np.bincount(termids, minlength=size), out=offsets[1:])
            doc_keys = np.asarray(docs["vector_key"], dtype=np.int64)
            doc_lengths = np.asarray(docs["len"], dtype=np.float64)
            length_by_key = np.zeros(int(doc_keys.max()) + 1 if len(doc_keys) else 1, dtype=np.float64)
            length_by_key[doc_keys] = doc_lengths
            self._postings = Postings(
                offsets,
                np.asarray(columns["vector_key"], dtype=np.int64),
                np.asarray(columns["tf"], dtype=np.float64),
                length_by_key,
                len(doc_keys),
                float(doc_lengths.mean()) if len(doc_lengths) else 0.0,
            )
            self._postings_generation = generation
        return self._postings

    def ranking(self, text: str, allowed: KeyMask | None, depth: int, generation: int) -> list[int]:
        """Keys of the best BM25 matches among the allowed keys (all when None), best first."""
        keys, scores = self.scores(text, allowed, generation)
        return keys[np.lexsort((keys, -scores))[:depth]].tolist()

    def scores(
        self, text: str, allowed: KeyMask | None, generation: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, scores)`` of every allowed unit matching a term of ``text``: the fts macro's BM25 score,
        summed from the postings of the query's (stemmed, stopword-free, distinct) terms."""
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if not text.strip() or (allowed is not None and not allowed[1]):
            return nothing
        termids = self.store.connection.execute(
            "select termid from bm25_dict where term in "
            "(select stem(unnest(fts_main_documents.tokenize(?)), 'porter'))",
            [text],
        ).fetchnumpy()["termid"]
        postings = self.postings(self.store.generation if generation is None else generation)
        offsets, keys = postings.offsets, postings.keys
        found = [
            int(t) for t in termids if int(t) + 1 < len(offsets) and offsets[int(t) + 1] > offsets[int(t)]
        ]
        if not found:
            return nothing
        found_keys = np.concatenate([keys[offsets[t] : offsets[t + 1]] for t in found])
        found_weights = np.concatenate([bm25_weights(postings, t) for t in found])
        if allowed is not None:
            keep = allowed[0][found_keys]
            found_keys, found_weights = found_keys[keep], found_weights[keep]
        if len(found_keys) * 8 < len(keys):  # few postings: sort them
            unique, inverse = np.unique(found_keys, return_inverse=True)
            return unique, np.bincount(inverse, weights=found_weights, minlength=len(unique))
        scores = np.bincount(found_keys, weights=found_weights)  # many: sum straight into a key-indexed array
        unique = np.flatnonzero(scores)
        return unique, scores[unique]
