"""``feedback-ops alerts``: list alerts, acknowledge and resolve them, serve webhook callbacks.

::

    feedback-ops alerts list [--open]
    feedback-ops alerts ack ALERT_ID --by NAME [--note TEXT]
    feedback-ops alerts resolve ALERT_ID --by NAME [--note TEXT]
    feedback-ops alerts serve-callbacks [--host 127.0.0.1] [--port 8766]   # needs FEEDBACK_OPS_CALLBACK_TOKEN
"""

from __future__ import annotations

import argparse
from typing import Any

from feedback_ops.config import get_settings
from feedback_ops.console import CommandError


def _when(value: Any) -> str:
    return value.isoformat(sep=" ", timespec="minutes") if value is not None else "-"


def _list(args: argparse.Namespace) -> int:
    from feedback_ops.alerts.lifecycle import list_alerts
    from feedback_ops.warehouse import open_warehouse

    with open_warehouse(get_settings()) as warehouse:
        alerts = list_alerts(warehouse, include_resolved=not args.open)
    print(f"{len(alerts)} alert(s)")
    for alert in alerts:
        theme = f"{alert.category} / {alert.product_area or '-'}"
        ack = f"ack {alert.acknowledged_by} {_when(alert.acknowledged_at)}" if alert.acknowledged_by else ""
        res = f"resolved {alert.resolved_by} {_when(alert.resolved_at)}" if alert.resolved_by else ""
        print(
            f"{alert.alert_id}  {alert.status:<12} {theme:<32} opened {_when(alert.opened_at)}  {ack}  {res}"
        )
    return 0


def _act(args: argparse.Namespace) -> int:
    from feedback_ops.alerts.lifecycle import AlertLifecycleError, UnknownAlertError, record_event
    from feedback_ops.warehouse import open_warehouse

    try:
        with open_warehouse(get_settings()) as warehouse:
            state, recorded = record_event(warehouse, args.alert_id, args.event, args.by, args.note, "cli")
    except AlertLifecycleError as error:
        raise CommandError(str(error), exit_code=1 if isinstance(error, UnknownAlertError) else 2) from error
    if not recorded:
        print(f"{state.alert_id} was already {args.event}: nothing recorded (status {state.status})")
        return 0
    who, when = (
        (state.acknowledged_by, state.acknowledged_at)
        if args.event == "acknowledged"
        else (state.resolved_by, state.resolved_at)
    )
    print(f"{state.alert_id} {args.event} by {who} at {_when(when)} (status {state.status})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from feedback_ops.alerts.callbacks import CallbackConfigError, serve

    try:
        serve(get_settings(), host=args.host, port=args.port)
    except CallbackConfigError as error:
        raise CommandError(str(error)) from error
    return 0


def add_alert_parsers(commands: Any) -> None:
    """Add ``alerts`` (list, ack, resolve, serve-callbacks) to the CLI."""
    from feedback_ops.console import non_negative_int

    alerts = commands.add_parser("alerts", help="alert lifecycle: list, acknowledge, resolve, callbacks")
    actions = alerts.add_subparsers(dest="alerts_command", required=True)
    listing = actions.add_parser("list", help="alerts with who acknowledged and resolved them")
    listing.add_argument("--open", action="store_true", help="only alerts not resolved yet")
    listing.set_defaults(handler=_list)
    for action, event, help_text in (
        ("ack", "acknowledged", "acknowledge an alert (someone is on it)"),
        ("resolve", "resolved", "resolve an alert"),
    ):
        parser = actions.add_parser(action, help=help_text)
        parser.add_argument("alert_id")
        parser.add_argument("--by", required=True, help="who acts (stored with the event)")
        parser.add_argument("--note", help="what was done (optional)")
        parser.set_defaults(handler=_act, event=event)
    serve = actions.add_parser(
        "serve-callbacks", help="serve POST /alerts/<id>/ack|resolve (needs FEEDBACK_OPS_CALLBACK_TOKEN)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=non_negative_int, default=8766)
    serve.set_defaults(handler=_serve)
