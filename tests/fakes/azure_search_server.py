"""A loopback fake of the Azure AI Search REST API (the routes ``azure-search-documents`` 12.0.0 calls), for tests.

A real HTTP server on 127.0.0.1 (``http.server``, one thread per request). Requests must carry the admin key
in the ``api-key`` header (403 otherwise, as the service answers) and an ``api-version`` query parameter
(400 otherwise). URL shapes and versions as the SDK actually sends them (recorded from
``azure-search-documents==12.0.0``, default ``api-version=2026-04-01``; the index name is quoted into the
path, so ``unquote`` before matching):

- ``GET  /indexes('{name}')?api-version=...`` -> 200 index definition | 404;
- ``PUT  /indexes('{name}')?api-version=...`` (``Prefer: return=representation``) -> 201 created | 200
  updated, with the definition; 400 when an existing field's type or vector dimensions would change
  (the service cannot change a field in place);
- ``POST /indexes('{name}')/docs/search.index?api-version=...`` with ``{"value": [{"@search.action":
  "mergeOrUpload" | "upload" | "merge" | "delete", "key": ..., ...}]}`` -> 200 when every document
  succeeded, 207 when some failed, with ``{"value": [{"key", "status", "errorMessage", "statusCode"}]}``;
  400 for the whole batch when a document names a field the index lacks, carries a vector of the wrong
  length, a bad ``Edm.DateTimeOffset`` or a key with characters outside letters, digits, ``_ - =``;
- ``POST /indexes('{name}')/docs/search.post.search?api-version=...`` with ``search`` (``*`` or words: a
  small BM25 over the searchable fields), ``vectorQueries`` (``{"kind": "vector", "vector", "k",
  "fields"}``: exact cosine nearest neighbours), both fused by reciprocal rank (k=60) as the service does
  for hybrid queries, ``filter`` (the OData subset below, on filterable fields only), ``orderby`` (sortable
  fields only), ``select`` (comma-separated), ``top`` (default 50), ``skip``, ``count``, ``facets``
  (``field,count:N``) -> ``{"value": [... "@search.score"], "@odata.count"?, "@search.facets"?}``;
- ``GET  /indexes('{name}')/docs/$count?api-version=...`` -> the number as text/plain.

OData ``$filter`` subset (``ODataFilter``): ``field eq|ne|gt|ge|lt|le literal`` with string literals
(``'it''s'``), numbers, ``true`` / ``false`` / ``null`` and unquoted ``Edm.DateTimeOffset`` literals
(``2024-05-01T00:00:00Z``); ``and``, ``or``, ``not``, parentheses; ``search.in(field, 'a,b' [, 'delims'])``.

Writes become searchable ``visibility_lag_s`` after they are acknowledged (0 by default), as on the service.
Faults are scripted: ``inject(HttpFault(...))`` answers a route's next requests with a status (503, 429 with
``Retry-After``, ...); ``fail_documents(DocumentFault(...))`` makes the next writes of a document fail with a
per-document status inside a 207. Every request is recorded in ``requests``.

    with FakeAzureSearch() as fake:
        fake.inject(HttpFault("index", status=503))
        ...  # AZURE_SEARCH_ENDPOINT = fake.endpoint, AZURE_SEARCH_API_KEY = fake.api_key
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

Route = Literal["get_index", "put_index", "index", "search", "count"]

INDEX_PATH = re.compile(r"^/indexes\('(?P<name>[^']+)'\)(?P<rest>.*)$")
VALID_KEY = re.compile(r"^[A-Za-z0-9_\-=]+$")
WORD = re.compile(r"\w+")
RRF_K = 60
BM25_K1, BM25_B = 1.2, 0.75


class ODataError(ValueError):
    """A filter or order-by the service would refuse with 400."""


# --- OData filter subset ------------------------------------------------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<punct>[(),]))"
)
COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ODataFilter:
    """A parsed ``$filter``: ``ODataFilter(text, fields)(document) -> bool``.

    Args:
        text: the filter expression.
        fields: name -> field definition of the index (filterability and types are checked).
    """

    def __init__(self, text: str, fields: dict[str, dict[str, Any]]) -> None:
        self.fields = fields
        self.tokens = self._tokenize(text)
        self.position = 0
        self.predicate = self._or()
        if self.position != len(self.tokens):
            raise ODataError(f"unexpected {self.tokens[self.position][1]!r} in filter {text!r}")

    def __call__(self, document: dict[str, Any]) -> bool:
        return self.predicate(document)

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = TOKEN.match(text, position)
            if not match or match.end() == position:
                raise ODataError(f"cannot parse filter at {text[position:]!r}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            raise ODataError(f"expected {value or 'a token'}, found {token}")
        self.position += 1
        return token

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == ("name", "or"):
            self._take()
            right, first = self._and(), left
            left = lambda d, a=first, b=right: a(d) or b(d)  # noqa: E731
        return left

    def _and(self) -> Any:
        left = self._unary()
        while self._peek() == ("name", "and"):
            self._take()
            right, first = self._unary(), left
            left = lambda d, a=first, b=right: a(d) and b(d)  # noqa: E731
        return left

    def _unary(self) -> Any:
        token = self._peek()
        if token == ("name", "not"):
            self._take()
            inner = self._unary()
            return lambda d: not inner(d)
        if token == ("punct", "("):
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        if token == ("name", "search.in"):
            return self._search_in()
        return self._comparison()

    def _field(self) -> str:
        kind, name = self._take()
        if kind != "name" or name not in self.fields:
            raise ODataError(f"unknown field {name!r} in filter")
        if not self.fields[name].get("filterable"):
            raise ODataError(f"field {name!r} is not filterable")
        return name

    def _literal(self, field_name: str) -> Any:
        kind, text = self._take()
        field_type = self.fields[field_name].get("type")
        if kind == "string":
            if field_type != "Edm.String":
                raise ODataError(f"a string literal cannot be compared with {field_name} ({field_type})")
            return text[1:-1].replace("''", "'")
        if kind == "datetime":
            if field_type != "Edm.DateTimeOffset":
                raise ODataError(f"a time literal cannot be compared with {field_name} ({field_type})")
            return parse_datetime(text)
        if kind == "number":
            return float(text)
        if (kind, text) in (("name", "true"), ("name", "false")):
            return text == "true"
        if (kind, text) == ("name", "null"):
            return None
        raise ODataError(f"expected a literal, found {text!r}")

    def _comparison(self) -> Any:
        name = self._field()
        kind, operator = self._take()
        if kind != "name" or operator not in COMPARISONS:
            raise ODataError(f"unsupported operator {operator!r}")
        literal = self._literal(name)
        compare = COMPARISONS[operator]
        datetimes = self.fields[name].get("type") == "Edm.DateTimeOffset"

        def predicate(document: dict[str, Any]) -> bool:
            value = document.get(name)
            if datetimes and value is not None:
                value = parse_datetime(value)
            return compare(value, literal)

        return predicate

    def _search_in(self) -> Any:
        self._take("search.in")
        self._take("(")
        name = self._field()
        self._take(",")
        values_text = self._literal_string()
        delimiters = " ,"
        if self._peek() == ("punct", ","):
            self._take(",")
            delimiters = self._literal_string()
        self._take(")")
        values = {v for v in re.split("[" + re.escape(delimiters) + "]", values_text) if v}
        return lambda d: d.get(name) in values

    def _literal_string(self) -> str:
        kind, text = self._take()
        if kind != "string":
            raise ODataError(f"expected a string, found {text!r}")
        return text[1:-1].replace("''", "'")


# --- scripting ----------------------------------------------------------------------------------------------


@dataclass
class HttpFault:
    """Answer the next ``times`` requests of ``route`` (any route if None) with ``status`` and ``headers``."""

    route: Route | None
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class DocumentFault:
    """Fail the next ``times`` writes of the document whose key or ``unit_id`` equals ``match``."""

    match: str
    status: int = 503
    message: str = "injected: service busy"
    times: int = 1


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    route: Route | None
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    received_at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


# --- the fake -----------------------------------------------------------------------------------------------


class FakeAzureSearch:
    """The fake service; start it with ``with FakeAzureSearch() as fake:`` (or ``start()`` / ``stop()``)."""

    def __init__(self, api_key: str = "fake-search-admin-key") -> None:
        self.api_key = api_key
        self.indexes: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[ReceivedRequest] = []
        self.http_faults: list[HttpFault] = []
        self.document_faults: list[DocumentFault] = []
        self.visibility_lag_s = 0.0
        """Seconds a written document stays invisible to search and ``$count`` (the service is near real time)."""
        self._visible_at: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeAzureSearch:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-azure-search", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAzureSearch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, *faults: HttpFault) -> None:
        with self._lock:
            self.http_faults.extend(faults)

    def fail_documents(self, *faults: DocumentFault) -> None:
        with self._lock:
            self.document_faults.extend(faults)

    def requests_to(self, route: Route) -> list[ReceivedRequest]:
        with self._lock:
            return [request for request in self.requests if request.route == route]

    def stored(self, index: str) -> dict[str, dict[str, Any]]:
        """The documents of ``index`` by key (a copy)."""
        with self._lock:
            return {key: dict(doc) for key, doc in self.documents.get(index, {}).items()}

    # --- dispatch -------------------------------------------------------------------------------------------

    def handle(self, request: ReceivedRequest, name: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            if request.headers.get("api-key") != self.api_key:
                return _error(403, "Forbidden: invalid api-key")
            if not request.query.get("api-version"):
                return _error(400, "The api-version query parameter (?api-version=) is required")
            for fault in self.http_faults:
                if fault.times > 0 and fault.route in (None, request.route):
                    fault.times -= 1
                    return _error(fault.status, f"injected {fault.status}", fault.headers)
            return self._answer(request, name)

    def _answer(self, request: ReceivedRequest, name: str) -> tuple[int, dict[str, str], bytes]:
        if request.route == "put_index":
            return self._put_index(name, request.json)
        if name not in self.indexes:
            return _error(404, f"The index '{name}' was not found")
        if request.route == "get_index":
            return _json(200, self.indexes[name])
        if request.route == "count":
            return 200, {"content-type": "text/plain"}, str(len(self._visible(name))).encode()
        try:
            if request.route == "index":
                return self._index(name, request.json.get("value") or [])
            return self._search(name, request.json)
        except ODataError as error:
            return _error(400, f"Invalid expression: {error}")

    # --- indexes --------------------------------------------------------------------------------------------

    def _put_index(self, name: str, definition: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if definition.get("name") != name:
            return _error(400, "The index name in the body does not match the URL")
        names = [f.get("name") for f in definition.get("fields") or []]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            return _error(400, f"The field names {duplicated} are used more than once")
        if sum(bool(f.get("key")) for f in definition.get("fields") or []) != 1:
            return _error(400, "The index must have exactly one key field")
        existing = self.indexes.get(name)
        if existing is not None:
            old = _fields(existing)
            for field_name, new_field in _fields(definition).items():
                before = old.get(field_name)
                if before is not None and (
                    before.get("type") != new_field.get("type")
                    or before.get("dimensions") != new_field.get("dimensions")
                ):
                    return _error(400, f"Existing field '{field_name}' cannot be changed")
        self.indexes[name] = {**definition, "@odata.etag": f'"0x{len(self.requests):x}"'}
        self.documents.setdefault(name, {})
        return _json(200 if existing is not None else 201, self.indexes[name])

    # --- documents ------------------------------------------------------------------------------------------

    def _index(self, name: str, actions: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        fields = _fields(self.indexes[name])
        key_field = next(n for n, f in fields.items() if f.get("key"))
        for action in actions:
            problem = _invalid_document(action, fields, key_field)
            if problem:
                return _error(400, problem)
        store = self.documents[name]
        results = []
        for action in actions:
            key = action[key_field]
            fault = self._document_fault(key, action.get("unit_id"))
            if fault is not None:
                results.append(_result(key, fault.status, fault.message))
                continue
            kind = action.get("@search.action", "upload")
            body = {k: v for k, v in action.items() if k != "@search.action"}
            if kind == "delete":
                store.pop(key, None)
            elif kind == "merge" and key not in store:
                results.append(_result(key, 404, "Document not found."))
                continue
            elif kind in ("merge", "mergeOrUpload"):
                store[key] = {**store.get(key, {}), **body}
                self._visible_at[(name, key)] = time.monotonic() + self.visibility_lag_s
            else:
                store[key] = body
                self._visible_at[(name, key)] = time.monotonic() + self.visibility_lag_s
            results.append(_result(key, 200 if kind != "upload" else 201, None))
        status = 200 if all(r["status"] for r in results) else 207
        return _json(status, {"value": results})

    def _document_fault(self, key: str, unit_id: str | None) -> DocumentFault | None:
        for fault in self.document_faults:
            if fault.times > 0 and fault.match in (key, unit_id):
                fault.times -= 1
                return fault
        return None

    # --- search ---------------------------------------------------------------------------------------------

    def _visible(self, name: str) -> list[dict[str, Any]]:
        """The documents searches see now (those written less than ``visibility_lag_s`` ago are not)."""
        now = time.monotonic()
        return [d for k, d in self.documents[name].items() if self._visible_at.get((name, k), 0.0) <= now]

    def _search(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        fields = _fields(self.indexes[name])
        key_field = next(n for n, f in fields.items() if f.get("key"))
        docs = self._visible(name)
        if body.get("filter"):
            keep = ODataFilter(body["filter"], fields)
            docs = [d for d in docs if keep(d)]
        by_key = {d[key_field]: d for d in docs}
        scored = _order(_ranked(body, docs, fields, key_field), by_key, body.get("orderby"), fields)
        skip, top = int(body.get("skip") or 0), int(50 if body.get("top") is None else body["top"])
        select = [s.strip() for s in (body.get("select") or "").split(",") if s.strip()]
        page = []
        for key, score in scored[skip : skip + top]:
            visible = {
                k: v
                for k, v in by_key[key].items()
                if fields.get(k, {}).get("retrievable", True) and (not select or k in select)
            }
            page.append({**visible, "@search.score": score})
        answer: dict[str, Any] = {"value": page}
        if body.get("count"):
            answer["@odata.count"] = len(scored)
        if body.get("facets"):
            answer["@search.facets"] = _facets(body["facets"], [by_key[key] for key, _ in scored], fields)
        return _json(200, answer)


def _ranked(
    body: dict[str, Any], docs: list[dict[str, Any]], fields: dict[str, dict[str, Any]], key_field: str
) -> list[tuple[str, float]]:
    """(key, score) best first: BM25 for words, cosine per vector query, reciprocal-rank fusion of several."""
    rankings: list[list[tuple[str, float]]] = []
    text = (body.get("search") or "").strip()
    if text and text != "*":
        rankings.append(_bm25(text, docs, fields, key_field))
    for vector_query in body.get("vectorQueries") or []:
        rankings.append(_nearest(vector_query, docs, fields, key_field))
    if not rankings:
        return [(d[key_field], 1.0) for d in docs]
    if len(rankings) == 1:
        return rankings[0]
    fused: Counter[str] = Counter()
    for ranking in rankings:
        for rank, (key, _) in enumerate(ranking, start=1):
            fused[key] += 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _fields(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field name -> {type, key, filterable, sortable, facetable, searchable, retrievable, dimensions}."""
    out = {}
    for f in definition.get("fields") or []:
        out[f["name"]] = {
            "type": f.get("type"),
            "key": bool(f.get("key")),
            "filterable": bool(f.get("filterable")),
            "sortable": bool(f.get("sortable")),
            "facetable": bool(f.get("facetable")),
            "searchable": bool(f.get("searchable")),
            "retrievable": f.get("retrievable", not f.get("hidden", False)) is not False,
            "dimensions": f.get("dimensions"),
        }
    return out


