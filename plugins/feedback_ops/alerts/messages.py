"""The message each channel receives for one alert payload: Slack blocks, a Teams card, a webhook body.

Customer text (redacted examples) is escaped for each format: Slack mrkdwn treats ``<``, ``>`` and ``&`` as
control characters. Links that are not http(s) (the default ``feedback-ops://`` ones) are shown as text,
never as clickable actions.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.alerts.routing import SAFE_LINK_SCHEMES

MAX_EXAMPLE_CHARS = 400


def _clip(text: str | None, limit: int = MAX_EXAMPLE_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_web_link(link: str | None) -> bool:
    return bool(link) and str(link).lower().startswith(SAFE_LINK_SCHEMES)


def headline(alert: dict[str, Any]) -> str:
    """The title, prefixed with the update number for an update."""
    if alert.get("status") == "updated":
        return f"[update {alert.get('update_number', 1)}] {alert['title']}"
    return str(alert["title"])


def trend_text(alert: dict[str, Any]) -> str:
    """``11-17: 2 · 11-18: 14 · …``: the daily volumes of the theme before and during the incident."""
    return " · ".join(f"{point['day'][5:]}: {point['volume']}" for point in alert.get("volume_trend", []))


def example_insight(example: dict[str, Any]) -> str:
    """The rich pass's explanation of an example, when it has one."""
    parts = []
    if example.get("root_cause"):
        parts.append(f"root cause: {example['root_cause']}")
    if example.get("next_action"):
        parts.append(f"next action: {example['next_action']}")
    return "; ".join(parts)


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_example(example: dict[str, Any]) -> dict[str, Any]:
    lines = [f"> {slack_escape(_clip(example.get('redacted_text')))}"]
    insight = example_insight(example)
    if insight:
        lines.append(f"_{slack_escape(insight)}_")
    label = slack_escape(
        f"{example.get('channel')} {example.get('source_record_id') or example['feedback_id']}"
    )
    link = example.get("link")
    lines.append(f"<{link}|{label}>" if _is_web_link(link) else f"{label} `{slack_escape(str(link))}`")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def slack_message(alert: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: fallback ``text`` plus Block Kit blocks."""
    title = headline(alert)
    window = alert["window"]
    facts = (
        f"*Owner:* {slack_escape(alert['owner'])}\n*Window:* {window['first_day']} → {window['last_day']}\n"
        f"*Daily volume:* {trend_text(alert)}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(alert["summary"])}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        *(_slack_example(example) for example in alert.get("examples", [])),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escape(
                        f"{alert['alert_id']} rev {alert['revision']} · {len(alert['feedback_ids'])} feedback ids · "
                        + ", ".join(f"{k} {v}" for k, v in sorted(alert.get("versions", {}).items()))
                    ),
                }
            ],
        },
    ]
    return {"text": slack_escape(title), "blocks": blocks}


def _facts(alert: dict[str, Any]) -> list[tuple[str, str]]:
    window = alert["window"]
    return [
        ("Owner", str(alert["owner"])),
        ("Window", f"{window['first_day']} → {window['last_day']}"),
        ("Daily volume", trend_text(alert)),
        ("Feedback ids", str(len(alert["feedback_ids"]))),
        ("Alert", f"{alert['alert_id']} (revision {alert['revision']})"),
    ]


def _example_lines(example: dict[str, Any]) -> str:
    lines = [f"“{_clip(example.get('redacted_text'))}”"]
    insight = example_insight(example)
    if insight:
        lines.append(insight)
    lines.append(f"{example.get('channel')} {example.get('source_record_id') or ''} · {example.get('link')}")
    return "\n\n".join(lines)


def _open_url_actions(alert: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"Open {example.get('channel')} {example.get('source_record_id') or example['feedback_id']}",
            example["link"],
        )
        for example in alert.get("examples", [])
        if _is_web_link(example.get("link"))
    ]


def teams_adaptive_card(alert: dict[str, Any]) -> dict[str, Any]:
    """A Teams Workflows webhook body: one Adaptive Card (schema 1.4) in a message attachment."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline(alert), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": alert["summary"], "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(alert)]},
        *(
            {"type": "TextBlock", "text": _example_lines(example), "wrap": True, "separator": True}
            for example in alert.get("examples", [])
        ),
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in _open_url_actions(alert)],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def teams_message_card(alert: dict[str, Any]) -> dict[str, Any]:
    """A legacy Office 365 connector body (MessageCard)."""
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": "D13438" if alert.get("status") == "opened" else "FFB900",
        "summary": headline(alert),
        "title": headline(alert),
        "text": alert["summary"],
        "sections": [
            {"facts": [{"name": k, "value": v} for k, v in _facts(alert)]},
            *({"text": _example_lines(example)} for example in alert.get("examples", [])),
        ],
        "potentialAction": [
            {"@type": "OpenUri", "name": t, "targets": [{"os": "default", "uri": u}]}
            for t, u in _open_url_actions(alert)
        ],
    }


def webhook_body(alert: dict[str, Any]) -> dict[str, Any]:
    """A generic webhook body: the event name and the whole alert payload."""
    return {"event": f"feedback_ops.alert.{alert.get('status', 'opened')}", "alert": alert}
