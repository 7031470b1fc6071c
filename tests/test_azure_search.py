"""The Azure AI Search index adapter against a loopback fake of the Azure AI Search REST API.

``tests/fakes/azure_search_server.py`` serves, on 127.0.0.1, the routes ``azure-search-documents`` calls:
index get / create-or-update, ``docs/search.index`` (per-document status, 207 on partial failure),
``docs/search.post.search`` (BM25, exact vector search, reciprocal-rank fusion, an OData filter subset) and
``docs/$count``. Faults (HTTP 503 / 429, per-document failures) are scripted per test; backoff is short.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError

from fakes.azure_search_server import DocumentFault, FakeAzureSearch, HttpFault
from feedback_ops.config import AzureSearchSettings, Settings
from feedback_ops.search import azure_search
from feedback_ops.search.azure_search import AzureSearchIndex, IndexingFailed, document_key, odata_filter
from feedback_ops.search.base import IndexDocument
from feedback_ops.search.factory import make_search_index

DIMENSIONS = 8
INDEX = "test-units"
ROWS = [
    # unit_id, text, hot coordinate of the vector, channel, category, created_at
    (
        "a:0",
        "I was charged twice for my order and want a refund",
        0,
        "support_ticket",
        "billing",
        "2024-05-01T09:00:00",
    ),
    ("b:0", "The app crashes whenever I open the camera", 1, "app_store", "bug", "2024-05-02T09:00:00"),
    (
        "c:0",
        "Delivery was three days late and the parcel was damaged",
        2,
        "review",
        "delivery",
        "2024-05-03T09:00:00",
    ),
    (
        "d:0",
        "Refund still not processed after two weeks",
        3,
        "support_ticket",
        "billing",
        "2024-05-04T09:00:00",
    ),
    ("e:0", "Love the new dark mode", 4, "app_store", "praise", "2024-05-05T09:00:00"),
]


def vector(hot: int, other: int | None = None) -> list[float]:
    values = [0.0] * DIMENSIONS
    values[hot] = 1.0
    if other is not None:
        values[other] = 0.5
    return values


def documents(version: str = "1") -> list[IndexDocument]:
    """Documents shaped like ``search.sync._document`` makes them (metadata included)."""
    return [
        IndexDocument(
            unit_id=unit_id,
            feedback_id=unit_id.split(":")[0],
            text=text,
            vector=vector(hot),
            content_hash=f"h-{unit_id}-{version}",
            metadata={
                "created_at": created_at,
                "channel": channel,
                "category": category,
                "sentiment_label": "negative",
                "urgency": "medium",
                "locale": None,
                "language": "en",
                "product_area": "app",
                "sentiment_score": -0.5,
                "enrichment_version": "enr-1",
                "embedding_version": "emb-1",
            },
        )
        for unit_id, text, hot, channel, category, created_at in ROWS
    ]


def search_settings(fake: FakeAzureSearch, **overrides: object) -> AzureSearchSettings:
    options: dict[str, object] = {
        "endpoint": fake.endpoint,
        "api_key": fake.api_key,
        "index_name": INDEX,
        "upload_batch_size": 2,
        "max_attempts": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "visibility_timeout_s": 1.0,
        **overrides,
    }
    return AzureSearchSettings(**options)


@pytest.fixture
def fake() -> Iterator[FakeAzureSearch]:
    with FakeAzureSearch() as server:
        yield server


@pytest.fixture
def index(fake: FakeAzureSearch) -> Iterator[AzureSearchIndex]:
    idx = AzureSearchIndex(search_settings(fake), DIMENSIONS)
    yield idx
    idx.close()


def test_index_schema_is_created_then_updated(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    definition = fake.indexes[INDEX]
    fields = {f["name"]: f for f in definition["fields"]}
    assert [name for name, f in fields.items() if f.get("key")] == ["key"]
    assert (
        fields["vector"]["type"] == "Collection(Edm.Single)" and fields["vector"]["dimensions"] == DIMENSIONS
    )
    assert fields["vector"]["retrievable"] is False and fields["text"]["searchable"] is True
    profile = definition["vectorSearch"]["profiles"][0]
    assert fields["vector"]["vectorSearchProfile"] == profile["name"]
    (algorithm,) = definition["vectorSearch"]["algorithms"]
    assert algorithm["kind"] == "hnsw" and algorithm["hnswParameters"]["metric"] == "cosine"
    assert definition["semantic"]["configurations"][0]["prioritizedFields"]["prioritizedContentFields"] == [
        {"fieldName": "text"}
    ]
    for name in ("channel", "product_area", "category", "sentiment_label", "urgency", "locale", "language"):
        assert fields[name]["filterable"] and fields[name]["facetable"], name
    for name in ("feedback_id", "unit_id", "content_hash", "embedding_version"):
        assert fields[name]["filterable"], name
    assert fields["created_at"]["type"] == "Edm.DateTimeOffset" and fields["created_at"]["filterable"]
    (put,) = fake.requests_to("put_index")
    assert put.path == f"/indexes('{INDEX}')" and put.query["api-version"] == ["2026-04-01"]

    AzureSearchIndex(search_settings(fake), DIMENSIONS).close()  # same schema again: an update, not an error
    assert len(fake.requests_to("put_index")) == 2
    with pytest.raises(ValueError, match="holds 8-dimensional vectors and the embedder makes 16"):
        AzureSearchIndex(search_settings(fake), 16)


def test_round_trip_upsert_query_delete(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    docs = documents()
    assert index.upsert(docs) == 5
    # batches of two: three indexing requests of mergeOrUpload actions with base64 keys
    writes = fake.requests_to("index")
    assert [len(r.json["value"]) for r in writes] == [2, 2, 1]
    assert {a["@search.action"] for r in writes for a in r.json["value"]} == {"mergeOrUpload"}
    stored = fake.stored(INDEX)
    assert stored[document_key("a:0")]["unit_id"] == "a:0"
    assert stored[document_key("a:0")]["created_at"] == "2024-05-01T09:00:00.000Z"
    assert stored[document_key("a:0")]["embedding_version"] == "emb-1"

    index.refresh()
    assert index.count() == 5
    assert index.content_hashes() == {d.unit_id: d.content_hash for d in docs}

    text_hits = index.query("refund", None, top=3)
    assert {h.unit_id for h in text_hits} == {"a:0", "d:0"}
    vector_hits = index.query("", vector(2, other=4), top=2)
    assert [h.unit_id for h in vector_hits] == ["c:0", "e:0"]
    hybrid = index.query("refund", vector(3), top=3)
    assert hybrid[0].unit_id == "d:0"  # first in both rankings
    assert hybrid[0].feedback_id == "d" and hybrid[0].text == ROWS[3][1]
    assert hybrid[0].metadata == docs[3].metadata
    assert hybrid[0].score > hybrid[1].score

    changed = dataclasses.replace(docs[0], content_hash="h-a:0-2", text="Charged twice, still no refund")
    index.upsert([changed])
    assert index.content_hashes()["a:0"] == "h-a:0-2" and index.count() == 5

    assert index.delete(["b:0", "e:0"]) == 2
    deletes = fake.requests_to("index")[-1].json["value"]
    assert deletes == [
        {"@search.action": "delete", "key": document_key("b:0")},
        {"@search.action": "delete", "key": document_key("e:0")},
    ]
    index.refresh()
    assert index.count() == 3 and set(index.content_hashes()) == {"a:0", "c:0", "d:0"}
    searches = len(fake.requests_to("search"))
    assert index.query("  ", None) == []  # nothing to search for: no request
    assert len(fake.requests_to("search")) == searches


def test_filters_and_time_ranges_are_honoured(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    index.upsert(documents())
    everything = vector(0)

    billing = index.query("", everything, top=10, filters={"category": "billing"})
    assert {h.unit_id for h in billing} == {"a:0", "d:0"}
    window = index.query(
        "",
        everything,
        top=10,
        filters={"created_after": "2024-05-02T09:00:00", "created_before": "2024-05-04T09:00:00"},
    )
    assert {h.unit_id for h in window} == {"b:0", "c:0"}  # after: inclusive, before: exclusive
    combined = index.query(
        "refund", everything, top=10, filters={"channel": "support_ticket", "created_after": "2024-05-03"}
    )
    assert [h.unit_id for h in combined] == ["d:0"]
    several = index.query("", everything, top=10, filters={"channel": ["review", "app_store"]})
    assert {h.unit_id for h in several} == {"b:0", "c:0", "e:0"}
    by_parent = index.query("", everything, top=10, filters={"feedback_id": "c"})
    assert [h.unit_id for h in by_parent] == ["c:0"]

    sent = [r.json.get("filter") for r in fake.requests_to("search")]
    assert "created_at ge 2024-05-02T09:00:00.000Z and created_at lt 2024-05-04T09:00:00.000Z" in sent
    assert "search.in(channel, 'app_store|review', '|')" in sent

    searches = len(fake.requests_to("search"))
    with pytest.raises(ValueError, match="unknown filter 'colour'"):
        index.query("refund", None, filters={"colour": "red"})
    assert len(fake.requests_to("search")) == searches  # refused before any request


def test_quotes_in_filter_values_are_escaped(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    doc = dataclasses.replace(
        documents()[0], metadata={**documents()[0].metadata, "product_area": "o'brien's app"}
    )
    index.upsert([doc])
    assert odata_filter({"product_area": "o'brien's app"}) == "product_area eq 'o''brien''s app'"
    assert [h.unit_id for h in index.query("refund", None, filters={"product_area": "o'brien's app"})] == [
        "a:0"
    ]
    assert index.query("refund", None, filters={"product_area": "o'brien"}) == []


def test_newest_time_and_facet_values_for_ask(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    assert index.newest_created_at() is None
    index.upsert(documents())
    assert index.newest_created_at() == datetime(2024, 5, 5, 9, 0)  # naive UTC, like the embedded index
    facets = index.facet_values(("category", "channel"))
    assert facets["category"] == ["billing", "bug", "delivery", "praise"]  # most frequent first, then by name
    assert facets["channel"] == ["app_store", "support_ticket", "review"]
    sent = fake.requests_to("search")[-1].json
    assert sent["facets"] == ["category,count:1000", "channel,count:1000"] and sent["top"] == 0
    with pytest.raises(ValueError, match="'text' is not filterable"):
        index.facet_values(("text",))


def test_refresh_waits_until_writes_are_searchable(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    fake.visibility_lag_s = 1.0
    index.upsert(documents())
    index.refresh()
    assert index.count() == 5
    polls = [r for r in fake.requests_to("search") if "search.in(key" in (r.json.get("filter") or "")]
    assert len(polls) >= 2 and polls[-1].json["select"] == "key,content_hash"


def test_failed_documents_are_retried_then_succeed(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    fake.fail_documents(DocumentFault("b:0", status=503, times=2))
    assert index.upsert(documents()) == 5
    writes = fake.requests_to("index")
    # first batch [a, b]; b failed twice (207), resent alone each time; then [c, d], [e]
    assert [[a["unit_id"] for a in r.json["value"]] for r in writes] == [
        ["a:0", "b:0"],
        ["b:0"],
        ["b:0"],
        ["c:0", "d:0"],
        ["e:0"],
    ]
    assert len(fake.stored(INDEX)) == 5


def test_persistent_failures_raise_naming_the_keys(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    fake.fail_documents(
        DocumentFault("c:0", status=503, times=100),
        DocumentFault("e:0", status=400, message="field value too large", times=100),
    )
    with pytest.raises(
        IndexingFailed,
        match=r"2 documents: c:0 \(503: injected: service busy\), e:0 \(400: field value too large\)",
    ) as failed:
        index.upsert(documents())
    assert set(failed.value.failures) == {"c:0", "e:0"}
    sent = [a["unit_id"] for r in fake.requests_to("index") for a in r.json["value"]]
    assert sent.count("c:0") == 3  # max_attempts
    assert sent.count("e:0") == 1  # 400: no retry can fix it
    assert set(index.content_hashes()) == {"a:0", "b:0", "d:0"}  # the rest was written


def test_http_503_and_429_are_retried(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    fake.inject(HttpFault("index", status=503, times=2))
    assert index.upsert(documents()[:2]) == 2
    assert len(fake.requests_to("index")) == 3  # two 503s, then the batch
    assert len(fake.stored(INDEX)) == 2

    fake.inject(HttpFault("search", status=429, headers={"retry-after-ms": "200"}))
    hits = index.query("refund", None)
    assert [h.unit_id for h in hits] == ["a:0"]
    refused, retried = fake.requests_to("search")[-2:]
    assert retried.received_at - refused.received_at >= 0.2

    fake.inject(HttpFault("count", status=503, times=10))
    with pytest.raises(HttpResponseError) as error:
        index.count()
    assert error.value.status_code == 503
    assert len(fake.requests_to("count")) == 3  # max_attempts, then the error


def test_content_hashes_pages_through_the_whole_index(
    fake: FakeAzureSearch, index: AzureSearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_search, "PAGE_SIZE", 2)
    docs = documents()
    index.upsert(docs)
    assert index.content_hashes() == {d.unit_id: d.content_hash for d in docs}
    pages = [r.json for r in fake.requests_to("search") if r.json.get("orderby") == "key asc"]
    assert len(pages) == 3 and "filter" not in pages[0] and pages[1]["filter"].startswith("key gt '")


def test_bad_input_and_settings_give_clear_errors(fake: FakeAzureSearch, index: AzureSearchIndex) -> None:
    short = dataclasses.replace(documents()[0], vector=[1.0, 0.0])
    with pytest.raises(ValueError, match="'a:0' has a 2-dimensional vector, the index takes 8"):
        index.upsert([short])
    assert fake.requests_to("index") == []
    with pytest.raises(ValueError, match="query vector has 2 dimensions"):
        index.query("refund", [1.0, 0.0])
    with pytest.raises(ValueError, match="AZURE_SEARCH_ENDPOINT and AZURE_SEARCH_API_KEY"):
        AzureSearchIndex(AzureSearchSettings(), DIMENSIONS)
    with pytest.raises(HttpResponseError) as error:
        AzureSearchIndex(search_settings(fake, api_key="wrong"), DIMENSIONS)
    assert error.value.status_code == 403


def test_factory_picks_the_configured_backend(fake: FakeAzureSearch, tmp_path: Path) -> None:
    from feedback_ops.search.embedded import EmbeddedIndex, active_index_path

    local = Settings(index_dir=tmp_path / "index")
    embedded = make_search_index(local, DIMENSIONS)
    assert isinstance(embedded, EmbeddedIndex) and embedded.path == active_index_path(tmp_path / "index")
    embedded.close()

    cloud = dataclasses.replace(local, search_backend="azure_ai_search", azure_search=search_settings(fake))
    remote = make_search_index(cloud, DIMENSIONS)
    assert isinstance(remote, AzureSearchIndex) and INDEX in fake.indexes
    remote.close()
    with pytest.raises(ValueError, match="unknown search backend 'elastic'"):
        make_search_index(dataclasses.replace(local, search_backend="elastic"), DIMENSIONS)