def _invalid_document(
    action: dict[str, Any], fields: dict[str, dict[str, Any]], key_field: str
) -> str | None:
    key = action.get(key_field)
    if not isinstance(key, str) or not VALID_KEY.match(key):
        return (
            f"Invalid document key: '{key}'. Keys can only contain letters, digits, underscore (_), "
            "dash (-), or equal sign (=)."
        )
    for name, value in action.items():
        if name == "@search.action":
            continue
        if name not in fields:
            return f"The property '{name}' does not exist on type 'search.documentFields'."
        spec = fields[name]
        if spec["type"] == "Collection(Edm.Single)" and value is not None:
            if not isinstance(value, list) or len(value) != spec["dimensions"]:
                length = len(value) if isinstance(value, list) else "?"
                return f"The vector field '{name}' expects {spec['dimensions']} dimensions, got {length}."
        if spec["type"] == "Edm.DateTimeOffset" and value is not None:
            try:
                moment = parse_datetime(value)
            except (TypeError, ValueError):
                return f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'."
            if moment.tzinfo is None:
                return f"The value '{value}' of '{name}' has no time zone offset."
    return None


def _bm25(
    text: str, docs: list[dict[str, Any]], fields: dict[str, dict[str, Any]], key_field: str
) -> list[tuple[str, float]]:
    """Documents matching any query word, by BM25 over the searchable string fields."""
    searchable = [n for n, f in fields.items() if f["searchable"] and f["type"] == "Edm.String"]
    terms = [t.lower() for t in WORD.findall(text)]
    bags = {
        d[key_field]: Counter(w.lower() for n in searchable for w in WORD.findall(d.get(n) or ""))
        for d in docs
    }
    lengths = {key: sum(bag.values()) for key, bag in bags.items()}
    average = (sum(lengths.values()) / len(lengths)) if lengths else 1.0
    scored = []
    for key, bag in bags.items():
        score = 0.0
        for term in set(terms):
            if bag[term]:
                having = sum(1 for b in bags.values() if b[term])
                idf = math.log(1 + (len(bags) - having + 0.5) / (having + 0.5))
                norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[key] / max(average, 1e-9))
                score += idf * bag[term] * (BM25_K1 + 1) / (bag[term] + norm)
        if score > 0:
            scored.append((key, score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def _nearest(
    query: dict[str, Any], docs: list[dict[str, Any]], fields: dict[str, dict[str, Any]], key_field: str
) -> list[tuple[str, float]]:
    """The ``k`` nearest documents by cosine (exact search), scored as the service does: 1 / (2 - cos)."""
    name = query.get("fields")
    if (
        query.get("kind") != "vector"
        or name not in fields
        or fields[name]["type"] != "Collection(Edm.Single)"
    ):
        raise ODataError(f"invalid vector query on {name!r}")
    vector = query.get("vector") or []
    if len(vector) != fields[name]["dimensions"]:
        raise ODataError(
            f"the vector query has {len(vector)} dimensions, '{name}' has {fields[name]['dimensions']}"
        )
    query_norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    scored = []
    for doc in docs:
        values = doc.get(name)
        if not values:
            continue
        norm = math.sqrt(sum(x * x for x in values)) or 1.0
        cosine = sum(a * b for a, b in zip(vector, values, strict=True)) / (norm * query_norm)
        scored.append((doc[key_field], 1.0 / (2.0 - cosine)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[: int(query.get("k") or 50)]


def _order(
    scored: list[tuple[str, float]],
    by_key: dict[str, dict[str, Any]],
    orderby: str | list[str] | None,
    fields: dict[str, dict[str, Any]],
) -> list[tuple[str, float]]:
    if not orderby:
        return scored
    clauses = orderby if isinstance(orderby, list) else orderby.split(",")
    ordered = list(scored)
    for clause in reversed([c.strip() for c in clauses if c.strip()]):
        parts = clause.split()
        name, direction = parts[0], (parts[1] if len(parts) > 1 else "asc")
        if name not in fields or not fields[name]["sortable"]:
            raise ODataError(f"field {name!r} is not sortable")
        present = [item for item in ordered if by_key[item[0]].get(name) is not None]
        missing = [item for item in ordered if by_key[item[0]].get(name) is None]
        present.sort(key=lambda item: by_key[item[0]][name], reverse=direction == "desc")
        ordered = present + missing
    return ordered


def _facets(
    expressions: list[str], docs: list[dict[str, Any]], fields: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Value buckets (``field,count:N``: the N most frequent values) over the matching documents."""
    out = {}
    for expression in expressions:
        name, *options = [part.strip() for part in expression.split(",")]
        if name not in fields or not fields[name].get("facetable"):
            raise ODataError(f"field {name!r} is not facetable")
        limit = 10
        for option in options:
            key, _, value = option.partition(":")
            if key == "count":
                limit = int(value)
        counts = Counter(d.get(name) for d in docs if d.get(name) is not None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[:limit]
        out[name] = [{"value": value, "count": count} for value, count in ranked]
    return out


def _result(key: str, status: int, message: str | None) -> dict[str, Any]:
    return {"key": key, "status": status < 300, "errorMessage": message, "statusCode": status}


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json; odata.metadata=none"}, json.dumps(body).encode()


def _error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": str(status), "message": message}}).encode()
    return status, {"content-type": "application/json", **(headers or {})}, body


def _route(method: str, rest: str) -> Route | None:
    if rest == "" and method == "GET":
        return "get_index"
    if rest == "" and method == "PUT":
        return "put_index"
    if rest == "/docs/search.index" and method == "POST":
        return "index"
    if rest == "/docs/search.post.search" and method == "POST":
        return "search"
    if rest == "/docs/$count" and method == "GET":
        return "count"
    return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAzureSearch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        """Quiet: the tests read ``fake.requests`` instead."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8")
        match = INDEX_PATH.match(path)
        route = _route(self.command, match.group("rest")) if match else None
        request = ReceivedRequest(
            method=self.command,
            path=path,
            route=route,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        if match is None or route is None:
            with self.fake._lock:
                self.fake.requests.append(request)
            self._send(*_error(404, f"no route for {self.command} {path}"))
            return
        self._send(*self.fake.handle(request, match.group("name")))

    do_GET = do_PUT = do_POST = _serve

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _handler_for(fake: FakeAzureSearch) -> type[BaseHTTPRequestHandler]:
    return type("FakeAzureSearchHandler", (_Handler,), {"fake": fake})
