"""Run the rich pass over cheap-pass results the routing rules select, once per (enrichment, rich) version."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.warehouse import DuckDBWarehouse

CANDIDATES_SQL = """
    select
        e.feedback_id, e.enrichment_version, e.redacted_text, e.category, e.urgency, e.sentiment_label,
        e.confidence, s.product_area, s.channel
    from enrichment.feedback_enrichment as e
    join silver.int_feedback_deduplicated as s on s.feedback_id = e.feedback_id
    left join enrichment.feedback_insights as i
        on i.feedback_id = e.feedback_id and i.enrichment_version = e.enrichment_version and i.rich_version = ?
    where e.enrichment_version = ? and i.feedback_id is null
    order by e.feedback_id
"""


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

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def enrich_rich_pending(
    warehouse: DuckDBWarehouse, settings: Settings, enrichment_version: str, rich_enricher: Any | None = None
) -> RichRunStats:
    """Route the current cheap-pass results and write rich insights for the ones that need them."""
    import pandas as pd

    if rich_enricher is None:
        from feedback_ops.enrich.rich import LocalRichEnricher

        rich_enricher = LocalRichEnricher(settings)
    rules = rich_enricher.rules
    stats = RichRunStats(rich_version=rich_enricher.rich_version)
    candidates = warehouse.query_df(CANDIDATES_SQL, [rich_enricher.rich_version, enrichment_version])
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
    for start in range(0, len(routed), settings.batch_size):
        insights = rich_enricher.enrich(routed[start : start + settings.batch_size])
        now = datetime.now(UTC).replace(tzinfo=None)
        frame = pd.DataFrame([{**i.model_dump(), "enriched_at": now} for i in insights])
        with warehouse.transaction():
            warehouse.upsert(
                "enrichment.feedback_insights",
                frame,
                keys=["feedback_id", "enrichment_version", "rich_version"],
            )
            warehouse.upsert("enrichment.feedback_entities", _entity_frame(insights), keys=ENTITY_KEYS)
        stats.routed += len(insights)
    return stats
