"""Operators' alerts: the pipeline's own health, before a dashboard becomes misleading.

Signals, each one a ``HealthSignal``:
- a failed task, from the DAG's ``on_failure_callback`` (:func:`on_task_failure`): a quality gate that raised
  ``GateFailed`` names the contracts that broke (``schema_drift`` when the silver gate's
  ``quarantine_by_file`` contract broke: a whole file quarantined is a changed export format), any other
  failure names the task;
- a landing file parked after the silver build (:func:`parked_file_signal`, ``feedback_ops.ingest.parked_files``):
  the file broke its contract, is set aside with the reason, and every other file flows on;
- after each run (:func:`raise_pipeline_health_alerts`, called by the ``send_alerts`` task): dbt source
  freshness breaches, label drift of the latest enrichment run (``enrich.drift``), and the latest enrichment
  run's model latency (95th percentile) or cost over budget (``pipeline_health`` in the routing file).

They go through the same machinery as customer-theme alerts — one incident per (check, subject) until it is
resolved, updated under the same cooldown and growth policy, recorded in ``alerts.alert_incidents`` (with
``kind = 'pipeline_health'``) and ``alerts.alert_deliveries`` — but to the routing file's ``operators``
route only, never to a theme's route; the local JSONL log and console always get a copy. The same
occurrence (a run id, a freshness snapshot) reported twice sends nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.alerts.routing import PIPELINE_HEALTH, AlertRouting, PipelineHealthPolicy

if TYPE_CHECKING:
    from feedback_ops.config import Settings
    from feedback_ops.ingest.parked_files import ParkedFile
    from feedback_ops.quality.gates import GateFailed
    from feedback_ops.warehouse.base import Warehouse

log = logging.getLogger(__name__)

SCHEMA_DRIFT_CONTRACTS = ("silver.quarantine_by_file",)
"""Contracts whose failure means the shape of incoming data changed (schema drift), not a few bad rows."""
MAX_OCCURRENCES = 20
MAX_SUMMARY_CHARS = 1500

OPEN_INCIDENT_SQL = """
    select i.alert_id, i.payload from alerts.alert_incidents i
    where i.kind = 'pipeline_health' and i.category = ? and i.product_area = ?
        and not exists (
            select 1 from alerts.alert_events e where e.alert_id = i.alert_id and e.event = 'resolved'
        )
    order by i.opened_at desc, i.alert_id
    limit 1
"""

LATEST_RUN_SQL = """
    select run_id, enrichment_version, started_at, records, drift_distance, drift_flagged, category_counts
    from enrichment.enrichment_runs where records > 0
    order by started_at desc, run_id desc limit 1
"""

RUN_USAGE_SQL = """
    select count(*) as records, quantile_cont(latency_ms, 0.95) as p95_latency_ms,
        coalesce(sum(cost_usd), 0) as cost_usd
    from enrichment.feedback_enrichment
    where enrichment_version = ? and enriched_at >= ?
"""


@dataclass(frozen=True)
class HealthSignal:
    """One observation that something in the pipeline is wrong.

    Attributes:
        check: ``gate_failed``, ``schema_drift``, ``task_failed``, ``file_parked``, ``source_freshness``,
            ``label_drift``, ``model_latency`` or ``model_cost``.
        subject: what it is about (the contracts, the task, the source, the enrichment version); one open
            incident per (check, subject).
        occurrence: what identifies this observation (a task try, a run id, a freshness snapshot): reported
            again, it changes nothing.
        title / summary: what a person reads first.
        details: the evidence, as JSON-ready values.
    """

    check: str
    subject: str
    occurrence: str
    title: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class HealthRun:
    """What one evaluation decided (part of the ``send_alerts`` task's XCom)."""

    as_of: str
    signals: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"as_of": self.as_of, "signals": self.signals, "alerts": self.alerts}


