"""``feedback-ops files``: the operator's view of the loaded landing files and their parked ones.

    feedback-ops files list                              # every loaded file: rows, status, reason
    feedback-ops files release <file or checksum> --by   # validate a parked file again on the next run
    feedback-ops files drop <file or checksum> --by      # give up on a parked file (never loaded again)

The same functions as the ``file_actions`` DAG (``feedback_ops.ingest.parked_files.apply_file_action``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

MAX_REASON_CHARS = 90


def _listing(files: list[dict[str, Any]]) -> str:
    header = f"{'file':<36} {'checksum':<12} {'rows':>7} {'status':<9} {'since':<19} {'by':<10} reason"
    lines = [header]
    for row in files:
        since = row["dropped_at"] or row["released_at"] or row["parked_at"] or row["ingested_at"]
        if row["status"] == "parked":
            since = row["parked_at"]
        reason = (row["reason"] or "")[:MAX_REASON_CHARS]
        lines.append(
            f"{row['source_file']:<36} {str(row['file_checksum'])[:12]:<12} {int(row['total_rows']):>7,} "
            f"{row['status']:<9} {str(since or '')[:19]:<19} {row['actor'] or '-':<10} {reason}".rstrip()
        )
    return "\n".join(lines)


def _files(args: argparse.Namespace) -> int:
    from feedback_ops.ingest.parked_files import FileActionError
    from feedback_ops.ops.file_actions import apply_file_action

    try:
        result = apply_file_action(
            args.action, getattr(args, "file", None), actor=getattr(args, "by", "operator")
        )
    except FileActionError as refused:
        print(f"feedback-ops files {args.action}: {refused}", file=sys.stderr)
        return 2
    if args.action == "list":
        print(_listing(result["files"]))
    else:
        print(
            f"{result['source_file']} ({str(result['file_checksum'])[:12]}, {result['total_rows']:,} rows): "
            f"{result['action']} - {result['message']}"
        )
    return 0


def add_files_parsers(commands: Any) -> None:
    """Add ``files list|release|drop`` to the CLI."""
    files = commands.add_parser("files", help="loaded landing files; release or drop a parked one")
    actions = files.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "list", help="every loaded file: rows, status (loaded, parked, released, dropped), reason"
    )
    for name, text in (
        (
            "release",
            "un-park a file: the next run classifies and validates its rows again (parked again if still broken)",
        ),
        (
            "drop",
            "give up on a parked file: its rows are counted as dropped, the same file is never loaded again",
        ),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "file", help="the file's name (as in `files list`) or its checksum (8+ characters)"
        )
        action.add_argument("--by", required=True, help="who acts (stored with the file)")
    files.set_defaults(handler=_files)
