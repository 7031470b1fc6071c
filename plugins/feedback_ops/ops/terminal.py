"""``feedback-ops grants`` and ``feedback-ops retention``: the operations commands of the CLI."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _grants(args: argparse.Namespace) -> int:
    from feedback_ops.config import get_settings
    from feedback_ops.ops.grants import AccessGroups, render_grants

    groups = AccessGroups(
        service_principal=args.service_principal,
        engineers=args.engineers,
        analysts=args.analysts,
        raw_readers=args.raw_readers,
    )
    print(render_grants(args.catalog or get_settings().databricks.catalog, groups), end="")
    return 0


def _retention(args: argparse.Namespace) -> int:
    from feedback_ops import pipeline

    print(json.dumps(pipeline.apply_retention(as_of=args.as_of), indent=2))
    return 0


def add_ops_parsers(commands: Any) -> None:
    """Add ``grants`` (print the Unity Catalog access boundary as SQL) and ``retention`` to the CLI."""
    from feedback_ops.console import iso_datetime
    from feedback_ops.ops.grants import AccessGroups

    defaults = AccessGroups()
    grants = commands.add_parser(
        "grants", help="print the Unity Catalog grants and column masks of the raw / redacted access boundary"
    )
    grants.add_argument("--catalog", help="default: DATABRICKS_CATALOG")
    grants.add_argument("--service-principal", default=defaults.service_principal)
    grants.add_argument("--engineers", default=defaults.engineers)
    grants.add_argument("--analysts", default=defaults.analysts)
    grants.add_argument("--raw-readers", default=defaults.raw_readers)
    grants.set_defaults(handler=_grants)
    retention = commands.add_parser(
        "retention", help="purge raw text past each layer's retention (include/retention.yaml) now"
    )
    retention.add_argument(
        "--as-of", type=iso_datetime, help="ISO date-time the cutoffs count from (default: now)"
    )
    retention.set_defaults(handler=_retention)
