"""Webhook callbacks that acknowledge or resolve alerts: a small stdlib HTTP server.

``POST /alerts/<alert_id>/ack`` and ``POST /alerts/<alert_id>/resolve`` with a JSON body
``{"by": "name", "note": "optional"}`` and the header ``X-Feedback-Ops-Token`` (or ``Authorization: Bearer``)
carrying the shared secret of ``FEEDBACK_OPS_CALLBACK_TOKEN``. Without a configured secret the server refuses
to start; a request without the right token gets 401. Answers are JSON: 200 with the alert's state and
``recorded`` (false when the alert already was in that state), 400 for a bad body, 404 for an unknown alert,
503 when the warehouse cannot be opened (for example locked by a running task: retry).
"""

from __future__ import annotations

import hmac
import json
import os
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import duckdb

from feedback_ops.config import Settings

TOKEN_ENV = "FEEDBACK_OPS_CALLBACK_TOKEN"
TOKEN_HEADER = "X-Feedback-Ops-Token"
MAX_BODY_BYTES = 16_384
ROUTE = re.compile(r"^/alerts/(?P<alert_id>[A-Za-z0-9_.:-]{1,200})/(?P<action>ack|resolve)$")
EVENT_OF_ACTION = {"ack": "acknowledged", "resolve": "resolved"}


class CallbackConfigError(RuntimeError):
    """The callback server cannot start: no shared secret configured."""


def callback_token(environ: dict[str, str] | None = None) -> str:
    """The shared secret from ``FEEDBACK_OPS_CALLBACK_TOKEN``; :class:`CallbackConfigError` when unset."""
    token = (environ if environ is not None else os.environ).get(TOKEN_ENV, "").strip()
    if not token:
        raise CallbackConfigError(f"set {TOKEN_ENV} to a shared secret: callbacks are refused without one")
    return token


class CallbackHandler(BaseHTTPRequestHandler):
    """Routes of the callback server; ``settings`` and ``token`` are set on the subclass ``make_server``
    builds."""

    settings: Settings
    token: str

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        offered = self.headers.get(TOKEN_HEADER) or ""
        bearer = self.headers.get("Authorization") or ""
        if not offered and bearer.lower().startswith("bearer "):
            offered = bearer[7:].strip()
        return bool(offered) and hmac.compare_digest(offered.encode(), self.token.encode())

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("body too large")
        body = json.loads(self.rfile.read(length).decode("utf-8") or "{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def do_GET(self) -> None:
        """Nothing to read here: 405."""
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use POST /alerts/<id>/ack or /resolve"})

    def do_POST(self) -> None:
        """``/alerts/<id>/ack`` or ``/alerts/<id>/resolve``."""
        from feedback_ops.alerts.lifecycle import AlertLifecycleError, UnknownAlertError, record_event
        from feedback_ops.warehouse import open_warehouse

        if not self._authorized():
            self._json(HTTPStatus.UNAUTHORIZED, {"error": f"missing or wrong {TOKEN_HEADER}"})
            return
        route = ROUTE.match(self.path.split("?", 1)[0])
        if route is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "use POST /alerts/<id>/ack or /resolve"})
            return
        try:
            body = self._body()
        except ValueError as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"invalid body: {error}"})
            return
        alert_id, event = route["alert_id"], EVENT_OF_ACTION[route["action"]]
        try:
            with open_warehouse(self.settings) as warehouse:
                state, recorded = record_event(
                    warehouse, alert_id, event, str(body.get("by") or ""), body.get("note"), "callback"
                )
        except AlertLifecycleError as error:
            status = HTTPStatus.NOT_FOUND if isinstance(error, UnknownAlertError) else HTTPStatus.BAD_REQUEST
            self._json(status, {"error": str(error)})
            return
        except duckdb.Error as error:
            # e.g. the file is locked by a running pipeline task: the caller should retry
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"warehouse unavailable, retry: {error}"})
            return
        self._json(HTTPStatus.OK, {"recorded": recorded, "alert": state.as_dict()})


def make_server(
    settings: Settings, host: str = "127.0.0.1", port: int = 8766, token: str | None = None
) -> HTTPServer:
    """An HTTP server for alert callbacks (port 0 picks a free port: ``server.server_address``); the token
    defaults to ``FEEDBACK_OPS_CALLBACK_TOKEN`` and is required."""
    secret = token if token else callback_token()
    handler = type("BoundCallbackHandler", (CallbackHandler,), {"settings": settings, "token": secret})
    return HTTPServer((host, port), handler)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8766) -> None:
    """Serve alert callbacks until interrupted."""
    server = make_server(settings, host, port)
    print(
        f"alert callbacks on http://{host}:{server.server_address[1]}/alerts/<id>/ack|resolve (Ctrl-C to stop)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
