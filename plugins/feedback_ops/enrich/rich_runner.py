"""Run the rich pass over cheap-pass results the routing rules select, once per (enrichment, rich) version.

One record never stops the pass: a record whose output breaks the ``RichInsight`` contract even once clipped to
it (or that the enricher raises a record error on) is isolated (``enrich.failures.isolate_failures``), written
to ``enrichment.record_failures`` (stage ``rich``) with its feedback id, reason and error, counted in
``RichRunStats.failed``, and not picked up again at the same versions and text; the rest of its batch is
written as usual."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.enrich.failures import RecordFailure, failure_of, isolate_failures, write_failures
from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.dialect import in_list

CANDIDATES_SQL = """
    select
        e.feedback_id, e.enrichment_version, e.text_hash, e.redacted_text, e.category, e.urgency,
        e.sentiment_label, e.confidence, s.product_area, s.channel
    from enrichment.feedback_enrichment as e
    join silver.int_feedback_deduplicated as s on s.feedback_id = e.feedback_id
    left join enrichment.feedback_insights as i
        on i.feedback_id = e.feedback_id and i.enrichment_version = e.enrichment_version and i.rich_version = ?
    left join enrichment.record_failures as f
        on f.stage = 'rich' and f.item_id = e.feedback_id and f.stage_version = ? and f.text_hash = e.text_hash
    where e.enrichment_version = ? and i.feedback_id is null and f.item_id is null
    order by e.feedback_id
"""
"""Cheap-pass results without insights (nor a failure on the same text) at the rich version (parameters: rich
version, ``rich_stage_version``, enrichment version)."""


def rich_stage_version(enrichment_version: str, rich_version: str) -> str:
    """The ``stage_version`` of the rich pass's failures: both versions."""
    return f"{rich_version}@{enrichment_version}"


def candidates_sql(warehouse: Warehouse, only_listed: bool) -> str:
    """``CANDIDATES_SQL``, limited to the feedback ids of one more list parameter when ``only_listed`` (the
    urgent lane names its arrivals; the other lanes take every candidate)."""
    if not only_listed:
        return CANDIDATES_SQL
    return CANDIDATES_SQL.replace(
        "order by e.feedback_id", f"and {in_list(warehouse, 'e.feedback_id')} order by e.feedback_id"
    )


ENTITY_KEYS = ["feedback_id", "enrichment_version", "rich_version", "entity_type", "entity_value"]


def _entity_frame(insights: list[Any]) -> Any:
    """One row per (insight, entity): what gold counts repeated references from."""
    import pandas as pd

    rows = [
        {
            "feedback_id": i.feedback_id,
            "enrichment_version": i.enrichment_version,
            "rich_version": i.rich_version,
            "entity_type": e.type,
            "entity_value": e.value,
        }
        for i in insights
        for e in i.entities
    ]
    return pd.DataFrame(rows, columns=ENTITY_KEYS)


@dataclass
class RichRunStats:
    """What one rich-pass run did."""

    rich_version: str
    candidates: int = 0
    routed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    claimed_elsewhere: int = 0
    """Routed records another lane's live claim held (that lane explains them)."""
    failed: int = 0
    """Routed records set aside in ``enrichment.record_failures`` (their output broke the contract)."""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def enrich_rich_pending(
    warehouse: Warehouse,
    settings: Settings,
    enrichment_version: str,
    rich_enricher: Any | None = None,
    *,
    lane: str = "micro_batch",
    feedback_ids: list[str] | None = None,
) -> RichRunStats:
    """Route the current cheap-pass results and write rich insights for the ones that need them.

    Each batch is claimed first (``ClaimBook.for_rich_pass``): lanes running at the same time never send a
    record to the (expensive) rich model twice; a record another lane holds is left to it.

    Args:
        lane: the lane running, named on its claims.
        feedback_ids: consider only these records (the urgent lane's arrivals); None: every candidate.
    """
    import pandas as pd

    from feedback_ops.enrich.claims import ClaimBook

    if rich_enricher is None:
        from feedback_ops.enrich.rich import LocalRichEnricher

        rich_enricher = LocalRichEnricher(settings)
    rules = rich_enricher.rules
    stats = RichRunStats(rich_version=rich_enricher.rich_version)
    ids = None if feedback_ids is None else [str(i) for i in feedback_ids]
    stage_version = rich_stage_version(enrichment_version, rich_enricher.rich_version)
    candidates = warehouse.query_df(
        candidates_sql(warehouse, ids is not None),
        [rich_enricher.rich_version, stage_version, enrichment_version, *([ids] if ids is not None else [])],
    )
    stats.candidates = len(candidates)
    routed = []
    for row in candidates.astype(object).where(candidates.notna(), None).to_dict("records"):
        reasons = rules.rich_reasons(
            row["feedback_id"], row["sentiment_label"], row["urgency"], row["confidence"]
        )
        if reasons:
            routed.append({**row, "rich_reasons": reasons})
    reason_counts: Counter[str] = Counter(r for row in routed for r in row["rich_reasons"])
    stats.reasons = dict(reason_counts)
    claims = ClaimBook.for_rich_pass(
        warehouse, enrichment_version, rich_enricher.rich_version, lane, settings.lanes.claim_lease_s
    )
    for start in range(0, len(routed), settings.batch_size):
        batch = routed[start : start + settings.batch_size]
        held = set(claims.claim([row["feedback_id"] for row in batch]))
        stats.claimed_elsewhere += len(batch) - len(held)
        batch = [row for row in batch if row["feedback_id"] in held]
        if not batch:
            continue
        try:
            insights, failures = _enrich_isolating_failures(rich_enricher, batch, stage_version)
        except BaseException:
            claims.release(sorted(held))  # pending again for the next run of any lane
            raise
        now = datetime.now(UTC).replace(tzinfo=None)

        def write(
            still_held: set[str],
            insights: list[Any] = insights,
            failures: list[RecordFailure] = failures,
            now: datetime = now,
        ) -> None:
            write_failures(warehouse, [f for f in failures if f.feedback_id in still_held], now)
            kept = [i for i in insights if i.feedback_id in still_held]
            frame = pd.DataFrame([{**i.model_dump(), "enriched_at": now} for i in kept])
            if frame.empty:
                return
            warehouse.upsert(
                "enrichment.feedback_insights",
                frame,
                keys=["feedback_id", "enrichment_version", "rich_version"],
            )
            warehouse.upsert("enrichment.feedback_entities", _entity_frame(kept), keys=ENTITY_KEYS)

        written = claims.write_held(sorted(held), write)
        stats.routed += sum(1 for i in insights if i.feedback_id in written)
        stats.failed += sum(1 for f in failures if f.feedback_id in written)
    return stats


def _enrich_isolating_failures(
    rich_enricher: Any, batch: list[dict[str, Any]], stage_version: str
) -> tuple[list[Any], list[RecordFailure]]:
    """The insights of ``batch``, and a failure for each record the enricher raised a record error on alone."""
    done, failed = isolate_failures(batch, rich_enricher.enrich)
    insights = [insight for _, part in done for insight in part]
    failures = [
        failure_of(
            "rich", stage_version, error, feedback_id=row["feedback_id"], text_hash=row.get("text_hash")
        )
        for row, error in failed
    ]
    return insights, failures
