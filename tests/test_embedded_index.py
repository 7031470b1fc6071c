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


# -- at scale: bulk writes, BM25 postings, the IVF sidecar ---------------------------------------------------

WORDS = (
    "card payment refund delivery late app crash login password account fee charge order chat agent slow "
    "screen update transfer balance statement dispute fraud branch loan interest mortgage"
).split()


def clustered_documents(count: int, seed: int = 3) -> tuple[list[IndexDocument], np.ndarray]:
    """``count`` documents with vectors around 40 topics (as real embeddings cluster), texts and channels."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((40, DIMENSIONS)).astype(np.float32)
    topic = rng.integers(0, 40, count)
    vectors = topics[topic] + 0.8 * rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    documents = [
        doc(
            f"f{i}:0",
            " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))),
            vectors[i].tolist(),
            channel=("chat", "review", "support_ticket")[i % 3],
            category=f"topic-{topic[i] % 7}",
            created_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00",
        )
        for i in range(count)
    ]
    return documents, vectors


def exact_top(vectors: np.ndarray, query: np.ndarray, keep: np.ndarray, k: int = 10) -> list[str]:
    rows = np.flatnonzero(keep)
    order = rows[np.argsort(-(vectors[rows] @ query), kind="stable")[:k]]
    return [f"f{i}:0" for i in order]


def vector_top(index: EmbeddedIndex, query: np.ndarray, filters=None) -> list[str]:
    return [h.unit_id for h in index.query("", query.tolist(), top=10, filters=filters)]


@pytest.fixture(scope="module")
def corpus():
    return clustered_documents(3000)


@pytest.fixture
def ivf_index(tmp_path, corpus):
    """The clustered corpus in an index searching vectors through the IVF sidecar, probing only some lists."""
    idx = EmbeddedIndex(tmp_path / "ivf.duckdb", dimensions=DIMENSIONS, small_index_rows=0, exact_scan_rows=0)
    documents, _ = corpus
    for start in range(0, len(documents), 1000):
        idx.upsert(documents[start : start + 1000])
    idx.refresh()
    yield idx
    idx.close()


def test_ivf_ranking_equals_exact_search_when_every_list_is_probed(tmp_path):
    documents, vectors = clustered_documents(300)
    index = EmbeddedIndex(tmp_path / "small.duckdb", dimensions=DIMENSIONS, small_index_rows=0)
    index.upsert(documents)
    everything = np.ones(len(documents), dtype=bool)
    for row in (0, 17, 123, 299):
        # 300 units make 7 lists, all probed: the IVF's ranking is the exact one.
        assert vector_top(index, vectors[row]) == exact_top(vectors, vectors[row], everything)
    assert index.sidecar_path.exists()
    index.close()


def test_ivf_recall_and_filters_on_a_larger_set(ivf_index, corpus):
    documents, vectors = corpus
    channels = np.array([d.metadata["channel"] for d in documents])
    categories = np.array([d.metadata["category"] for d in documents])
    recalls = []
    rng = np.random.default_rng(11)
    for row in rng.integers(0, len(documents), 20):
        query = vectors[row] + 0.3 * rng.standard_normal(DIMENSIONS).astype(np.float32)
        query /= np.linalg.norm(query)
        cases = [
            (None, np.ones(len(documents), dtype=bool)),
            ({"channel": "review"}, channels == "review"),
            (
                {"channel": "chat", "category": ["topic-1", "topic-2"]},
                (channels == "chat") & np.isin(categories, ["topic-1", "topic-2"]),
            ),
        ]
        for filters, keep in cases:
            found = vector_top(ivf_index, query, filters)
            expected = exact_top(vectors, query, keep)
            assert all(keep[int(uid[1:].split(":")[0])] for uid in found), f"filter {filters} not honoured"
            assert len(found) == len(expected)
            recalls.append(len(set(found) & set(expected)) / len(expected))
    assert np.mean(recalls) >= 0.95


def fts_macro_scores(index: EmbeddedIndex, text: str) -> dict[int, float]:
    """BM25 scores of DuckDB's fts ``match_bm25`` macro over an fts index built afresh on every document."""
    index.connection.execute("pragma create_fts_index('documents', 'unit_id', 'text', overwrite=1)")
    return dict(
        index.connection.execute(
            "select vector_key, fts_main_documents.match_bm25(unit_id, ?) as score from documents "
            "where score is not null",
            [text],
        ).fetchall()
    )


