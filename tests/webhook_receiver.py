"""A loopback webhook receiver: a real HTTP server on 127.0.0.1 that records every POST and answers with a
scripted status (and delay) per path, 200 by default."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class WebhookReceiver:
    """``script(path, [(status, delay_s), ...])`` sets the next answers for a path; ``requests`` lists POSTs."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers), json.loads(raw or b"null"))
                    )
                    script = receiver._script[self.path]
                    status, delay = script.pop(0) if script else (200, 0.0)
                time.sleep(delay)
                body = b"ok" if status == 200 else b"error"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away: that is the point of a delay

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def script(self, path: str, answers: list[tuple[int, float]]) -> None:
        with self._lock:
            self._script[path].extend(answers)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]
