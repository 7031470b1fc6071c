"""The review page: a small standalone web app on the standard library's ``http.server``.

``GET /`` lists the review queue (``feedback_ops.review.queue``) with one form per item: the model's labels
preselected, a reviewer name, and two buttons, *Accept* and *Correct*. ``POST /decisions`` records the
decision (``feedback_ops.review.decisions``) and redirects back to the queue; ``GET /item/<feedback_id>``
shows one item with its past decisions. Every text is HTML-escaped; only redacted text is shown. It binds to
127.0.0.1 by default: there is no login, so do not expose it beyond the machine without a proxy that adds one.
The warehouse is opened per request and closed after it (DuckDB allows one writing process).
"""

from __future__ import annotations

import html
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

from feedback_ops.config import Settings

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.4rem;vertical-align:top}
th{text-align:left;background:#f6f8fa}.text{max-width:36rem}.reason{font-weight:600}
.msg{padding:.5rem;background:#dafbe1}.err{padding:.5rem;background:#ffebe9}form{margin:0}
select,input{margin:.1rem}
"""
SENTIMENTS = ("negative", "neutral", "positive")
URGENCIES = ("low", "medium", "high", "critical")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>{body}</body></html>"
    ).encode()


def _select(name: str, options: tuple[str, ...], current: str | None) -> str:
    items = "".join(
        f"<option value='{_e(o)}'{' selected' if o == current else ''}>{_e(o)}</option>" for o in options
    )
    return f"<select name='{name}' aria-label='{name}'>{items}</select>"


def _decision_form(item: dict[str, Any], categories: tuple[str, ...]) -> str:
    return (
        "<form method='post' action='/decisions'>"
        f"<input type='hidden' name='feedback_id' value='{_e(item['feedback_id'])}'>"
        f"<input type='hidden' name='enrichment_version' value='{_e(item['enrichment_version'])}'>"
        f"{_select('category', categories, item['model_category'])}"
        f"{_select('sentiment_label', SENTIMENTS, item['model_sentiment_label'])}"
        f"{_select('urgency', URGENCIES, item['model_urgency'])}<br>"
        "<input name='reviewer' placeholder='reviewer' required>"
        "<input name='note' placeholder='note (optional)'>"
        "<button name='action' value='accept'>Accept</button>"
        "<button name='action' value='correct'>Correct</button></form>"
    )


def queue_page(items: list[dict[str, Any]], categories: tuple[str, ...], message: str = "") -> bytes:
    """The queue as an HTML page (every value escaped)."""
    rows = "".join(
        "<tr>"
        f"<td><a href='/item/{quote(str(i['feedback_id']))}'>{_e(str(i['feedback_id'])[:10])}</a><br>"
        f"<span class='reason'>{_e(i['review_reason'])}</span><br>{_e(i['channel'])}</td>"
        f"<td class='text'>{_e(i['redacted_text'])}</td>"
        f"<td>{_e(i['category'])} / {_e(i['sentiment_label'])} / {_e(i['urgency'])}<br>"
        f"confidence {float(i['confidence'] or 0):.2f}<br><small>{_e(i['enrichment_notes'])}</small></td>"
        f"<td>{_decision_form(i, categories)}</td></tr>"
        for i in items
    )
    notice = f"<p class='msg'>{_e(message)}</p>" if message else ""
    table = (
        "<table><thead><tr><th>item</th><th>redacted text</th><th>labels</th><th>decision</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return _page("Review queue", f"{notice}<p>{len(items)} item(s) awaiting review</p>{table}")


def item_page(item: dict[str, Any]) -> bytes:
    """One item: its fields and past decisions (escaped)."""
    fields = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in item.items() if k != "decisions"
    )
    decisions = "".join(
        f"<li>{_e(d['decided_at'])} {_e(d['reviewer'])} {_e(d['action'])}: {_e(d['category'])} / "
        f"{_e(d['sentiment_label'])} / {_e(d['urgency'])} {_e(d['note'])}</li>"
        for d in item["decisions"]
    )
    body = f"<p><a href='/'>back to the queue</a></p><table>{fields}</table><h2>Decisions</h2><ul>{decisions}</ul>"
    return _page(f"Feedback item {item['feedback_id']}", body)


class ReviewHandler(BaseHTTPRequestHandler):
    """Routes of the review page; ``settings`` is set on the subclass ``make_server`` builds."""

    settings: Settings

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log on stderr."""

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(
            "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        )
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """``/`` the queue, ``/item/<id>`` one item."""
        from feedback_ops.review.queue import QueueNotBuiltError

        url = urlparse(self.path)
        try:
            if url.path == "/":
                self._queue(parse_qs(url.query).get("done", [""])[0])
            elif url.path.startswith("/item/"):
                self._item(unquote(url.path.removeprefix("/item/")))
            else:
                self._send(HTTPStatus.NOT_FOUND, _page("Not found", "<p><a href='/'>the queue</a></p>"))
        except QueueNotBuiltError as error:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, _page("Gold not built", f"<p class='err'>{_e(error)}</p>")
            )

    def _queue(self, done: str) -> None:
        from feedback_ops.enrich.taxonomy import load_taxonomy
        from feedback_ops.review.queue import list_queue
        from feedback_ops.warehouse import open_warehouse

        categories = tuple(sorted(load_taxonomy(self.settings.taxonomy_path).category_ids))
        with open_warehouse(self.settings) as warehouse:
            items = list_queue(warehouse, limit=200)
        self._send(HTTPStatus.OK, queue_page(items, categories, f"recorded: {done}" if done else ""))

    def _item(self, feedback_id: str) -> None:
        from feedback_ops.review.queue import get_item
        from feedback_ops.warehouse import open_warehouse

        with open_warehouse(self.settings) as warehouse:
            item = get_item(warehouse, feedback_id)
        if item is None:
            self._send(HTTPStatus.NOT_FOUND, _page("Not found", "<p>no such feedback item</p>"))
        else:
            self._send(HTTPStatus.OK, item_page(item))

    def do_POST(self) -> None:
        """``/decisions``: record an accept or a correction from the form, then back to the queue."""
        from feedback_ops.review.decisions import ReviewedLabels, ReviewError, record_decision
        from feedback_ops.warehouse import open_warehouse

        if urlparse(self.path).path != "/decisions":
            self._send(HTTPStatus.NOT_FOUND, _page("Not found", ""))
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
        action = form.get("action", "")
        labels = ReviewedLabels(
            category=form.get("category"),
            sentiment_label=form.get("sentiment_label"),
            urgency=form.get("urgency"),
        )
        try:
            with open_warehouse(self.settings) as warehouse:
                decision = record_decision(
                    warehouse,
                    self.settings,
                    form.get("feedback_id", ""),
                    action,
                    form.get("reviewer", ""),
                    ReviewedLabels() if action == "accept" else labels,
                    note=form.get("note"),
                    enrichment_version=form.get("enrichment_version") or None,
                )
        except ReviewError as error:
            self._send(
                HTTPStatus.BAD_REQUEST,
                _page("Not recorded", f"<p class='err'>{_e(error)}</p><a href='/'>back</a>"),
            )
            return
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/?done={quote(decision.decision_id)}")
        self.send_header("Content-Length", "0")
        self.end_headers()


def make_server(settings: Settings, host: str = "127.0.0.1", port: int = 8765) -> HTTPServer:
    """An HTTP server for the review page (port 0 picks a free port: ``server.server_address``)."""
    handler = type("BoundReviewHandler", (ReviewHandler,), {"settings": settings})
    return HTTPServer((host, port), handler)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the review page until interrupted."""
    server = make_server(settings, host, port)
    print(f"review page on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