def test_bm25_postings_score_exactly_like_the_fts_macro(ivf_index):
    text = "refund for a late delivery, the card payment failed"
    keys, scores = ivf_index._bm25_scores(text, None)
    macro = fts_macro_scores(ivf_index, text)
    assert len(macro) > 100 and set(keys.tolist()) == set(macro)
    assert np.allclose(scores, [macro[k] for k in keys.tolist()], rtol=1e-5)
    hits = ivf_index.query(text, None, top=5, filters={"channel": "chat"})
    assert len(hits) == 5 and all(h.metadata["channel"] == "chat" and h.bm25_rank for h in hits)


def test_incremental_bm25_postings_equal_a_full_rebuild_after_inserts_replacements_and_deletes(tmp_path):
    """Each refresh only tokenizes what was written since the last one; the scores stay those of an fts index
    built over the whole table (document count, mean length and document frequencies all move)."""
    texts = [
        "Refund for a late delivery, the card payment failed",
        "The app crashes when I open my card settings",
        "Delivery was late again and nobody answers",
        "the of and",  # only stopwords: a document of length zero, counted in the mean length as fts does
        "Café payments: the refund never arrived; 3 days late!",
        "Great service, quick refund",
    ]
    index = EmbeddedIndex(tmp_path / "bm25.duckdb", dimensions=DIMENSIONS)
    vector = unit_vector(1)
    index.upsert([doc(f"u{i}:0", text, vector) for i, text in enumerate(texts[:3])])
    index.refresh()
    index.upsert([doc(f"u{i}:0", text, vector) for i, text in enumerate(texts[3:], start=3)])
    index.upsert([doc("u1:0", "The card payment app crashes on refund", vector)])  # replaced: new terms
    index.delete(["u2:0"])
    index.refresh()
    assert index.connection.execute("select count(*) from bm25_docs").fetchone()[0] == index.count() == 5
    for query in ("refund late delivery", "card payment", "cafe crashes", "answers", "the"):
        keys, scores = index._bm25_scores(query, None)
        macro = fts_macro_scores(index, query)
        assert set(keys.tolist()) == set(macro), query
        assert np.allclose(scores, [macro[k] for k in keys.tolist()], rtol=1e-5), query
    assert [h.unit_id for h in index.query("crashes", None)] == ["u1:0"]  # the replaced text is found
    assert not index.query("answers", None)  # the deleted document's only term is gone
    index.close()


def test_sidecar_is_rebuilt_when_deleted_corrupted_or_stale(tmp_path, corpus):
    documents, vectors = corpus
    path = tmp_path / "index.duckdb"
    first = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0)
    first.upsert(documents[:1000])
    expected = vector_top(first, vectors[5])
    first.close()
    sidecar = first.sidecar_path

    sidecar.unlink()
    again = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0)
    assert vector_top(again, vectors[5]) == expected and sidecar.exists()
    again.close()

    sidecar.write_bytes(b"not an index" * 100)
    again = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0)
    assert vector_top(again, vectors[5]) == expected
    again.close()

    # A crash after a committed write, before the sidecar was saved: the sidecar is older than the table.
    crashed = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0)
    crashed.upsert([doc("new:0", "a brand new unit", vectors[5].tolist())])
    crashed.connection.close()
    again = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0)
    assert vector_top(again, vectors[5])[0] in {"new:0", "f5:0"}
    assert "new:0" in vector_top(again, vectors[5])[:2]
    assert again.query("brand", None)[0].unit_id == "new:0"
    again.close()


def test_writes_keep_the_loaded_ivf_in_step(ivf_index, corpus):
    documents, vectors = corpus
    assert vector_top(ivf_index, vectors[42])[0] == "f42:0"
    moved = IndexDocument("f42:0", "f42", "moved", vectors[7].tolist(), "h-moved", {"channel": "chat"})
    ivf_index.upsert([moved])
    assert ivf_index.count() == len(documents)
    assert vector_top(ivf_index, vectors[42])[0] != "f42:0"
    assert "f42:0" in vector_top(ivf_index, vectors[7])[:2]
    ivf_index.delete(["f7:0", "f42:0"])
    assert not {"f7:0", "f42:0"} & set(vector_top(ivf_index, vectors[7]))


