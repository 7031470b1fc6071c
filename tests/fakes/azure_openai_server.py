"""A loopback fake of the Azure OpenAI chat-completions REST API (and of an OpenAI-compatible one), for tests.

A real HTTP server on 127.0.0.1 (``http.server``, one thread per request) serving

- ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (Azure: ``api-key`` header), and
- ``POST /v1/chat/completions`` (OpenAI-compatible: ``Authorization: Bearer``; the deployment is ``model``),
- ``POST /openai/deployments/{deployment}/embeddings?api-version=...`` and ``POST /v1/embeddings``: the
  embeddings API, answering deterministic vectors derived from each input (``fake_embedding``: a hashed bag
  of words, so texts sharing words are near), of the request's ``dimensions`` or ``embedding_dimensions``,
  as floats or base64 (``encoding_format``, which the SDK sets to base64 unless told otherwise).

It records every request it receives (raw body included), and answers with valid structured JSON computed from
the request by a small deterministic keyword classifier over the feedback text in the user message (the text
between the prompt's last pair of triple quotes), constrained to the category enum of the request's
``response_format`` schema, so results are checkable. Faults can be scripted per request: an HTTP status
(429 with ``Retry-After`` / ``retry-after-ms``, 500, ...), a delay beyond the client's timeout, malformed JSON,
schema-violating output, a label outside the taxonomy, or a content-filter stop.

The Batch API too (Azure global batch): ``POST /openai/files`` (multipart, ``purpose=batch``),
``POST /openai/batches`` (``input_file_id``, ``endpoint`` ``/chat/completions``, ``completion_window`` ``24h``),
``GET /openai/batches/{id}`` and ``GET /openai/files/{id}/content``. A batch answers each JSONL line as the
online endpoint would (faults apply per line: a ``status`` fault puts the line in the error file, an output
fault gives it bad content); it reports ``validating`` / ``in_progress`` for ``batch_polls_before_done``
retrievals, then ``completed`` with an output file (status 200 lines) and an error file (the others).

    with FakeAzureOpenAI() as fake:
        fake.inject(Fault("status", status=429, headers={"retry-after-ms": "200"}, match="charged twice"))
        ...  # point AZURE_OPENAI_ENDPOINT at fake.endpoint, AZURE_OPENAI_API_KEY at fake.api_key
        fake.requests  # every request received
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "delay", "malformed_json", "schema_violation", "bad_label", "content_filter"]

AZURE_PATH = re.compile(
    r"^/openai/deployments/(?P<deployment>[^/]+)/(?P<operation>chat/completions|embeddings)$"
)
COMPATIBLE_PATHS = ("/v1/chat/completions", "/v1/embeddings")
BATCH_PATH = re.compile(r"^/openai/(?P<kind>files|batches)(?:/(?P<id>[^/]+))?(?P<content>/content)?$")
WORD = re.compile(r"[a-z0-9]+")

CATEGORY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("billing", ("charged", "refund", "invoice", "fee")),
    ("account_access", ("log in", "login", "password", "locked out", "sign in")),
    ("bug", ("crash", "error", "fails", "broken", "bug")),
    ("performance", ("slow", "lag", "timeout", "time out")),
    ("delivery", ("delivery", "package", "parcel", "shipping")),
    ("pricing", ("price", "pricing", "expensive")),
    ("feature_request", ("please add", "would be great", "wish")),
    ("praise", ("love", "great", "thanks", "helpful", "excellent")),
    ("customer_service", ("agent", "support", "on hold", "nobody answers")),
    ("usability", ("confusing", "hard to find")),
)
"""First rule with a keyword in the (lower-cased) text wins; ``other`` when none does."""
POSITIVE = ("love", "great", "thanks", "helpful", "excellent", "faster")
NEGATIVE = (
    "fail",
    "error",
    "charged",
    "slow",
    "cannot",
    "never",
    "late",
    "nobody",
    "broken",
    "crash",
    "went up",
)
INCIDENT = ("billing", "account_access", "bug", "performance")


@dataclass
class Fault:
    """A scripted misbehaviour for the next ``times`` requests whose feedback text contains ``match``.

    Attributes:
        kind: ``status`` (answer ``status`` with ``headers``), ``delay`` (sleep ``delay_s``, then answer
            normally), ``malformed_json`` (content that is not JSON), ``schema_violation`` (JSON missing a
            field, a score out of bounds), ``bad_label`` (a category outside the taxonomy), ``content_filter``
            (``finish_reason: content_filter``).
        match: substring of the feedback text (in the prompt) selecting the requests (None: any request).
    """

    kind: FaultKind
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int = 1
    match: str | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake received it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    deployment: str | None
    received_at: float
    """``time.monotonic()`` when the request arrived."""

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def user_message(self) -> str:
        """The content of the request's user messages, joined."""
        try:
            messages = self.json.get("messages") or []
        except ValueError:
            return ""
        return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")

    @property
    def is_embeddings(self) -> bool:
        return self.path.endswith("/embeddings")

    @property
    def embedding_inputs(self) -> list[str]:
        """The texts of an embeddings request (a string input counts as one text)."""
        inputs = self.json.get("input") if self.is_embeddings else None
        return [inputs] if isinstance(inputs, str) else list(inputs or [])

    @property
    def feedback_text(self) -> str:
        """The feedback text inside the classify prompt, or the joined inputs of an embeddings request (what
        faults and ``requests_matching`` match on)."""
        if self.is_embeddings:
            return "\n".join(self.embedding_inputs)
        return feedback_text(self.user_message)


