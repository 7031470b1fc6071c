"""The batch lane's stages: reconciliation, backfill of a date range, low-priority enrichment at batch price.
What the daily ``batch_lane`` DAG's tasks call.

Reconciliation checks that every silver record has a current enrichment (or a quarantine row), a vector for
its whole-message unit at the current embedding version, and a document in the search index; whatever is
missing is processed by the same stages as the main DAG, in this lane: the enrichment backlog goes through
``enrich_pending(lane="batch")`` — on Azure OpenAI as provider batch jobs (``lanes.batch_api``, half price),
locally through the local models — and the embedding / index gaps through the embed-and-index stage.
A backfill is the same with a selection: the records created within ``[start, end]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.embed.rows import message_unit_id, message_unit_id_sql
from feedback_ops.enrich.backends import Enricher

LANE = "batch"

SILVER_IN_RANGE_SQL = """
    select feedback_id from silver.int_feedback_deduplicated
    where cast(created_at as date) between ? and ? order by feedback_id
"""

GAPS_SQL = f"""
    with
    silver as (select feedback_id from silver.int_feedback_deduplicated),
    enriched as (
        select feedback_id from enrichment.feedback_enrichment where enrichment_version = ?
    ),
    quarantined as (
        select feedback_id from enrichment.enrichment_quarantine where enrichment_version = ?
    ),
    embedded as (
        select feedback_id from enrichment.embeddings where embedding_version = ? and unit_id = {message_unit_id_sql("feedback_id")}
    )
    select
        s.feedback_id,
        e.feedback_id is null and q.feedback_id is null as missing_enrichment,
        e.feedback_id is not null and v.feedback_id is null as missing_embedding
    from silver as s
    left join enriched as e using (feedback_id)
    left join quarantined as q using (feedback_id)
    left join embedded as v using (feedback_id)
    order by s.feedback_id
"""


@dataclass
class Reconciliation:
    """Silver records without a current enrichment, embedding or index document (ids, sorted)."""

    silver: int
    missing_enrichment: list[str]
    missing_embedding: list[str]
    missing_index_document: list[str]

    @property
    def balanced(self) -> bool:
        return not (self.missing_enrichment or self.missing_embedding or self.missing_index_document)

    def as_dict(self) -> dict[str, Any]:
        return {
            "silver": self.silver,
            "missing_enrichment": len(self.missing_enrichment),
            "missing_embedding": len(self.missing_embedding),
            "missing_index_document": len(self.missing_index_document),
            "balanced": self.balanced,
            "examples": {
                "missing_enrichment": self.missing_enrichment[:5],
                "missing_embedding": self.missing_embedding[:5],
                "missing_index_document": self.missing_index_document[:5],
            },
        }


def reconcile(settings: Settings | None = None) -> Reconciliation:
    """What is missing for each silver record at the current enrichment and embedding versions."""
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.enrich.versions import current_enrichment_version
    from feedback_ops.search.factory import make_search_index
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    version = current_enrichment_version(settings)
    embedder = make_embedder(settings)
    with open_warehouse(settings) as warehouse:
        gaps = warehouse.query_df(GAPS_SQL, [version, version, embedder.version])
    index = make_search_index(settings, embedder.dimensions)
    try:
        documents = set(index.content_hashes())
    finally:
        index.close()
    enriched = gaps[~gaps["missing_enrichment"]]["feedback_id"]
    return Reconciliation(
        silver=len(gaps),
        missing_enrichment=sorted(gaps[gaps["missing_enrichment"]]["feedback_id"]),
        missing_embedding=sorted(gaps[gaps["missing_embedding"]]["feedback_id"]),
        missing_index_document=sorted(i for i in enriched if message_unit_id(i) not in documents),
    )


def batch_enricher(settings: Settings) -> Any:
    """The batch lane's backend: provider batch jobs on Azure OpenAI, else the configured backend."""
    if settings.enrichment_backend == "azure_openai":
        from feedback_ops.lanes.batch_api import AzureOpenAIBatchEnricher

        return AzureOpenAIBatchEnricher(settings)
    from feedback_ops.enrich.backends import make_enricher

    return make_enricher(settings)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def enrich_backlog(
    settings: Settings | None = None,
    backfill_start: Any = None,
    backfill_end: Any = None,
    enricher: Enricher | None = None,
) -> dict[str, Any]:
    """Enrich what has no current enrichment, in the batch lane (its budget and batch size), restricted to
    the records created within ``[backfill_start, backfill_end]`` when a range is given.

    Raises:
        ValueError: a range with only one end, or whose start is after its end.
    """
    from feedback_ops.enrich.runner import enrich_pending
    from feedback_ops.warehouse import open_warehouse

    settings = (settings or get_settings()).for_lane(LANE)
    start, end = _as_date(backfill_start), _as_date(backfill_end)
    if (start is None) != (end is None) or (start and end and start > end):
        raise ValueError(f"a backfill needs a start and an end, start <= end (got {start} .. {end})")
    enricher = enricher or batch_enricher(settings)
    with open_warehouse(settings) as warehouse:
        selection = None
        if start is not None:
            selection = warehouse.query_df(SILVER_IN_RANGE_SQL, [start, end])["feedback_id"].tolist()
        stats = enrich_pending(warehouse, settings, enricher=enricher, lane=LANE, feedback_ids=selection)
    report = getattr(enricher, "report", None)
    return {
        "backfill": {"start": str(start), "end": str(end)} if start else None,
        **stats.as_dict(),
        "provider_jobs": report.jobs if report is not None else [],
    }


def embed_and_index(settings: Settings | None = None) -> dict[str, Any]:
    """The embed-and-index stage of the main DAG: embeds missing units, pushes missing documents."""
    from feedback_ops.pipeline import embed_and_index as stage

    return stage(settings)
