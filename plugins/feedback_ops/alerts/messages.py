"""The message each channel receives for one alert payload: Slack blocks, a Teams card, a webhook body.

Customer text (redacted examples, summaries and model explanations of them, titles, ids) is data in every
format, never markup:

- **Slack**: mrkdwn's control characters ``&``, ``<``, ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` (so no
  ``<!channel>``, ``<@U…>`` or ``<url|label>`` survives), and the bare broadcast words ``@channel``,
  ``@here`` and ``@everyone`` get a zero-width space after the ``@`` so Slack never expands them
  (``slack_text``; ``slack_plain`` for plain_text fields).
- **Teams** (Adaptive Card TextBlocks and MessageCard text render a Markdown subset): Markdown
  punctuation (backslash, brackets, parentheses, ``!``, ``*``, ``_``, ``~``, backtick, ``#``, ``<``, ``>``)
  is backslash-escaped, so a customer cannot make a link, an image or an ``<at>`` mention (``teams_text``).
- **Links** are built by the routing file's record-link templates only, with the ids URL-encoded
  (``LinkTemplates.link``), never taken from a record's own ``url``. Links that are not http(s) (the
  default ``feedback-ops://`` ones) are shown as text, never as clickable actions.
"""

from __future__ import annotations

import re
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


_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"
_TEAMS_MARKDOWN = re.compile(r"([\\\[\]()!*_~`#<>])")


def _no_broadcast(text: str) -> str:
    """``@channel``, ``@here`` and ``@everyone`` with a zero-width space after the ``@``: shown, not expanded."""
    return _BROADCAST.sub(lambda match: f"@{_ZERO_WIDTH_SPACE}{match.group(1)}", text)


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(text: object) -> str:
    """Customer-derived text for a Slack mrkdwn field: escaped, and unable to mention anyone."""
    return _no_broadcast(slack_escape(str(text)))


def slack_plain(text: object) -> str:
    """Customer-derived text for a Slack plain_text field (not parsed for links), unable to mention anyone."""
    return _no_broadcast(str(text)).replace("<!", f"<{_ZERO_WIDTH_SPACE}!")


def teams_text(text: object) -> str:
    """Customer-derived text for Teams Markdown: every Markdown control character backslash-escaped, so
    it shows as typed and can make no link, image, emphasis or mention."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", str(text))


def _slack_example(example: dict[str, Any]) -> dict[str, Any]:
    lines = [f"> {slack_text(_clip(example.get('redacted_text')))}"]
    insight = example_insight(example)
    if insight:
        lines.append(f"_{slack_text(insight)}_")
    label = slack_text(
        f"{example.get('channel')} {example.get('source_record_id') or example['feedback_id']}"
    )
    link = example.get("link")
    lines.append(f"<{link}|{label}>" if _is_web_link(link) else f"{label} `{slack_text(link)}`")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def slack_message(alert: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: fallback ``text`` plus Block Kit blocks."""
    title = headline(alert)
    window = alert["window"]
    facts = (
        f"*Owner:* {slack_text(alert['owner'])}\n*Window:* {window['first_day']} → {window['last_day']}\n"
        f"*Daily volume:* {trend_text(alert)}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": slack_plain(_clip(title, 150))}},
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_text(alert["summary"])}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        *(_slack_example(example) for example in alert.get("examples", [])),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_text(
                        f"{alert['alert_id']} rev {alert['revision']} · {len(alert['feedback_ids'])} feedback ids · "
                        + ", ".join(f"{k} {v}" for k, v in sorted(alert.get("versions", {}).items()))
                    ),
                }
            ],
        },
    ]
    return {"text": slack_text(title), "blocks": blocks}


def _facts(alert: dict[str, Any]) -> list[tuple[str, str]]:
    window = alert["window"]
    facts = [
        ("Owner", str(alert["owner"])),
        ("Window", f"{window['first_day']} → {window['last_day']}"),
        ("Daily volume", trend_text(alert)),
        ("Feedback ids", str(len(alert["feedback_ids"]))),
        ("Alert", f"{alert['alert_id']} (revision {alert['revision']})"),
    ]
    return [(name, teams_text(value)) for name, value in facts]


def _example_lines(example: dict[str, Any]) -> str:
    lines = [f"“{teams_text(_clip(example.get('redacted_text')))}”"]
    insight = example_insight(example)
    if insight:
        lines.append(teams_text(insight))
    label = f"{example.get('channel')} {example.get('source_record_id') or ''}"
    lines.append(f"{teams_text(label)} · {teams_text(example.get('link'))}")
    return "\n\n".join(lines)


def _open_url_actions(alert: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            _no_broadcast(
                f"Open {example.get('channel')} {example.get('source_record_id') or example['feedback_id']}"
            ),
            example["link"],
        )
        for example in alert.get("examples", [])
        if _is_web_link(example.get("link"))
    ]


def teams_adaptive_card(alert: dict[str, Any]) -> dict[str, Any]:
    """A Teams Workflows webhook body: one Adaptive Card (schema 1.4) in a message attachment."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": teams_text(headline(alert)),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": teams_text(alert["summary"]), "wrap": True},
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
        "title": teams_text(headline(alert)),
        "text": teams_text(alert["summary"]),
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
