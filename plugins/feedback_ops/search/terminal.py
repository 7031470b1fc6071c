"""``feedback-ops ask``, ``feedback-ops reindex`` and ``feedback-ops emerging``: the semantic memory from a shell."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _ask(args: argparse.Namespace) -> int:
    from feedback_ops.search.ask import ask

    answer = ask(args.question, now=args.now, top=args.top)
    print(json.dumps(answer.as_dict(), indent=2, default=str) if args.json else answer.render())
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from feedback_ops.search.reindex import reindex

    print(json.dumps(reindex(force=args.force).as_dict(), indent=2, default=str))
    return 0


def _emerging(args: argparse.Namespace) -> int:
    from feedback_ops.search.emerging import detect_emerging_themes, render_emerging

    print(render_emerging(detect_emerging_themes(persist=not args.dry_run)))
    return 0


def add_search_parsers(commands: Any) -> None:
    """Register the semantic-memory subcommands on the ``feedback-ops`` parser."""
    from feedback_ops.console import iso_datetime, positive_int

    ask = commands.add_parser(
        "ask",
        help="answer a question from the feedback memory, with counts and cited feedback ids",
        description='Example: feedback-ops ask "What are the top causes of checkout complaints in the last 48 hours?"',
    )
    ask.add_argument("question")
    ask.add_argument(
        "--top", type=positive_int, default=120, help="units of evidence to retrieve (default 120)"
    )
    ask.add_argument(
        "--now",
        type=iso_datetime,
        help="ISO time relative windows end at (default: now, or the newest feedback)",
    )
    ask.add_argument("--json", action="store_true", help="print the answer with its evidence as JSON")
    ask.set_defaults(handler=_ask)
    reindex = commands.add_parser(
        "reindex",
        help="re-embed units whose embedding version is not the configured one, build a new index beside the "
        "active one and switch to it when complete",
    )
    reindex.add_argument("--force", action="store_true", help="rebuild the index even if it is current")
    reindex.set_defaults(handler=_reindex)
    emerging = commands.add_parser(
        "emerging", help="cluster recent feedback the taxonomy covers badly; show growing candidate themes"
    )
    emerging.add_argument("--dry-run", action="store_true", help="print without storing the themes")
    emerging.set_defaults(handler=_emerging)
