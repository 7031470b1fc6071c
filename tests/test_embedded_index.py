"""The embedded search index: merge-or-upload, delete, count, filters and hybrid (BM25 + vector) ranking."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_ops.search.base import IndexDocument
from feedback_ops.search.embedded import EmbeddedIndex

DIMENSIONS = 384


def unit_vector(*hot: int) -> list[float]:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[list(hot)] = 1.0
    return (vector / np.linalg.norm(vector)).tolist()


def doc(unit_id: str, text: str, vector: list[float], **metadata: str) -> IndexDocument:
    return IndexDocument(
        unit_id=unit_id,
        feedback_id=unit_id.split(":")[0],
        text=text,
        vector=vector,
        content_hash=f"h-{unit_id}-{len(text)}",
        metadata={"channel": "chat", "created_at": "2026-11-18T10:00:00", **metadata},
    )


@pytest.fixture
def index(tmp_path):
    idx = EmbeddedIndex(tmp_path / "index.duckdb", dimensions=DIMENSIONS)
    idx.upsert(
        [
            doc("a:0", "checkout payment failed with an error", unit_vector(0), category="bug"),
            doc("b:0", "card charged twice for one order", unit_vector(1), category="billing"),
            doc("c:0", "love the new dark mode", unit_vector(2), category="praise", channel="app_store"),
            doc(
                "d:0",
                "delivery arrived late again",
                unit_vector(3),
                category="delivery",
                created_at="2026-11-02T09:00:00",
            ),
        ]
    )
    yield idx
    idx.close()


def test_upsert_replaces_by_key_and_delete_removes(index):
    assert index.count() == 4
    index.upsert(
        [doc("a:0", "checkout payment failed with an error, still broken", unit_vector(0), category="bug")]
    )
    assert index.count() == 4
    assert index.content_hashes()["a:0"] == "h-a:0-51"
    index.delete(["d:0"])
    assert index.count() == 3 and "d:0" not in index.content_hashes()


def test_keyword_match_ranks_first_without_a_vector(index):
    hits = index.query("payment failed", vector=None, top=3)
    assert hits[0].unit_id == "a:0"
    assert hits[0].bm25_rank == 1 and hits[0].vector_rank is None


def test_vector_finds_a_match_with_no_shared_word(index):
    hits = index.query("zzz unmatched words", vector=unit_vector(1), top=2)
    assert hits[0].unit_id == "b:0"
    assert hits[0].bm25_rank is None and hits[0].vector_rank == 1


def test_hybrid_fuses_both_rankings(index):
    # BM25 prefers a:0 ("checkout"), the vector prefers b:0; a document in both lists beats one in a single list.
    hits = index.query("checkout charged", vector=unit_vector(1), top=4)
    both = [h for h in hits if h.bm25_rank and h.vector_rank]
    assert both and hits[0] in both


def test_filters_and_time_ranges(index):
    assert [h.unit_id for h in index.query("love", unit_vector(2), filters={"channel": "app_store"})] == [
        "c:0"
    ]
    recent = index.query("delivery late", unit_vector(3), filters={"created_after": "2026-11-10"})
    assert "d:0" not in {h.unit_id for h in recent}
    with pytest.raises(ValueError, match="unknown filter"):
        index.query("x", None, filters={"colour": "red"})


def test_index_survives_reopening(tmp_path):
    path = tmp_path / "index.duckdb"
    first = EmbeddedIndex(path, dimensions=DIMENSIONS)
    first.upsert([doc("a:0", "checkout payment failed", unit_vector(0))])
    first.close()
    again = EmbeddedIndex(path, dimensions=DIMENSIONS)
    assert again.count() == 1
    assert again.query("checkout", None)[0].unit_id == "a:0"
    again.close()
