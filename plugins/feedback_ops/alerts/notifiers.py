"""Where alerts go: the local JSON Lines log and console (always), Slack, Microsoft Teams and generic webhooks.

Each remote destination is reached through an Airflow connection: Slack through the Slack provider's
``SlackWebhookHook``, Teams and webhooks by a plain JSON POST to the connection's URL. A delivery is retried
inside the run on 5xx, 429, timeouts and connection errors with exponential backoff, never on other 4xx; the
result is returned (not raised) so the caller records it and retries a failure on the next run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from feedback_ops.alerts import messages
from feedback_ops.alerts.routing import DeliveryPolicy, Destination

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one delivery.

    Attributes:
        status: ``delivered``, ``failed`` (retried on the next run) or ``unconfigured`` (no connection).
        attempts: calls made in this run.
        http_status: the last HTTP status, when there was a response.
        error: why it failed, for the delivery record.
    """

    status: str
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None


class Notifier(Protocol):
    """Delivers one alert payload to one destination."""

    name: str
    type: str

    def deliver(self, alert: dict[str, Any]) -> DeliveryResult: ...


class ConnectionNotDefined(Exception):
    """The destination's Airflow connection does not exist."""


class ConnectionMisconfigured(Exception):
    """The connection exists but cannot be used (no webhook URL or token): fails without a retry in the run."""


def is_retryable(http_status: int) -> bool:
    """5xx and 429 (rate limited) are worth another try; any other 4xx will fail the same way again."""
    return http_status >= 500 or http_status == 429


def send_with_retry(
    send: Callable[[], int], policy: DeliveryPolicy, sleep: Sleep = time.sleep
) -> DeliveryResult:
    """Call ``send`` (returning an HTTP status) until it succeeds, fails for good, or attempts run out."""
    status: int | None = None
    error = None
    for attempt in range(1, policy.max_attempts + 1):
        try:
            status, error = send(), None
        except ConnectionNotDefined as missing:
            return DeliveryResult("unconfigured", attempt - 1, None, str(missing))
        except ConnectionMisconfigured as broken:
            return DeliveryResult("failed", attempt - 1, None, str(broken))
        except OSError as failure:  # timeouts, refused connections, DNS: transient
            status, error = None, f"{type(failure).__name__}: {failure}"
        if status is not None and 200 <= status < 300:
            return DeliveryResult("delivered", attempt, status)
        if status is not None and not is_retryable(status):
            return DeliveryResult("failed", attempt, status, f"HTTP {status}: not retried")
        if attempt < policy.max_attempts:
            sleep(policy.backoff(attempt))
    return DeliveryResult("failed", policy.max_attempts, status, error or f"HTTP {status}")


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` as JSON; the HTTP status (an error status is returned, not raised)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def get_connection(conn_id: str) -> Any:
    """The Airflow connection (from ``AIRFLOW_CONN_<ID>``, a secrets backend or the metadata database)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as missing:
        raise ConnectionNotDefined(f"Airflow connection {conn_id!r} is not defined") from missing


def connection_url(connection: Any) -> str:
    """The URL an http connection points at: ``host`` when it holds a full URL, else built from
    ``schema`` (the protocol, https by default), ``host`` and ``port``; extra ``endpoint`` is appended."""
    host = (connection.host or "").strip()
    if not host:
        raise ConnectionMisconfigured(f"connection {connection.conn_id!r} has no host (the webhook URL)")
    if "://" not in host:
        port = f":{connection.port}" if connection.port else ""
        host = f"{connection.schema or 'https'}://{host}{port}"
    endpoint = str(connection.extra_dejson.get("endpoint") or "")
    return host.rstrip("/") + ("/" + endpoint.lstrip("/") if endpoint else "")


class AlertLogNotifier:
    """Appends alerts to a JSON Lines file and logs a one-line headline to the console."""

    name = "log"
    type = "log"

    def __init__(self, path: Path) -> None:
        self.path = path

    def deliver(self, alert: dict[str, Any]) -> DeliveryResult:
        """Append the payload as one line; never fails softly (a full disk should stop the task)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(alert, ensure_ascii=False, sort_keys=True, default=str) + "\n")
        # operators' alerts stand out from customer-theme ones on the console
        label = "PIPELINE HEALTH ALERT" if alert.get("kind") == "pipeline_health" else "ALERT"
        log.warning("%s %s: %s", label, alert["alert_id"], messages.headline(alert))
        return DeliveryResult("delivered", 1)


class SlackNotifier:
    """Posts Block Kit messages through the Slack provider's ``SlackWebhookHook`` (conn_type slackwebhook)."""

    type = "slack"

    def __init__(self, destination: Destination, policy: DeliveryPolicy, sleep: Sleep = time.sleep) -> None:
        self.name = destination.name
        self.conn_id = destination.conn_id
        self.policy = policy
        self.sleep = sleep

    def _client(self) -> Any:
        # A missing connection is "unconfigured", not a failure; checked first, as the provider is slow to import.
        get_connection(self.conn_id)
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        # Retries are ours (same policy for every channel), so the SDK's own handlers are switched off.
        hook = SlackWebhookHook(
            slack_webhook_conn_id=self.conn_id,
            timeout=max(1, round(self.policy.timeout_s)),
            retry_handlers=[],
        )
        try:
            return hook.client
        except Exception as error:  # the provider raises AirflowException subclasses for a bad connection
            raise ConnectionMisconfigured(f"Slack connection {self.conn_id!r}: {error}") from error

    def deliver(self, alert: dict[str, Any]) -> DeliveryResult:
        """Send the alert; the hook's client returns the HTTP status instead of raising on it."""
        body = messages.slack_message(alert)
        client = None

        def send() -> int:
            nonlocal client
            client = client or self._client()
            return int(client.send_dict(body).status_code)

        return send_with_retry(send, self.policy, self.sleep)


class HttpWebhookNotifier:
    """POSTs a JSON body to an http connection's URL: Teams cards or the generic webhook body."""

    def __init__(
        self,
        destination: Destination,
        policy: DeliveryPolicy,
        render: Callable[[dict[str, Any], Any], dict[str, Any]],
        sleep: Sleep = time.sleep,
    ) -> None:
        self.name = destination.name
        self.type = destination.type
        self.conn_id = destination.conn_id
        self.policy = policy
        self.render = render
        self.sleep = sleep

    def deliver(self, alert: dict[str, Any]) -> DeliveryResult:
        """Resolve the connection, render the body for it, POST with retries."""

        def send() -> int:
            connection = get_connection(self.conn_id)
            headers = dict(connection.extra_dejson.get("headers") or {})
            if connection.password:
                headers["Authorization"] = f"Bearer {connection.password}"
            body = self.render(alert, connection)
            return post_json(connection_url(connection), body, headers, self.policy.timeout_s)

        return send_with_retry(send, self.policy, self.sleep)


def _teams_body(alert: dict[str, Any], connection: Any) -> dict[str, Any]:
    if str(connection.extra_dejson.get("card", "")).lower() == "messagecard":
        return messages.teams_message_card(alert)
    return messages.teams_adaptive_card(alert)


def _webhook_body(alert: dict[str, Any], connection: Any) -> dict[str, Any]:
    return messages.webhook_body(alert)


def build_notifier(destination: Destination, policy: DeliveryPolicy, sleep: Sleep = time.sleep) -> Notifier:
    """The notifier of a routed destination."""
    if destination.type == "slack":
        return SlackNotifier(destination, policy, sleep)
    render = _teams_body if destination.type == "teams" else _webhook_body
    return HttpWebhookNotifier(destination, policy, render, sleep)