def feedback_text(user_message: str) -> str:
    """The feedback text of a classify prompt: what stands between the last pair of triple quotes."""
    parts = user_message.rsplit('"""', 2)
    return parts[1].strip() if len(parts) == 3 else user_message


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """The fake embedding model: a unit-length hashed bag of words (each lower-cased word adds +-1 to one
    coordinate chosen by its hash). Deterministic across processes; texts sharing words have a high cosine."""
    vector = [0.0] * dimensions
    for word in WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest[:4], "little") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def classify(text: str, categories: list[str]) -> dict[str, Any]:
    """The fake model: a deterministic keyword classifier that answers the classify schema."""
    lowered = text.lower()
    category = next(
        (name for name, words in CATEGORY_RULES if name in categories and any(w in lowered for w in words)),
        "other",
    )
    positive = sum(word in lowered for word in POSITIVE)
    negative = sum(word in lowered for word in NEGATIVE)
    score = round((positive - negative) / max(positive + negative, 1), 2)
    label = "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"
    urgency = (
        "high" if label == "negative" and category in INCIDENT else "medium" if label == "negative" else "low"
    )
    return {
        "category": category,
        "sentiment_label": label,
        "sentiment_score": score,
        "urgency": urgency,
        "confidence": 0.9 if category != "other" else 0.4,
    }