def naive_utc(value: Any) -> datetime | None:
    """A datetime (or pendulum / pandas timestamp) as naive UTC, the warehouse's convention; None stays None."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond
    )


def wall_clock() -> datetime:
    """Now, naive UTC: pipeline health is about the runs themselves, so it has no data time of its own."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- signals -------------------------------------------------------------------------------------------------


def gate_signal(error: GateFailed, task: str, occurrence: str) -> HealthSignal:
    """A failed quality gate: the contracts (suites) that broke and their failed expectations."""
    failures = error.result.failures
    contracts = sorted({outcome.suite for outcome in failures})
    check = "schema_drift" if set(contracts) & set(SCHEMA_DRIFT_CONTRACTS) else "gate_failed"
    what = "Schema drift" if check == "schema_drift" else "Quality gate failed"
    stage = error.result.stage
    return HealthSignal(
        check=check,
        subject=", ".join(contracts) or stage,
        occurrence=occurrence,
        title=f"{what}: {stage} gate broke {', '.join(contracts) or 'its contract'}",
        summary=str(error)[:MAX_SUMMARY_CHARS],
        details={
            "stage": stage,
            "task": task,
            "contracts": contracts,
            "failed_expectations": [
                {
                    "contract": outcome.suite,
                    "expectation": outcome.expectation_type,
                    "column": outcome.column,
                    "unexpected_count": outcome.unexpected_count,
                }
                for outcome in failures
            ],
            "data_docs": str(error.result.data_docs_index),
        },
    )


def task_failure_signal(error: BaseException | None, task: str, occurrence: str) -> HealthSignal:
    """A task that failed for any other reason (after its retries)."""
    reason = f"{type(error).__name__}: {error}" if error is not None else "no exception recorded"
    return HealthSignal(
        check="task_failed",
        subject=task,
        occurrence=occurrence,
        title=f"Pipeline task failed: {task}",
        summary=reason[:MAX_SUMMARY_CHARS],
        details={"task": task, "error_type": type(error).__name__ if error is not None else None},
    )


FILE_PARKED = "file_parked"


def parked_file_subject(source_file: str, file_checksum: str) -> str:
    """The subject of a parked file's incident: its name and the start of its checksum."""
    return f"{source_file} ({file_checksum[:12]})"


def parked_file_signal(parked: ParkedFile) -> HealthSignal:
    """A landing file parked: it broke its contract, its rows are set aside, every other file flows on."""
    checksum = parked.file_checksum
    return HealthSignal(
        check=FILE_PARKED,
        subject=parked_file_subject(parked.source_file, checksum),
        occurrence=f"{checksum}|parked {parked.times_parked}",  # parked again after a release: a new occurrence
        title=f"Landing file parked: {parked.source_file}",
        summary=(
            f"{parked.source_file} (checksum {checksum[:12]}) broke its contract and is parked: {parked.reason}. "
            "Its rows stay in bronze and go no further; every other file flows on. Fix the export and deliver "
            f"it again, then `feedback-ops files drop {checksum[:12]}`; or, after a fix to the pipeline, "
            f"`feedback-ops files release {checksum[:12]}` to validate it again (also the file_actions DAG)."
        )[:MAX_SUMMARY_CHARS],
        details={**parked.as_dict(), "reasons": parked.reasons},
    )


def resolve_parked_file_incident(
    warehouse: Warehouse, source_file: str, file_checksum: str, actor: str, note: str
) -> str | None:
    """Resolve the open incident of a parked file the operator released or dropped (so a file parked again
    after a release opens a new one, sent at once); returns its id, None when there is none."""
    from feedback_ops.alerts.lifecycle import resolve

    subject = parked_file_subject(source_file, file_checksum)
    rows = warehouse.query_df(OPEN_INCIDENT_SQL, [FILE_PARKED, subject]).to_dict("records")
    if not rows:
        return None
    resolve(warehouse, rows[0]["alert_id"], by=actor, note=note, source="file_action")
    return str(rows[0]["alert_id"])


