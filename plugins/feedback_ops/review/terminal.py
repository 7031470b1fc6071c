"""``feedback-ops review``: work the review queue from a terminal, and ``feedback-ops review-web``.

::

    feedback-ops review list [--limit 20] [--reason needs_review]
    feedback-ops review show FEEDBACK_ID
    feedback-ops review accept FEEDBACK_ID --reviewer NAME [--note TEXT]
    feedback-ops review correct FEEDBACK_ID --category bug --sentiment negative --urgency high --reviewer NAME
    feedback-ops review export-golden [--out .local/golden_candidates.jsonl]
    feedback-ops review-web [--host 127.0.0.1] [--port 8765]
"""

from __future__ import annotations

import argparse
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.console import CommandError

REASONS = ("needs_review", "low_confidence", "sampled")


def _settings() -> Settings:
    return get_settings()


def _list(args: argparse.Namespace) -> int:
    from feedback_ops.review.queue import QueueNotBuiltError, list_queue
    from feedback_ops.warehouse import open_warehouse

    try:
        with open_warehouse(_settings()) as warehouse:
            items = list_queue(warehouse, limit=args.limit, reason=args.reason)
    except QueueNotBuiltError as error:
        raise CommandError(str(error)) from error
    print(f"{len(items)} item(s) awaiting review")
    for item in items:
        labels = f"{item['category']} / {item['sentiment_label']} / {item['urgency']}"
        text = " ".join(str(item["redacted_text"] or "").split())[:100]
        print(
            f"{item['feedback_id']}  {item['review_reason']:<14} {item['confidence']:.2f}  [{labels}]  {text}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from feedback_ops.review.queue import QueueNotBuiltError, get_item
    from feedback_ops.warehouse import open_warehouse

    try:
        with open_warehouse(_settings()) as warehouse:
            item = get_item(warehouse, args.feedback_id)
    except QueueNotBuiltError as error:
        raise CommandError(str(error)) from error
    if item is None:
        raise CommandError(f"no feedback item {args.feedback_id!r}", exit_code=1)
    for key, value in item.items():
        if key != "decisions":
            print(f"{key:>22}: {value}")
    for d in item["decisions"]:
        print(
            f"  decision {d['decided_at']} {d['reviewer']} {d['action']}: "
            f"{d['category']} / {d['sentiment_label']} / {d['urgency']}  {d['note'] or ''}"
        )
    return 0


def _decide(args: argparse.Namespace) -> int:
    from feedback_ops.review.decisions import ReviewedLabels, ReviewError, record_decision
    from feedback_ops.warehouse import open_warehouse

    labels = ReviewedLabels(
        category=getattr(args, "category", None),
        sentiment_label=getattr(args, "sentiment", None),
        urgency=getattr(args, "urgency", None),
    )
    settings = _settings()
    try:
        with open_warehouse(settings) as warehouse:
            decision = record_decision(
                warehouse, settings, args.feedback_id, args.action, args.reviewer, labels, note=args.note
            )
    except ReviewError as error:
        raise CommandError(str(error)) from error
    print(
        f"{decision.action} {decision.feedback_id} by {decision.reviewer}: {decision.category} / "
        f"{decision.sentiment_label} / {decision.urgency} (decision {decision.decision_id})"
    )
    return 0


def _export_golden(args: argparse.Namespace) -> int:
    from pathlib import Path

    from feedback_ops.review.golden_export import export_golden_candidates
    from feedback_ops.warehouse import open_warehouse

    settings = _settings()
    with open_warehouse(settings) as warehouse:
        path, count = export_golden_candidates(warehouse, settings, Path(args.out) if args.out else None)
    print(f"{count} golden candidate(s) written to {path}: review them, then merge into a new golden version")
    return 0


def _web(args: argparse.Namespace) -> int:
    from feedback_ops.review.web import serve

    serve(_settings(), host=args.host, port=args.port)
    return 0


def _add_decision_parser(commands: Any, action: str, help_text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(action, help=help_text)
    parser.add_argument("feedback_id")
    parser.add_argument("--reviewer", required=True, help="who decides (stored with the decision)")
    parser.add_argument("--note", help="why (optional)")
    parser.set_defaults(handler=_decide, action=action)
    return parser


def add_review_parsers(commands: Any) -> None:
    """Add ``review`` (list, show, accept, correct, export-golden) and ``review-web`` to the CLI."""
    from feedback_ops.console import non_negative_int

    review = commands.add_parser("review", help="work the human review queue (gold.rpt_review_queue)")
    actions = review.add_subparsers(dest="review_command", required=True)
    listing = actions.add_parser("list", help="items awaiting review, most pressing first")
    listing.add_argument("--limit", type=non_negative_int, default=20, help="items at most (default 20)")
    listing.add_argument("--reason", choices=REASONS)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one item: labels, versions, text, past decisions")
    show.add_argument("feedback_id")
    show.set_defaults(handler=_show)
    _add_decision_parser(actions, "accept", "the model's labels are right")
    correct = _add_decision_parser(actions, "correct", "replace some of the model's labels")
    correct.add_argument("--category", help="a taxonomy category id")
    correct.add_argument("--sentiment", help="negative, neutral or positive")
    correct.add_argument("--urgency", help="low, medium, high or critical")
    export = actions.add_parser("export-golden", help="write reviewed items as golden-set candidates")
    export.add_argument("--out", help="default .local/golden_candidates.jsonl")
    export.set_defaults(handler=_export_golden)
    web = commands.add_parser("review-web", help="serve the review page (stdlib HTTP server)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=non_negative_int, default=8765)
    web.set_defaults(handler=_web)