class FakeAzureOpenAI:
    """The fake server; start it with ``with FakeAzureOpenAI() as fake:`` (or ``start()`` / ``stop()``).

    Args:
        api_key: the key requests must carry (``api-key`` header, or ``Authorization: Bearer``).
    """

    def __init__(self, api_key: str = "fake-azure-key", embedding_dimensions: int = 1536) -> None:
        self.api_key = api_key
        self.embedding_dimensions = embedding_dimensions
        """Vector length when an embeddings request names no ``dimensions``."""
        self.requests: list[ReceivedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.files: dict[str, dict[str, Any]] = {}
        """Uploaded and produced files: id -> the file object plus its ``content`` (bytes)."""
        self.batches: dict[str, dict[str, Any]] = {}
        """Batch jobs: id -> the batch object (plus the ``polls`` it has been retrieved)."""
        self.batch_polls_before_done = 1
        """Retrievals answering a non-final status before a batch reports ``completed``."""

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> FakeAzureOpenAI:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False  # a handler still sleeping in a delay fault must not block shutdown
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-azure-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAzureOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The Azure endpoint (``AZURE_OPENAI_ENDPOINT``)."""
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"{self.endpoint}/v1"

    # --- scripting and inspection ---------------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each applies to the next ``times`` matching requests, in the order injected."""
        with self._lock:
            self.faults.extend(faults)

    def raw_bodies(self) -> list[str]:
        """The raw body of every request received."""
        with self._lock:
            return [request.body for request in self.requests]

    def requests_matching(self, text: str) -> list[ReceivedRequest]:
        """Requests whose feedback text contains ``text``."""
        with self._lock:
            return [request for request in self.requests if text in request.feedback_text]

    def _record(self, request: ReceivedRequest, faults: bool = True) -> Fault | None:
        """Keep the request (every one, refused ones too) and take the first fault that applies to it."""
        with self._lock:
            self.requests.append(request)
            for fault in self.faults if faults else ():
                if fault.times > 0 and (fault.match is None or fault.match in request.feedback_text):
                    fault.times -= 1
                    return fault
        return None

    # --- answers --------------------------------------------------------------------------------------------

    def answer(self, request: ReceivedRequest, fault: Fault | None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the answer to ``request`` under ``fault``."""
        if fault is not None and fault.kind == "status":
            body = {"error": {"code": str(fault.status), "message": f"injected {fault.status}"}}
            return fault.status, dict(fault.headers), json.dumps(body).encode()
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay_s)
        if request.is_embeddings:
            return self.embeddings(request)
        payload = json.loads(request.body)
        schema = payload.get("response_format", {}).get("json_schema", {}).get("schema", {})
        if "citations" in schema.get("properties", {}):
            content, finish = grounded_answer(request.user_message, fault), "stop"
        else:
            categories = schema.get("properties", {}).get("category", {}).get("enum", ["other"])
            output = classify(feedback_text(request.user_message), categories)
            content, finish = _faulty_content(output, fault)
        completion = {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.deployment or payload.get("model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": len(request.user_message) // 4,
                "completion_tokens": len(content) // 4 + 1,
                "total_tokens": len(request.user_message) // 4 + len(content) // 4 + 1,
            },
        }
        return 200, {}, json.dumps(completion).encode()

    def embeddings(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes]:
        """The answer to an embeddings request: one vector per input, 400 for empty input as Azure does."""
        payload = request.json
        inputs = request.embedding_inputs
        if not inputs or any(not text for text in inputs):
            body = {"error": {"code": "invalid_request_error", "message": "'$.input' is invalid"}}
            return 400, {}, json.dumps(body).encode()
        dimensions = int(payload.get("dimensions") or self.embedding_dimensions)
        data = []
        for index, text in enumerate(inputs):
            vector = fake_embedding(text, dimensions)
            if payload.get("encoding_format") == "base64":
                encoded: Any = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(WORD.findall(text.lower())) for text in inputs)
        answer = {
            "object": "list",
            "data": data,
            "model": request.deployment or payload.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, {}, json.dumps(answer).encode()

    # --- Batch API ------------------------------------------------------------------------------------------

    def _file_object(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[file_id] = {**obj, "content": content}
        return obj

    def upload_file(self, request: ReceivedRequest, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """``POST /openai/files``: a multipart upload with ``purpose`` and ``file``."""
        message = BytesParser(policy=email_policy).parsebytes(
            f"content-type: {request.headers.get('content-type', '')}\r\n\r\n".encode() + raw
        )
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "file" not in fields or "purpose" not in fields:
            return (
                400,
                {},
                b'{"error": {"code": "invalid_request_error", "message": "file and purpose required"}}',
            )
        purpose = fields["purpose"].get_content().strip()
        content = fields["file"].get_payload(decode=True) or b""
        filename = fields["file"].get_filename() or "upload.jsonl"
        with self._lock:
            obj = self._file_object(content, filename, purpose)
        return 200, {}, json.dumps(obj).encode()

    def create_batch(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes]:
        """``POST /openai/batches``: answer every line of the input file now; report it over later polls."""
        params = request.json
        source = self.files.get(str(params.get("input_file_id")))
        if source is None or source["purpose"] != "batch":
            return 404, {}, b'{"error": {"code": "404", "message": "input file not found"}}'
        if params.get("endpoint") != "/chat/completions" or params.get("completion_window") != "24h":
            return 400, {}, b'{"error": {"code": "invalid_request_error", "message": "unsupported batch"}}'
        outputs, errors = [], []
        for line in source["content"].decode("utf-8").splitlines():
            if not line.strip():
                continue
            task = json.loads(line)
            body = json.dumps(task["body"])
            line_request = ReceivedRequest(
                path="/openai/batch-line/chat/completions",
                query={},
                headers={},
                body=body,
                deployment=task["body"].get("model"),
                received_at=time.monotonic(),
            )
            status, _headers, answer = self.answer(line_request, self._record(line_request))
            result = {
                "id": f"batch_req_{uuid.uuid4().hex[:12]}",
                "custom_id": task["custom_id"],
                "response": {
                    "status_code": status,
                    "request_id": uuid.uuid4().hex,
                    "body": json.loads(answer),
                },
                "error": None if status == 200 else json.loads(answer).get("error"),
            }
            (outputs if status == 200 else errors).append(result)
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        with self._lock:
            output = self._file_object(_jsonl(outputs), f"{batch_id}_output.jsonl", "batch_output")
            error = self._file_object(_jsonl(errors), f"{batch_id}_error.jsonl", "batch_output")
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": params["endpoint"],
                "input_file_id": params["input_file_id"],
                "completion_window": params["completion_window"],
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": len(outputs) + len(errors), "completed": 0, "failed": 0},
                "_final": {
                    "output_file_id": output["id"] if outputs else None,
                    "error_file_id": error["id"] if errors else None,
                    "request_counts": {
                        "total": len(outputs) + len(errors),
                        "completed": len(outputs),
                        "failed": len(errors),
                    },
                },
                "_polls": 0,
            }
            return 200, {}, json.dumps(_public(self.batches[batch_id])).encode()

    def retrieve_batch(self, batch_id: str) -> tuple[int, dict[str, str], bytes]:
        """``GET /openai/batches/{id}``: in progress for a few polls, then completed with its files."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, {}, b'{"error": {"code": "404", "message": "batch not found"}}'
            batch["_polls"] += 1
            if batch["_polls"] > self.batch_polls_before_done:
                batch.update(batch["_final"], status="completed", completed_at=int(time.time()))
            else:
                batch["status"] = "in_progress"
            return 200, {}, json.dumps(_public(batch)).encode()

    def file_content(self, file_id: str) -> tuple[int, dict[str, str], bytes]:
        """``GET /openai/files/{id}/content``: the file's bytes."""
        stored = self.files.get(file_id)
        if stored is None:
            return 404, {}, b'{"error": {"code": "404", "message": "file not found"}}'
        return 200, {"content-type": "application/octet-stream"}, stored["content"]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def grounded_answer(user_message: str, fault: Fault | None) -> str:
    """The fake model's answer to an ``ask`` prompt: the first evidence theme, citing its first two ids.

    Under a ``bad_label`` fault it cites an id that is not in the evidence (an invented citation), which the
    answerer must reject.
    """
    evidence = user_message.split("Evidence:", 1)[-1]
    ids = list(dict.fromkeys(re.findall(r"\[([^\]\s]+)\]", evidence)))
    ids = [i for i in ids if not i.isupper()][:2]
    if fault is not None and fault.kind == "bad_label":
        ids = [*ids[:1], "fb_invented_0000"]
    theme = re.search(r"Theme 1: (?P<label>[^(\n]+)\((?P<count>\d+) items", evidence)
    label = theme["label"].strip() if theme else "no theme"
    count = theme["count"] if theme else "0"
    cited = " ".join(f"[{i}]" for i in ids)
    return json.dumps({"answer": f"The top cause is {label}: {count} items {cited}.", "citations": ids})


def _faulty_content(output: dict[str, Any], fault: Fault | None) -> tuple[str, str]:
    """The message content and finish reason for a fault of the output kinds (or the valid output)."""
    kind = fault.kind if fault is not None else None
    if kind == "malformed_json":
        return '{"category": "bug", "sentiment_label": ', "stop"
    if kind == "schema_violation":
        return json.dumps({"category": output["category"], "confidence": 3.0}), "stop"
    if kind == "bad_label":
        return json.dumps({**output, "category": "not_a_category"}), "stop"
    if kind == "content_filter":
        return "", "content_filter"
    return json.dumps(output), "stop"


def _refusal(fake: FakeAzureOpenAI, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes] | None:
    """The error a real service would answer a request with bad credentials or no api-version with."""
    if request.deployment is not None:
        if request.headers.get("api-key") != fake.api_key:
            return 401, {}, b'{"error": {"code": "401", "message": "Access denied: invalid api-key"}}'
        if not request.query.get("api-version"):
            return 404, {}, b'{"error": {"code": "404", "message": "Resource not found"}}'
    elif request.headers.get("authorization") != f"Bearer {fake.api_key}":
        return 401, {}, b'{"error": {"code": "401", "message": "invalid bearer token"}}'
    return None


class _Handler(BaseHTTPRequestHandler):
    """Serves one request for ``fake`` (set on the subclass ``_handler_for`` makes)."""

    fake: FakeAzureOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        """Quiet: the tests read ``fake.requests`` instead."""

    def _batch_api(self, method: str) -> bool:
        """Serve a Batch API route (files, batches); False when the path is not one."""
        url = urlsplit(self.path)
        route = BATCH_PATH.match(url.path)
        if not route:
            return False
        raw = self.rfile.read(int(self.headers.get("content-length") or 0)) if method == "POST" else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        is_upload = route["kind"] == "files" and method == "POST"
        request = ReceivedRequest(
            path=url.path,
            query=parse_qs(url.query),
            headers=headers,
            body="" if is_upload else raw.decode("utf-8"),
            deployment=None,
            received_at=time.monotonic(),
        )
        with self.fake._lock:
            self.fake.requests.append(request)
        if headers.get("api-key") != self.fake.api_key:
            self._send(401, {}, b'{"error": {"code": "401", "message": "Access denied: invalid api-key"}}')
        elif not request.query.get("api-version"):
            self._send(404, {}, b'{"error": {"code": "404", "message": "Resource not found"}}')
        elif is_upload:
            self._send(*self.fake.upload_file(request, raw))
        elif route["kind"] == "batches" and method == "POST" and not route["id"]:
            self._send(*self.fake.create_batch(request))
        elif route["kind"] == "batches" and method == "GET" and route["id"]:
            self._send(*self.fake.retrieve_batch(route["id"]))
        elif route["kind"] == "files" and method == "GET" and route["id"] and route["content"]:
            self._send(*self.fake.file_content(route["id"]))
        else:
            self._send(404, {}, b'{"error": {"code": "404", "message": "Resource not found"}}')
        return True

    def do_GET(self) -> None:
        if not self._batch_api("GET"):
            self._send(404, {}, b'{"error": {"code": "404", "message": "Resource not found"}}')

    def do_POST(self) -> None:
        if self._batch_api("POST"):
            return
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8")
        azure = AZURE_PATH.match(url.path)
        if not azure and url.path not in COMPATIBLE_PATHS:
            self._send(404, {}, b'{"error": {"code": "404", "message": "Resource not found"}}')
            return
        request = ReceivedRequest(
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            deployment=azure.group("deployment") if azure else None,
            received_at=time.monotonic(),
        )
        refusal = _refusal(self.fake, request)
        if refusal is not None:
            self.fake._record(request, faults=False)
            self._send(*refusal)
            return
        self._send(*self.fake.answer(request, self.fake._record(request)))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            if "content-type" not in headers:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before the answer: what a real server sees too


def _handler_for(fake: FakeAzureOpenAI) -> type[BaseHTTPRequestHandler]:
    return type("FakeAzureOpenAIHandler", (_Handler,), {"fake": fake})
