"""Alert routing: which destinations a theme's alerts go to, where operators' pipeline-health alerts go, the
update policy, retries and record links.

Everything comes from ``include/alert_routing.yaml`` (versioned). The local log is not a route: it always gets a
copy. Destinations name an Airflow connection; nothing secret lives in the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

DESTINATION_TYPES = ("slack", "teams", "webhook")
THEME_SPIKE = "theme_spike"
PIPELINE_HEALTH = "pipeline_health"
"""The two kinds of alert: customer-theme spikes (routed by category) and operators' pipeline health."""
SAFE_LINK_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class Destination:
    """A place alerts are posted to, reached through an Airflow connection."""

    name: str
    type: str
    conn_id: str


@dataclass(frozen=True)
class AlertPolicy:
    """When an open incident is worth a new message.

    Attributes:
        cooldown: the least time between two messages about one incident (data time).
        update_min_growth: the volume growth (0.5 = +50 %) since the last message that makes an update.
        update_on_new_day: an incident reaching a new day also makes an update.
    """

    cooldown: timedelta = timedelta(minutes=60)
    update_min_growth: float = 0.5
    update_on_new_day: bool = True


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries of one delivery: ``max_attempts`` calls per run with exponential backoff, over ``max_runs`` runs."""

    max_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 20.0
    timeout_s: float = 10.0
    max_runs: int = 24

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s)


@dataclass(frozen=True)
class LinkTemplates:
    """How a feedback record links back to its source."""

    default: str = "feedback-ops://feedback/{feedback_id}"
    by_channel: dict[str, str] = field(default_factory=dict)

    def link(self, record: dict[str, Any]) -> str:
        """The record's link: its channel's template, else the default, filled with its URL-encoded ids.

        Never the record's own ``url`` field: that is customer data (it can hide a mention or a disguised
        link), so every link an alert or a report carries has the shape an operator configured.
        """
        template = self.by_channel.get(str(record.get("channel")), self.default)
        values = {
            key: quote(str(record.get(key) or ""), safe="")
            for key in ("feedback_id", "source_record_id", "channel")
        }
        return template.format(**values)


@dataclass(frozen=True)
class PipelineHealthPolicy:
    """What makes an operators' (pipeline-health) alert, besides failed tasks and gates.

    Attributes:
        owner: who the alerts name as owner.
        freshness_statuses: dbt source freshness statuses that alert (``warn``, ``error``, ``runtime error``).
        label_drift: alert when the latest enrichment run's label drift is flagged (``enrich.drift``).
        max_p95_latency_ms: the latest enrichment run's 95th-percentile model latency budget (None: no check).
        max_run_cost_usd: the latest enrichment run's model cost budget (None: the enrichment run budget,
            ``FEEDBACK_OPS_LLM_RUN_BUDGET_USD``).
    """

    owner: str = "data platform on-call"
    freshness_statuses: tuple[str, ...] = ("warn", "error", "runtime error")
    label_drift: bool = True
    max_p95_latency_ms: float | None = 5000.0
    max_run_cost_usd: float | None = None


@dataclass(frozen=True)
class AlertRouting:
    """The parsed routing file."""

    version: str
    destinations: dict[str, Destination]
    routes: dict[str, tuple[str, ...]]
    default: tuple[str, ...] = ()
    policy: AlertPolicy = AlertPolicy()
    delivery: DeliveryPolicy = DeliveryPolicy()
    links: LinkTemplates = LinkTemplates()
    operators: tuple[str, ...] = ()
    pipeline_health: PipelineHealthPolicy = PipelineHealthPolicy()

    def destinations_for(self, category: str) -> list[Destination]:
        """The destinations of a theme's alerts (not counting the log, which always gets a copy)."""
        names = self.routes.get(category, self.default)
        return [self.destinations[name] for name in names]

    def destinations_for_alert(self, payload: dict[str, Any]) -> list[Destination]:
        """Where an alert goes: a pipeline-health alert to the ``operators`` route only (never to a theme's
        route, whatever its ``category`` says), a customer-theme alert to its category's route."""
        if payload.get("kind") == PIPELINE_HEALTH:
            return [self.destinations[name] for name in self.operators]
        return self.destinations_for(payload["theme"]["category"])


