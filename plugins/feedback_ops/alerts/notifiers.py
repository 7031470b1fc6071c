"""Where alerts go. Locally: a JSON Lines log plus the console. Slack / Teams / webhooks come later."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Delivers one alert payload."""

    def send(self, alert: dict[str, Any]) -> None: ...

    def already_sent(self) -> dict[str, str]:
        """``alert_id -> revision`` of everything delivered so far (for dedupe)."""
        ...


class AlertLogNotifier:
    """Appends alerts to a JSON Lines file and logs a one-line headline."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, alert: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(alert, ensure_ascii=False, sort_keys=True, default=str) + "\n")
        log.warning("ALERT %s: %s", alert["alert_id"], alert["title"])

    def already_sent(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        sent: dict[str, str] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                sent[record["alert_id"]] = record["revision"]
        return sent