def freshness_signals(results: list[dict[str, Any]], policy: PipelineHealthPolicy) -> list[HealthSignal]:
    """Source freshness breaches from dbt's ``sources.json`` results (one signal per stale source table)."""
    signals = []
    for result in results:
        status = str(result.get("status") or "")
        if status not in policy.freshness_statuses:
            continue
        source = str(result.get("unique_id") or "").removeprefix("source.").split(".", 1)[-1]
        age_h = result.get("max_loaded_at_time_ago_in_s")
        age = f"{float(age_h) / 3600:.1f} h" if age_h is not None else "unknown"
        signals.append(
            HealthSignal(
                check="source_freshness",
                subject=source,
                occurrence=f"{status}|{result.get('max_loaded_at')}",
                title=f"Source freshness {status}: {source} last loaded {age} ago",
                summary=(
                    f"dbt source freshness reports {status} for {source}: the newest row was loaded at "
                    f"{result.get('max_loaded_at')} ({age} before {result.get('snapshotted_at')}); "
                    f"criteria {json.dumps(result.get('criteria') or {}, sort_keys=True)}. Gold and the "
                    "reports do not show anything newer until it loads again."
                ),
                details={
                    "status": status,
                    "max_loaded_at": result.get("max_loaded_at"),
                    "snapshotted_at": result.get("snapshotted_at"),
                    "max_loaded_at_time_ago_in_s": age_h,
                    "criteria": result.get("criteria"),
                    "error": result.get("error"),
                },
            )
        )
    return signals


def enrichment_run_signals(
    warehouse: Warehouse, policy: PipelineHealthPolicy, default_max_cost_usd: float | None
) -> list[HealthSignal]:
    """Label drift, latency and cost of the latest enrichment run that enriched something."""
    runs = warehouse.query_df(LATEST_RUN_SQL).to_dict("records")
    if not runs:
        return []
    run = runs[0]
    version, run_id = str(run["enrichment_version"]), str(run["run_id"])
    signals = []
    if policy.label_drift and bool(run["drift_flagged"]):
        from feedback_ops.enrich.drift import DRIFT_THRESHOLD

        signals.append(
            HealthSignal(
                check="label_drift",
                subject=version,
                occurrence=run_id,
                title=f"Label drift: categories moved {float(run['drift_distance']):.0%} in the latest run",
                summary=(
                    f"The {int(run['records'])} records of enrichment run {run_id} (version {version}) landed in "
                    f"categories at a total variation distance of {float(run['drift_distance']):.2f} from the "
                    f"previous run (threshold {DRIFT_THRESHOLD}). A real incident shifts categories too: check "
                    "the spikes before suspecting the model, prompt or taxonomy."
                ),
                details={
                    "run_id": run_id,
                    "records": int(run["records"]),
                    "distance": float(run["drift_distance"]),
                    "threshold": DRIFT_THRESHOLD,
                    "categories": json.loads(run["category_counts"]),
                },
            )
        )
    usage = warehouse.query_df(RUN_USAGE_SQL, [version, run["started_at"]]).to_dict("records")[0]
    p95 = usage["p95_latency_ms"]
    p95 = None if p95 is None or p95 != p95 else float(p95)
    if policy.max_p95_latency_ms is not None and p95 is not None and p95 > policy.max_p95_latency_ms:
        signals.append(
            HealthSignal(
                check="model_latency",
                subject=version,
                occurrence=run_id,
                title=f"Model latency over budget: p95 {p95:,.0f} ms > {policy.max_p95_latency_ms:,.0f} ms",
                summary=(
                    f"Enrichment run {run_id} (version {version}, {int(usage['records'])} records): 95th-percentile "
                    f"model latency {p95:,.0f} ms against a budget of {policy.max_p95_latency_ms:,.0f} ms. Urgent "
                    "items reach people later; check the provider's status and the concurrency limits."
                ),
                details={"run_id": run_id, "p95_latency_ms": p95, "budget_ms": policy.max_p95_latency_ms},
            )
        )
    budget = policy.max_run_cost_usd if policy.max_run_cost_usd is not None else default_max_cost_usd
    cost = float(usage["cost_usd"] or 0)
    if budget is not None and cost > budget:
        signals.append(
            HealthSignal(
                check="model_cost",
                subject=version,
                occurrence=run_id,
                title=f"Model cost over budget: ${cost:,.2f} > ${budget:,.2f} in one run",
                summary=(
                    f"Enrichment run {run_id} (version {version}, {int(usage['records'])} records) cost "
                    f"${cost:,.4f} against a run budget of ${budget:,.2f}."
                ),
                details={"run_id": run_id, "cost_usd": cost, "budget_usd": budget},
            )
        )
    return signals