def test_a_small_write_leaves_the_sidecar_alone_and_readers_catch_up(tmp_path, corpus):
    documents, vectors = corpus
    path = tmp_path / "index.duckdb"
    writer = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0, exact_scan_rows=10_000)
    writer.upsert(documents[:2000])
    writer.refresh()  # no sidecar yet: built and saved
    sidecar_bytes = writer.sidecar_path.read_bytes()
    manifest = writer._manifest_path().read_text()

    # a sync's worth of writes (under IVF_COMPACT_SHARE of the index): a new unit, a moved one, a deleted one
    writer.upsert([doc("new:0", "a brand new unit", vectors[2500].tolist())])
    writer.upsert(
        [IndexDocument("f42:0", "f42", "moved", vectors[7].tolist(), "h-moved", {"channel": "chat"})]
    )
    writer.delete(["f5:0"])
    writer.close()
    assert (
        writer.sidecar_path.read_bytes() == sidecar_bytes and writer._manifest_path().read_text() == manifest
    )

    # a reader loads the older sidecar and applies the logged removals and the new keys: every list is probed
    # (exact_scan_rows), so its ranking is the exact one over the table as it now is
    reader = EmbeddedIndex(path, dimensions=DIMENSIONS, small_index_rows=0, exact_scan_rows=10_000)
    current = np.vstack([vectors[:2000], vectors[2500:2501]])
    current[42] = vectors[7]
    keep = np.ones(len(current), dtype=bool)
    keep[5] = False
    names = {i: f"f{i}:0" for i in range(2000)} | {2000: "new:0"}
    for row in (2500, 7, 42, 5):
        query = vectors[row]
        expected = [
            names[i] for i in np.flatnonzero(keep)[np.argsort(-(current[keep] @ query), kind="stable")[:10]]
        ]
        found = vector_top(reader, query)
        if row == 7:  # f7:0 and the moved f42:0 share a vector: either may come first
            assert set(found[:2]) == set(expected[:2]) == {"f7:0", "f42:0"}
            found, expected = found[2:], expected[2:]
        assert found == expected
    assert vector_top(reader, vectors[2500])[0] == "new:0" and "f5:0" not in vector_top(reader, vectors[5])
    assert reader._ivf.ntotal == reader.count() == 2000
    reader.close()


def test_the_sidecar_is_rewritten_and_the_log_trimmed_once_it_misses_enough(tmp_path, corpus):
    documents, vectors = corpus
    index = EmbeddedIndex(tmp_path / "index.duckdb", dimensions=DIMENSIONS, small_index_rows=0)
    index.upsert(documents[:1000])
    index.refresh()
    index.delete([d.unit_id for d in documents[:50]])  # 5 % of the index: logged, sidecar kept
    index.refresh()
    assert index.connection.execute("select count(*) from ivf_removed").fetchone()[0] == 50
    assert index._sidecar_behind() == 50
    index.upsert(documents[1000:1100])  # 150 behind of 1,050 documents: past 10 %, rewritten
    index.refresh()
    assert index._sidecar_behind() == 0
    assert index.connection.execute("select count(*) from ivf_removed").fetchone()[0] == 0
    manifest = index._manifest()
    assert (manifest["generation"], manifest["count"]) == (index.generation, 1050)
    index.close()
    again = EmbeddedIndex(tmp_path / "index.duckdb", dimensions=DIMENSIONS, small_index_rows=0)
    assert vector_top(again, vectors[1050])[0] == "f1050:0" and "f10:0" not in vector_top(again, vectors[10])
    again.close()


def test_bulk_upsert_keeps_the_last_of_a_repeated_id_and_rejects_bad_vectors(index):
    index.upsert([doc("e:0", "walrus", unit_vector(5)), doc("e:0", "zebra", unit_vector(6))])
    assert index.query("zebra", None)[0].unit_id == "e:0" and not index.query("walrus", None)
    assert index.count() == 5
    with pytest.raises(ValueError, match="384 dimensions"):
        index.upsert([doc("f:0", "short vector", [1.0, 0.0])])
    assert index.count() == 5 and "f:0" not in index.content_hashes()