def _destinations(document: dict[str, Any]) -> dict[str, Destination]:
    destinations = {}
    for name, spec in (document.get("destinations") or {}).items():
        if name == "log":
            raise ValueError("alert_routing.yaml: 'log' is the local alert log, not a destination name")
        kind = (spec or {}).get("type")
        if kind not in DESTINATION_TYPES:
            raise ValueError(
                f"alert_routing.yaml: destination {name!r} has type {kind!r}, not {DESTINATION_TYPES}"
            )
        if not spec.get("conn_id"):
            raise ValueError(f"alert_routing.yaml: destination {name!r} has no conn_id")
        destinations[name] = Destination(name=name, type=kind, conn_id=str(spec["conn_id"]))
    return destinations


def _routes(document: dict[str, Any], known: dict[str, Destination]) -> dict[str, tuple[str, ...]]:
    routes = {str(k): tuple(v or ()) for k, v in (document.get("routes") or {}).items()}
    routes["*"] = tuple(document.get("default") or ())
    operators = tuple(document.get("operators") or ())
    unknown = sorted({name for names in [*routes.values(), operators] for name in names} - set(known))
    if unknown:
        raise ValueError(f"alert_routing.yaml: routes name unknown destinations {unknown}")
    return routes


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _pipeline_health(document: dict[str, Any]) -> PipelineHealthPolicy:
    defaults = PipelineHealthPolicy()
    policy = PipelineHealthPolicy(
        owner=str(document.get("owner") or defaults.owner),
        freshness_statuses=tuple(document.get("freshness_statuses", defaults.freshness_statuses) or ()),
        label_drift=bool(document.get("label_drift", defaults.label_drift)),
        max_p95_latency_ms=_optional_float(document.get("max_p95_latency_ms", defaults.max_p95_latency_ms)),
        max_run_cost_usd=_optional_float(document.get("max_run_cost_usd", defaults.max_run_cost_usd)),
    )
    for name in ("max_p95_latency_ms", "max_run_cost_usd"):
        value = getattr(policy, name)
        if value is not None and value < 0:
            raise ValueError(f"alert_routing.yaml: pipeline_health.{name} must not be negative")
    return policy


def parse_alert_routing(raw: bytes) -> AlertRouting:
    """Validate routing YAML bytes.

    Raises:
        ValueError: an unknown destination type, a destination without a connection, a route (or the
            ``operators`` route) to an undeclared destination, or a negative threshold.
    """
    document: dict[str, Any] = yaml.safe_load(raw) or {}
    destinations = _destinations(document)
    routes = _routes(document, destinations)
    default = routes.pop("*")
    policy_doc = document.get("policy") or {}
    policy = AlertPolicy(
        cooldown=timedelta(minutes=float(policy_doc.get("cooldown_minutes", 60))),
        update_min_growth=float(policy_doc.get("update_min_growth", 0.5)),
        update_on_new_day=bool(policy_doc.get("update_on_new_day", True)),
    )
    if policy.cooldown < timedelta(0) or policy.update_min_growth < 0:
        raise ValueError("alert_routing.yaml: cooldown_minutes and update_min_growth must not be negative")
    delivery_doc = document.get("delivery") or {}
    defaults = DeliveryPolicy()
    delivery = DeliveryPolicy(
        max_attempts=max(1, int(delivery_doc.get("max_attempts", defaults.max_attempts))),
        backoff_base_s=float(delivery_doc.get("backoff_base_s", defaults.backoff_base_s)),
        backoff_max_s=float(delivery_doc.get("backoff_max_s", defaults.backoff_max_s)),
        timeout_s=float(delivery_doc.get("timeout_s", defaults.timeout_s)),
        max_runs=max(1, int(delivery_doc.get("max_runs", defaults.max_runs))),
    )
    links_doc = document.get("links") or {}
    links = LinkTemplates(
        default=str(links_doc.get("default") or LinkTemplates.default),
        by_channel={str(k): str(v) for k, v in (links_doc.get("by_channel") or {}).items()},
    )
    return AlertRouting(
        version=f"{document.get('version', '0')}+{hashlib.sha256(raw).hexdigest()[:8]}",
        operators=tuple(str(name) for name in document.get("operators") or ()),
        pipeline_health=_pipeline_health(document.get("pipeline_health") or {}),
        destinations=destinations,
        routes=routes,
        default=default,
        policy=policy,
        delivery=delivery,
        links=links,
    )


def load_alert_routing(path: Path) -> AlertRouting:
    """Read and validate the routing file."""
    return parse_alert_routing(path.read_bytes())
