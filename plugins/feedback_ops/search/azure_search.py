"""``AzureSearchIndex``: the ``SearchIndex`` protocol on Azure AI Search, through ``azure-search-documents``.

The cloud twin of ``search.embedded.EmbeddedIndex``: same methods, same filters, same hits, so the sync
(``search.sync``) and ``ask`` work on either. What differs, and why:

- **Keys.** Azure document keys may hold only letters, digits, ``_``, ``-`` and ``=``; unit ids contain ``:``
  (``<feedback_id>:0``). The key is the URL-safe base64 of the unit id (``document_key``), and ``unit_id`` is
  stored beside it, so nothing about the id is lost and the mapping needs no table.
- **Schema** (``index_definition``): ``text`` searchable (BM25), ``vector`` (HNSW, cosine, the embedder's
  dimensions, not retrievable: hits never carry vectors back), the embedded index's filterable metadata as
  filterable / facetable fields plus ``created_at`` (``Edm.DateTimeOffset``), ``feedback_id``, ``unit_id``,
  ``content_hash``, ``embedding_version`` and ``enrichment_version``; ``metadata`` keeps the whole metadata
  as JSON so hits return exactly what the embedded index returns; a semantic configuration over ``text`` for
  callers that want the semantic ranker. The index is created or updated on construction; an existing index
  whose vector length differs is refused with a clear error (Azure cannot change a vector field in place).
- **Writes** go in batches of ``upload_batch_size`` (``mergeOrUpload`` / ``delete`` actions). The service
  answers 207 when some documents fail: every ``IndexingResult`` is checked, failed documents whose status a
  retry can fix (409, 422, 429, 5xx) are sent again with exponential backoff, and whatever still fails ends
  in ``IndexingFailed`` naming the unit ids, after every other batch was written.
- **Transient HTTP errors**: the SDK's retry policy retries 408 / 5xx (``Retry-After`` honoured) up to
  ``max_attempts``; it does not retry a POST answered 429, so requests here are wrapped in a loop that does.
- **Hybrid query**: one request with the text (BM25) and a vector query over ``vector``; the service fuses
  both rankings with reciprocal-rank fusion, like the embedded index does locally. The service does not report
  the rank of each side, so ``SearchHit.bm25_rank`` / ``vector_rank`` are None and ``score`` is the fused
  ``@search.score``.
- **Near real time**: a write becomes searchable a moment after the service acknowledges it. ``refresh``
  waits (up to ``visibility_timeout_s``) until the last written documents read back as written, so the
  count check after a sync compares settled numbers.

Credentials are an admin key (``AzureKeyCredential``) from ``AzureSearchSettings`` (environment only).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar

from feedback_ops.config import AzureSearchSettings
from feedback_ops.search.base import IndexDocument, SearchHit
from feedback_ops.search.embedded import FILTERABLE
from feedback_ops.throttle import backoff_delay, retry_after_seconds

log = logging.getLogger(__name__)

T = TypeVar("T")

KEY_FIELD = "key"
VECTOR_FIELD = "vector"
ALGORITHM_NAME = "feedback-hnsw"
VECTOR_PROFILE = "feedback-vector-profile"
SEMANTIC_CONFIGURATION = "feedback-semantic"
TIME_FILTERS = {"created_after": "ge", "created_before": "lt"}
"""The embedded index's time-range filters and their OData operators (after: inclusive; before: exclusive)."""
PAGE_SIZE = 1000
"""Documents per page when listing the whole index (the service's largest page)."""
RETRYABLE_DOCUMENT_STATUS = frozenset({409, 422, 429, 500, 502, 503, 504})
"""Per-document statuses a retry can fix (conflicting concurrent writes, throttling, a busy replica)."""
FACET_VALUES = 1000
"""Distinct values asked per facet (the service returns the most frequent ones)."""
VISIBILITY_SAMPLE = 50
"""Recently written documents ``refresh`` checks for."""
SELECTED = ["unit_id", "feedback_id", "text", "metadata"]
METADATA_FIELDS = tuple(name for name in FILTERABLE if name not in ("feedback_id", "unit_id"))
"""The embedded index's filterable metadata besides the ids (which are fields of their own here)."""


class IndexingFailed(RuntimeError):
    """Documents the service would not write after every retry; ``failures`` maps unit id -> reason."""

    def __init__(self, action: str, failures: dict[str, str]) -> None:
        self.failures = dict(sorted(failures.items()))
        shown = ", ".join(f"{unit_id} ({reason})" for unit_id, reason in list(self.failures.items())[:20])
        more = f" and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"Azure AI Search {action} failed for {len(failures)} documents: {shown}{more}")