# --- incidents and messages ----------------------------------------------------------------------------------


def incident_id(signal: HealthSignal, opened_at: datetime) -> str:
    """A new incident's id: the check, the subject and when it opened (a resolved incident stays closed)."""
    key = f"{PIPELINE_HEALTH}|{signal.check}|{signal.subject}|{opened_at.isoformat()}"
    return "ops_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def build_health_payload(
    signal: HealthSignal,
    alert_id: str,
    occurrences: list[str],
    first_seen: datetime,
    as_of: datetime,
    policy: PipelineHealthPolicy,
    routing_version: str,
) -> dict[str, Any]:
    """The operators' alert: the customer-alert shape (so every channel renders it), without feedback items."""
    payload = {
        "alert_id": alert_id,
        "kind": PIPELINE_HEALTH,
        "check": signal.check,
        "subject": signal.subject,
        "title": signal.title,
        "summary": signal.summary,
        "details": signal.details,
        "theme": {"category": signal.check, "product_area": signal.subject},
        "owner": policy.owner,
        "window": {"first_day": str(first_seen.date()), "last_day": str(as_of.date())},
        "volume": len(occurrences),
        "occurrences": occurrences,
        "volume_trend": [],
        "examples": [],
        "feedback_ids": [],
        "source_records": [],
        "versions": {"alert_routing_version": routing_version},
    }
    payload["revision"] = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    return payload


def raise_health_signals(
    warehouse: Warehouse,
    settings: Settings,
    signals: list[HealthSignal],
    as_of: datetime | None = None,
    routing: AlertRouting | None = None,
    sleep: Any = time.sleep,
) -> HealthRun:
    """Open or update one operators' incident per (check, subject) as the alert policy says, and deliver it to
    the log and the ``operators`` route."""
    from feedback_ops.alerts.dispatch import Dispatcher, outgoing_message
    from feedback_ops.alerts.policy import decide
    from feedback_ops.alerts.routing import load_alert_routing
    from feedback_ops.alerts.state import AlertStore

    routing = routing or load_alert_routing(settings.alert_routing_path)
    as_of = as_of or wall_clock()
    store = AlertStore(warehouse)
    sent = store.sent(kind=PIPELINE_HEALTH)
    dispatcher = Dispatcher(store, settings, routing, as_of, sleep)
    run = HealthRun(as_of=as_of.isoformat(), signals=len(signals))
    for signal in signals:
        rows = warehouse.query_df(OPEN_INCIDENT_SQL, [signal.check, signal.subject]).to_dict("records")
        previous_payload = json.loads(rows[0]["payload"]) if rows else None
        alert_id = rows[0]["alert_id"] if rows else incident_id(signal, as_of)
        previous = sent.get(alert_id)
        known = list(previous_payload.get("occurrences") or []) if previous_payload else []
        summary = {"alert_id": alert_id, "check": signal.check, "subject": signal.subject}
        if signal.occurrence in known:
            run.alerts.append({**summary, "action": "none", "reason": "occurrence already reported"})
            continue
        occurrences = [*known, signal.occurrence][-MAX_OCCURRENCES:]
        first_seen = previous.opened_at if previous else as_of
        payload = build_health_payload(
            signal, alert_id, occurrences, first_seen, as_of, routing.pipeline_health, routing.version
        )
        decision = decide(len(known) + 1, as_of.date(), payload["revision"], previous, as_of, routing.policy)
        summary.update(action=decision.action, reason=decision.reason)
        if decision.sends:
            summary["deliveries"] = dispatcher.send(outgoing_message(payload, previous, as_of))
        run.alerts.append(summary)
    return run


