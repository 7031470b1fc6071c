"""A loopback fake of the Azure OpenAI chat-completions REST API (and of an OpenAI-compatible one), for tests.

A real HTTP server on 127.0.0.1 (``http.server``, one thread per request) serving

- ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (Azure: ``api-key`` header), and
- ``POST /v1/chat/completions`` (OpenAI-compatible: ``Authorization: Bearer``; the deployment is ``model``).

It records every request it receives (raw body included), and answers with valid structured JSON computed from
the request by a small deterministic keyword classifier over the feedback text in the user message (the text
between the prompt's last pair of triple quotes), constrained to the category enum of the request's
``response_format`` schema, so results are checkable. Faults can be scripted per request: an HTTP status
(429 with ``Retry-After`` / ``retry-after-ms``, 500, ...), a delay beyond the client's timeout, malformed JSON,
schema-violating output, a label outside the taxonomy, or a content-filter stop.

    with FakeAzureOpenAI() as fake:
        fake.inject(Fault("status", status=429, headers={"retry-after-ms": "200"}, match="charged twice"))
        ...  # point AZURE_OPENAI_ENDPOINT at fake.endpoint, AZURE_OPENAI_API_KEY at fake.api_key
        fake.requests  # every request received
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "delay", "malformed_json", "schema_violation", "bad_label", "content_filter"]

AZURE_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/chat/completions$")
COMPATIBLE_PATH = "/v1/chat/completions"

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
    def feedback_text(self) -> str:
        """The feedback text inside the classify prompt (what faults and ``requests_matching`` match on)."""
        return feedback_text(self.user_message)


def feedback_text(user_message: str) -> str:
    """The feedback text of a classify prompt: what stands between the last pair of triple quotes."""
    parts = user_message.rsplit('"""', 2)
    return parts[1].strip() if len(parts) == 3 else user_message


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

    def __init__(self, api_key: str = "fake-azure-key") -> None:
        self.api_key = api_key
        self.requests: list[ReceivedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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
        payload = json.loads(request.body)
        schema = payload.get("response_format", {}).get("json_schema", {}).get("schema", {})
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

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8")
        azure = AZURE_PATH.match(url.path)
        if not azure and url.path != COMPATIBLE_PATH:
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