def document_key(unit_id: str) -> str:
    """The Azure document key of a unit id: URL-safe base64 (letters, digits, ``-``, ``_``, ``=`` only)."""
    return base64.urlsafe_b64encode(unit_id.encode("utf-8")).decode("ascii")


def odata_string(value: Any) -> str:
    """An OData string literal: single-quoted, quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def odata_datetime(value: Any) -> str:
    """An ``Edm.DateTimeOffset`` value in UTC (``2024-05-01T10:00:00.000Z``) from a datetime, a date or an
    ISO-8601 string; naive times are taken as UTC, as the warehouse stores them.

    Raises:
        ValueError: the value is not a time.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as error:
            raise ValueError(f"not an ISO-8601 time: {value!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def odata_filter(filters: dict[str, Any] | None) -> str | None:
    """The OData ``$filter`` of the embedded index's filters (``EmbeddedIndex._where``): equality on the
    ``FILTERABLE`` fields (a list / tuple / set of values becomes ``search.in``), ``created_after`` (>=) and
    ``created_before`` (<) on ``created_at``; None when there is nothing to filter.

    Raises:
        ValueError: an unknown filter name, or a time that is not one.
    """
    clauses = []
    for name, value in (filters or {}).items():
        if name in TIME_FILTERS:
            clauses.append(f"created_at {TIME_FILTERS[name]} {odata_datetime(value)}")
        elif name in FILTERABLE and isinstance(value, list | tuple | set | frozenset):
            values = sorted(str(v) for v in value)
            if any("|" in v for v in values):
                raise ValueError(f"filter {name!r}: values may not contain '|'")
            clauses.append(f"search.in({name}, {odata_string('|'.join(values))}, '|')")
        elif name in FILTERABLE:
            clauses.append(f"{name} eq {odata_string(value)}")
        else:
            raise ValueError(f"unknown filter {name!r}; filterable: {FILTERABLE + tuple(TIME_FILTERS)}")
    return " and ".join(clauses) or None


def index_definition(name: str, dimensions: int) -> Any:
    """The index schema (a ``SearchIndex`` model): see the module docstring."""
    from azure.search.documents.indexes.models import (
        HnswAlgorithmConfiguration,
        HnswParameters,
        SearchableField,
        SearchField,
        SearchFieldDataType,
        SearchIndex,
        SemanticConfiguration,
        SemanticField,
        SemanticPrioritizedFields,
        SemanticSearch,
        SimpleField,
        VectorSearch,
        VectorSearchProfile,
    )

    string = SearchFieldDataType.STRING
    facet = {"filterable": True, "facetable": True}
    fields = [
        SimpleField(name=KEY_FIELD, type=string, key=True, filterable=True, sortable=True),
        SimpleField(name="unit_id", type=string, filterable=True, sortable=True),
        SimpleField(name="feedback_id", type=string, **facet),
        SearchableField(name="text", analyzer_name="standard.lucene"),
        SearchField(
            name=VECTOR_FIELD,
            type="Collection(Edm.Single)",
            searchable=True,
            retrievable=False,
            vector_search_dimensions=dimensions,
            vector_search_profile_name=VECTOR_PROFILE,
        ),
        SimpleField(name="content_hash", type=string, filterable=True),
        SimpleField(name="embedding_version", type=string, **facet),
        SimpleField(name="enrichment_version", type=string, **facet),
        *(SimpleField(name=field, type=string, **facet) for field in METADATA_FIELDS),
        SimpleField(name="created_at", type=SearchFieldDataType.DATE_TIME_OFFSET, sortable=True, **facet),
        SimpleField(name="sentiment_score", type=SearchFieldDataType.DOUBLE, filterable=True, sortable=True),
        SimpleField(name="metadata", type=string),
    ]
    vector_search = VectorSearch(
        algorithms=[
            HnswAlgorithmConfiguration(
                name=ALGORITHM_NAME,
                parameters=HnswParameters(metric="cosine", m=4, ef_construction=400, ef_search=500),
            )
        ],
        profiles=[VectorSearchProfile(name=VECTOR_PROFILE, algorithm_configuration_name=ALGORITHM_NAME)],
    )
    semantic_search = SemanticSearch(
        default_configuration_name=SEMANTIC_CONFIGURATION,
        configurations=[
            SemanticConfiguration(
                name=SEMANTIC_CONFIGURATION,
                prioritized_fields=SemanticPrioritizedFields(
                    content_fields=[SemanticField(field_name="text")]
                ),
            )
        ],
    )
    return SearchIndex(name=name, fields=fields, vector_search=vector_search, semantic_search=semantic_search)


def _vector_dimensions(index: Any) -> int | None:
    for field in index.fields or []:
        if field.name == VECTOR_FIELD:
            return field.vector_search_dimensions
    return None


class AzureSearchIndex:
    """A search index on Azure AI Search (see the module docstring).

    Args:
        settings: the service, key, index name, batching, retries (``Settings.azure_search``).
        dimensions: the embedder's vector length.
        create: create or update the index now (False: only connect, e.g. for read-only use).

    Raises:
        ValueError: endpoint or key missing, or the existing index holds vectors of another length.
    """

    def __init__(self, settings: AzureSearchSettings, dimensions: int, *, create: bool = True) -> None:
        from azure.core.credentials import AzureKeyCredential
        from azure.search.documents import SearchClient
        from azure.search.documents.indexes import SearchIndexClient

        if not settings.endpoint or not settings.api_key:
            raise ValueError(
                "the azure_ai_search backend needs AZURE_SEARCH_ENDPOINT and AZURE_SEARCH_API_KEY"
            )
        if settings.upload_batch_size < 1 or settings.max_attempts < 1:
            raise ValueError("upload_batch_size and max_attempts must be at least 1")
        self.settings = settings
        self.dimensions = dimensions
        self.index_name = settings.index_name
        credential = AzureKeyCredential(settings.api_key)
        options: dict[str, Any] = {
            "retry_total": settings.max_attempts - 1,
            "retry_backoff_factor": settings.backoff_base_s,
            "retry_backoff_max": settings.backoff_max_s,
            "connection_timeout": settings.timeout_s,
            "read_timeout": settings.timeout_s,
        }
        if settings.api_version:
            options["api_version"] = settings.api_version
        self.index_client = SearchIndexClient(settings.endpoint, credential, **options)
        self.client = SearchClient(settings.endpoint, self.index_name, credential, **options)
        self._recent: dict[str, str | None] = {}
        """Key -> content hash (None: deleted) of the last writes, for ``refresh``."""
        if create:
            self.ensure_index()

    # --- index ----------------------------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Create the index, or update it to this schema (adding fields never loses documents).

        Raises:
            ValueError: the index exists with vectors of another length.
        """
        from azure.core.exceptions import ResourceNotFoundError

        try:
            existing = self._with_retries(lambda: self.index_client.get_index(self.index_name))
        except ResourceNotFoundError:
            existing = None
        if existing is not None:
            found = _vector_dimensions(existing)
            if found is not None and found != self.dimensions:
                raise ValueError(
                    f"Azure AI Search index {self.index_name!r} holds {found}-dimensional vectors and the "
                    f"embedder makes {self.dimensions}: set AZURE_SEARCH_INDEX to a new index (or delete it)"
                )
        definition = index_definition(self.index_name, self.dimensions)
        self._with_retries(lambda: self.index_client.create_or_update_index(definition))

    # --- writes ---------------------------------------------------------------------------------------------

    def _document(self, doc: IndexDocument) -> dict[str, Any]:
        meta = doc.metadata
        vector = [float(x) for x in doc.vector]
        if len(vector) != self.dimensions:
            raise ValueError(
                f"document {doc.unit_id!r} has a {len(vector)}-dimensional vector, the index takes {self.dimensions}"
            )
        created_at = meta.get("created_at")
        score = meta.get("sentiment_score")
        return {
            KEY_FIELD: document_key(doc.unit_id),
            "unit_id": doc.unit_id,
            "feedback_id": doc.feedback_id,
            "text": doc.text,
            VECTOR_FIELD: vector,
            "content_hash": doc.content_hash,
            "embedding_version": meta.get("embedding_version"),
            "enrichment_version": meta.get("enrichment_version"),
            **{name: None if meta.get(name) is None else str(meta.get(name)) for name in METADATA_FIELDS},
            "created_at": None if created_at is None else odata_datetime(created_at),
            "sentiment_score": None if score is None else float(score),
            "metadata": json.dumps(meta, default=str, sort_keys=True),
        }

    def upsert(self, documents: Sequence[IndexDocument]) -> int:
        """Merge-or-upload ``documents`` by unit id, in batches; every document's status is checked.

        Raises:
            ValueError: a document's vector has the wrong length (nothing is sent).
            IndexingFailed: documents still refused after the retries (the others are written).
        """
        bodies = [self._document(doc) for doc in documents]
        failures: dict[str, str] = {}
        for start in range(0, len(bodies), self.settings.upload_batch_size):
            batch = bodies[start : start + self.settings.upload_batch_size]
            failures.update(self._write("merge_or_upload", batch))
        self._remember({body[KEY_FIELD]: body["content_hash"] for body in bodies})
        if failures:
            raise IndexingFailed("merge_or_upload", failures)
        return len(bodies)

    def delete(self, unit_ids: Sequence[str]) -> int:
        """Delete the documents of ``unit_ids`` (deleting a missing document succeeds, as on the service).

        Raises:
            IndexingFailed: documents still not deleted after the retries.
        """
        keys = [{KEY_FIELD: document_key(unit_id), "unit_id": unit_id} for unit_id in unit_ids]
        failures: dict[str, str] = {}
        for start in range(0, len(keys), self.settings.upload_batch_size):
            failures.update(self._write("delete", keys[start : start + self.settings.upload_batch_size]))
        self._remember(dict.fromkeys((key[KEY_FIELD] for key in keys), None))
        if failures:
            raise IndexingFailed("delete", failures)
        return len(keys)

    def _write(self, action: str, bodies: list[dict[str, Any]]) -> dict[str, str]:
        """Send one batch, then resend the documents that failed with a retryable status, with backoff.

        Returns:
            unit id -> ``<status>: <message>`` of the documents that never succeeded.
        """
        unit_ids = {body[KEY_FIELD]: body["unit_id"] for body in bodies}
        pending = bodies
        failures: dict[str, str] = {}
        for attempt in range(1, self.settings.max_attempts + 1):
            if action == "delete":
                sent = [{KEY_FIELD: body[KEY_FIELD]} for body in pending]
                results = self._with_retries(partial(self.client.delete_documents, sent))
            else:
                results = self._with_retries(partial(self.client.merge_or_upload_documents, pending))
            by_key = {result.key: result for result in results}
            retry = []
            for body in pending:
                result = by_key.get(body[KEY_FIELD])
                if result is not None and result.succeeded:
                    failures.pop(body["unit_id"], None)
                    continue
                status = None if result is None else result.status_code
                message = "no status returned" if result is None else (result.error_message or "failed")
                failures[body["unit_id"]] = f"{status}: {message}"
                if status is None or status in RETRYABLE_DOCUMENT_STATUS:
                    retry.append(body)
            if not retry or attempt == self.settings.max_attempts:
                break
            delay = backoff_delay(attempt, self.settings.backoff_base_s, self.settings.backoff_max_s)
            log.warning(
                "azure search %s: %d of %d documents failed (try %d/%d), retrying in %.2f s: %s",
                action,
                len(retry),
                len(bodies),
                attempt,
                self.settings.max_attempts,
                delay,
                ", ".join(unit_ids[body[KEY_FIELD]] for body in retry[:5]),
            )
            time.sleep(delay)
            pending = retry
        return failures

    def _with_retries(self, call: Callable[[], T]) -> T:
        """``call()``, retrying HTTP 429 (the SDK's policy does not retry a throttled POST) after the
        service's ``Retry-After`` or an exponential backoff."""
        from azure.core.exceptions import HttpResponseError

        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                return call()
            except HttpResponseError as error:
                if error.status_code != 429 or attempt == self.settings.max_attempts:
                    raise
                headers = getattr(error.response, "headers", None)
                delay = retry_after_seconds(headers)
                if delay is None:
                    delay = backoff_delay(attempt, self.settings.backoff_base_s, self.settings.backoff_max_s)
                log.warning("azure search: throttled (429), retrying in %.2f s", delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _remember(self, written: dict[str, str | None]) -> None:
        self._recent.update(written)
        while len(self._recent) > VISIBILITY_SAMPLE:
            self._recent.pop(next(iter(self._recent)))

    # --- reads ----------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Documents in the index (the service's ``$count``)."""
        return int(self._with_retries(self.client.get_document_count))

    def content_hashes(self) -> dict[str, str]:
        """Unit id -> content hash of every document, read page by page in key order (keyset pagination,
        which has no ``$skip`` limit)."""
        hashes: dict[str, str] = {}
        last: str | None = None
        while True:
            page = self._with_retries(partial(self._page_after, last))
            for row in page:
                hashes[row["unit_id"]] = row["content_hash"]
            if len(page) < PAGE_SIZE:
                return hashes
            last = page[-1][KEY_FIELD]

    def _page_after(self, last_key: str | None) -> list[dict[str, Any]]:
        results = self.client.search(
            search_text="*",
            filter=None if last_key is None else f"{KEY_FIELD} gt {odata_string(last_key)}",
            order_by=[f"{KEY_FIELD} asc"],
            select=[KEY_FIELD, "unit_id", "content_hash"],
            top=PAGE_SIZE,
        )
        return list(results)

    def newest_created_at(self) -> datetime | None:
        """The ``created_at`` of the newest document, naive UTC like the embedded index's (None when empty)."""

        def run() -> list[dict[str, Any]]:
            return list(
                self.client.search(
                    search_text="*",
                    filter="created_at ne null",
                    order_by=["created_at desc"],
                    select=["created_at"],
                    top=1,
                )
            )

        rows = self._with_retries(run)
        if not rows or rows[0].get("created_at") is None:
            return None
        moment = datetime.fromisoformat(str(rows[0]["created_at"]).replace("Z", "+00:00"))
        return moment.astimezone(UTC).replace(tzinfo=None)

    def facet_values(self, names: Sequence[str]) -> dict[str, list[str]]:
        """Distinct values of filterable fields, most frequent first (what a question can filter on).

        Raises:
            ValueError: a name that is not filterable.
        """
        for name in names:
            if name not in FILTERABLE:
                raise ValueError(f"{name!r} is not filterable")
        if not names:
            return {}

        def run() -> dict[str, Any]:
            results = self.client.search(
                search_text="*", facets=[f"{name},count:{FACET_VALUES}" for name in names], top=0
            )
            return results.get_facets() or {}

        facets = self._with_retries(run)
        found = {}
        for name in names:
            buckets = sorted(
                facets.get(name) or [], key=lambda b: (-int(b.get("count") or 0), str(b["value"]))
            )
            found[name] = [str(bucket["value"]) for bucket in buckets if bucket.get("value") is not None]
        return found

    def query(
        self,
        text: str,
        vector: Sequence[float] | None,
        top: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Hybrid search: BM25 over ``text`` and HNSW cosine over ``vector``, fused by the service (RRF).

        Raises:
            ValueError: an unknown filter, or a vector of the wrong length.
        """
        from azure.search.documents.models import VectorizedQuery, VectorQuery

        where = odata_filter(filters)
        search_text = text if text and text.strip() else None
        if search_text is None and vector is None:
            return []
        vector_queries: list[VectorQuery] | None = None
        if vector is not None:
            values = [float(x) for x in vector]
            if len(values) != self.dimensions:
                raise ValueError(
                    f"query vector has {len(values)} dimensions, the index takes {self.dimensions}"
                )
            depth = max(top * 5, 50)
            vector_queries = [VectorizedQuery(vector=values, k_nearest_neighbors=depth, fields=VECTOR_FIELD)]

        def run() -> list[dict[str, Any]]:
            return list(
                self.client.search(
                    search_text=search_text,
                    vector_queries=vector_queries,
                    filter=where,
                    select=SELECTED,
                    top=top,
                )
            )

        return [
            SearchHit(
                unit_id=row["unit_id"],
                feedback_id=row["feedback_id"],
                text=row["text"],
                score=float(row["@search.score"]),
                bm25_rank=None,
                vector_rank=None,
                metadata=json.loads(row.get("metadata") or "{}"),
            )
            for row in self._with_retries(run)
        ]

    # --- settling and closing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Wait until the last written documents read back as written (or ``visibility_timeout_s`` passes:
        then log and go on; the caller's count check reports what is still missing)."""
        if not self._recent:
            return
        deadline = time.monotonic() + self.settings.visibility_timeout_s
        expected = dict(self._recent)
        keys = ",".join(expected)
        while True:
            rows = self._with_retries(
                lambda: list(
                    self.client.search(
                        search_text="*",
                        filter=f"search.in({KEY_FIELD}, {odata_string(keys)}, ',')",
                        select=[KEY_FIELD, "content_hash"],
                        top=len(expected),
                    )
                )
            )
            found = {row[KEY_FIELD]: row["content_hash"] for row in rows}
            if all(found.get(key) == content_hash for key, content_hash in expected.items()):
                self._recent.clear()
                return
            if time.monotonic() >= deadline:
                log.warning(
                    "azure search: last writes not all visible after %.1f s",
                    self.settings.visibility_timeout_s,
                )
                return
            time.sleep(0.5)

    def close(self) -> None:
        self.client.close()
        self.index_client.close()