# --- entry points --------------------------------------------------------------------------------------------


def raise_pipeline_health_alerts(
    warehouse: Warehouse,
    settings: Settings,
    as_of: datetime | None = None,
    freshness: list[dict[str, Any]] | None = None,
    routing: AlertRouting | None = None,
    sleep: Any = time.sleep,
) -> HealthRun:
    """After a run: source freshness breaches (``freshness``: dbt's results, see :func:`source_freshness`),
    label drift, latency and cost of the latest enrichment run."""
    from feedback_ops.alerts.routing import load_alert_routing

    routing = routing or load_alert_routing(settings.alert_routing_path)
    policy = routing.pipeline_health
    signals = freshness_signals(freshness or [], policy)
    signals += enrichment_run_signals(warehouse, policy, settings.llm.run_budget_usd)
    return raise_health_signals(warehouse, settings, signals, as_of, routing, sleep)


def source_freshness(settings: Settings, dbt_vars: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run ``dbt source freshness`` and return its per-table results (``sources.json``); a breach at
    ``error_after`` makes dbt report failure, which is a result here, not an exception.

    ``dbt_vars``: the vars of the run's other dbt commands (``transform.dbt_runner.dbt_vars``); freshness reads none, but
    the same vars let dbt reuse its parsed project instead of parsing it again."""
    from feedback_ops.transform.dbt_runner import DbtBuildFailed, run_dbt

    artifact = settings.dbt_target_dir / "sources.json"
    artifact.unlink(missing_ok=True)
    try:
        run_dbt("source freshness", settings, dbt_vars=dbt_vars)
    except DbtBuildFailed as failure:
        if not artifact.exists():
            raise
        log.warning("dbt source freshness reported a breach: %s", failure)
    return list(json.loads(artifact.read_text(encoding="utf-8")).get("results") or [])


def _task_and_occurrence(context: dict[str, Any]) -> tuple[str, str]:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or "unknown_dag"
    task_id = getattr(ti, "task_id", None) or "unknown_task"
    run_id = getattr(ti, "run_id", None) or getattr(context.get("dag_run"), "run_id", None)
    try_number = getattr(ti, "try_number", None)
    return f"{dag_id}.{task_id}", f"{dag_id}|{run_id}|{task_id}|{try_number}"


def failure_signal(context: dict[str, Any]) -> HealthSignal:
    """The signal of a failed task from its Airflow callback context (``exception``, ``ti``)."""
    from feedback_ops.quality.gates import GateFailed

    task, occurrence = _task_and_occurrence(context)
    error = context.get("exception")
    if isinstance(error, GateFailed):
        return gate_signal(error, task, occurrence)
    return task_failure_signal(error, task, occurrence)


def on_task_failure(context: dict[str, Any], settings: Settings | None = None) -> HealthRun | None:
    """``on_failure_callback`` of the pipeline's tasks: one operators' alert per failed gate or task.

    The time is the run's logical date (the data interval's end, or the wall clock for a manual run without
    one). Never raises: a broken alert path must not hide the failure it reports (it is logged instead).
    """
    from feedback_ops.config import get_settings
    from feedback_ops.warehouse import open_warehouse

    try:
        settings = settings or get_settings()
        signal = failure_signal(context)
        as_of = naive_utc(context.get("logical_date") or context.get("data_interval_end")) or wall_clock()
        with open_warehouse(settings) as warehouse:
            return raise_health_signals(warehouse, settings, [signal], as_of)
    except Exception:  # noqa: BLE001 - a callback that raises would mask the task's own failure
        log.exception("could not raise the pipeline-health alert for a failed task")
        return None
