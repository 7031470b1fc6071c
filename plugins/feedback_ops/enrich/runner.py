"""Run enrichment over the silver records that have none at the current version.

Incremental and cached: a record already enriched at the current ``enrichment_version`` is skipped; a record
whose ``text_hash`` was enriched before at this version reuses that result instead of calling a model. The
vectors the local models computed for the redacted text are stored in ``enrichment.embeddings`` so the
embedding stage does not compute them twice; a backend that returns no vectors (the cloud ones) leaves them to
the embedding stage.

Every pending record ends the run in one of four places: enriched (``enrichment.feedback_enrichment``),
reused by text hash, quarantined (``enrichment.enrichment_quarantine``: its model output stayed invalid; not
picked up again at this version) or deferred (budget spent or service unavailable: nothing written, it stays
pending for the next run). The stats count each.

Lanes running at the same time (urgent, micro-batch, batch) share this runner with different selections, and
enrich each record once per version: every batch is claimed first (``feedback_ops.enrich.claims``), only the
records the run holds are sent to the model, and their results are written in the transaction that gives the
claims back. Records another lane holds are skipped (``claimed_elsewhere``); a killed lane's claims are taken
over when their lease expires.

A backend that learns from human review (the local one: ``use_reviewed_examples``) is given the reviewed
items' vectors and labels before the run (``feedback_ops.enrich.reviewed_examples``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.embed.base import Embedder
from feedback_ops.embed.rows import embedding_rows, message_unit_id, unit_text_hash
from feedback_ops.enrich.backends import EmbeddingEnricher, Enricher
from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.dialect import in_list
from feedback_ops.warehouse.schema import declared_columns

PENDING_SQL = """
    select
        s.feedback_id, s.text_hash, s.feedback_text as text, s.channel, s.severity, s.rating,
        s.product_area, s.locale
    from silver.int_feedback_deduplicated as s
    left join enrichment.feedback_enrichment as e
        on e.feedback_id = s.feedback_id and e.enrichment_version = ?
    left join enrichment.enrichment_quarantine as q
        on q.feedback_id = s.feedback_id and q.enrichment_version = ? and q.text_hash = s.text_hash
    where e.feedback_id is null and q.feedback_id is null
    order by s.feedback_id
"""

_FREE_OF_COST = {"tokens_in": "0", "tokens_out": "0", "cost_usd": "0.0"}
"""A copy made no model call: it must not count the original's tokens and cost a second time."""


def pending_sql(warehouse: Warehouse, only_listed: bool) -> str:
    """``PENDING_SQL``, limited to the feedback ids of one more list parameter when ``only_listed``."""
    if not only_listed:
        return PENDING_SQL
    return PENDING_SQL.replace(
        "order by s.feedback_id", f"and {in_list(warehouse, 's.feedback_id')} order by s.feedback_id"
    )


def reuse_by_text_hash_sql(warehouse: Warehouse, only_listed: bool) -> str:
    """Copy, for each pending record, the result of a record with the same text hash at this version.

    A ``merge`` that only inserts (a row another lane wrote meanwhile is left alone), choosing one source per
    record (the smallest feedback id), skipping records another lane holds a live claim on (that lane's to
    write). Parameters: the pending selection's (version, version[, ids]), then version, version, now.
    """
    columns = [name for name, _ in declared_columns()["enrichment.feedback_enrichment"]]
    copied = ", ".join(
        f"{_FREE_OF_COST[c]} as {c}" if c in _FREE_OF_COST else f"e.{c}"
        for c in columns
        if c != "feedback_id"
    )
    return f"""
        merge into enrichment.feedback_enrichment as target
        using (
            select p.feedback_id, {copied}
            from ({pending_sql(warehouse, only_listed)}) as p
            join enrichment.feedback_enrichment as e
                on e.text_hash = p.text_hash and e.enrichment_version = ?
            left join enrichment.enrichment_claims as c
                on c.feedback_id = p.feedback_id and c.enrichment_version = ? and c.lease_expires_at > ?
            where c.feedback_id is null
            qualify row_number() over (partition by p.feedback_id order by e.feedback_id) = 1
        ) as source
        on target.feedback_id = source.feedback_id and target.enrichment_version = source.enrichment_version
        when not matched then insert ({", ".join(columns)})
            values ({", ".join("source." + c for c in columns)})
    """


@dataclass
class EnrichmentRunStats:
    """What one enrichment run did."""

    enrichment_version: str
    pending: int = 0
    reused_by_text_hash: int = 0
    enriched: int = 0
    quarantined: int = 0
    deferred: int = 0
    claimed_elsewhere: int = 0
    """Pending records skipped because another lane held them (it enriches them)."""
    lane: str = "micro_batch"
    batches: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    """What the run's model calls cost, failed and retried calls included."""
    categories: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _items(frame: Any) -> list[Any]:
    from feedback_ops.enrich.schemas import FeedbackItem

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [FeedbackItem(**record) for record in records]


def _embedding_frame(results: list[Any], vectors: Any, embedder: Embedder, now: datetime) -> Any:
    return embedding_rows(
        [message_unit_id(r.feedback_id) for r in results],
        [r.feedback_id for r in results],
        # The hash of the redacted text embedded, as for every analysis unit (search.units): the vector is
        # that of unit 0, and a changed redaction of the same original text is embedded again.
        [unit_text_hash(r.redacted_text or "") for r in results],
        embedder,
        vectors,
        now,
    )


def _quarantine_frame(batch: Any, now: datetime) -> Any:
    import pandas as pd

    return pd.DataFrame([{**q.model_dump(), "quarantined_at": now} for q in batch.quarantined])


def _deferred_frame(batch: Any, version: str, now: datetime) -> Any:
    import pandas as pd

    columns = ["feedback_id", "enrichment_version", "reason", "detail", "deferred_at"]
    rows = [(d.feedback_id, version, str(d.reason), d.detail, now) for d in batch.deferred]
    return pd.DataFrame(rows, columns=columns)


def _write_batch(warehouse: Warehouse, enricher: Enricher, batch: Any) -> None:
    """Write one batch's results (and vectors, when the backend computed them) and quarantined records, in
    the caller's transaction (the one that gives the batch's claims back)."""
    import pandas as pd

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = pd.DataFrame([{**r.model_dump(), "enriched_at": now} for r in batch.results])
    warehouse.upsert("enrichment.feedback_enrichment", rows, keys=["feedback_id", "enrichment_version"])
    if batch.vectors is not None and isinstance(enricher, EmbeddingEnricher):
        warehouse.upsert(
            "enrichment.embeddings",
            _embedding_frame(batch.results, batch.vectors, enricher.embedder, now),
            keys=["unit_id", "embedding_version"],
        )
    warehouse.upsert(
        "enrichment.enrichment_quarantine",
        _quarantine_frame(batch, now),
        keys=["feedback_id", "enrichment_version"],
    )
    warehouse.upsert(
        "enrichment.enrichment_deferred",
        _deferred_frame(batch, enricher.enrichment_version, now),
        keys=["feedback_id", "enrichment_version"],
    )
    if not rows.empty:
        # an item quarantined or deferred earlier and enriched now is neither any more
        for table in ("enrichment.enrichment_quarantine", "enrichment.enrichment_deferred"):
            warehouse.execute(
                f"delete from {table} where enrichment_version = ? and {in_list(warehouse, 'feedback_id')}",
                [enricher.enrichment_version, rows["feedback_id"].tolist()],
            )


def _held_part(batch: Any, held: set[str], lane: str | None) -> Any:
    """The part of ``batch`` about records this run still holds, its results stamped with ``lane`` when
    the caller names the lane (else each result keeps the lane its urgency routes it to)."""
    from feedback_ops.enrich.outcomes import EnrichmentBatch

    keep = [i for i, r in enumerate(batch.results) if r.feedback_id in held]
    results = [batch.results[i] for i in keep]
    if lane is not None:
        results = [r.model_copy(update={"lane": lane}) for r in results]
    return EnrichmentBatch(
        results=results,
        quarantined=[q for q in batch.quarantined if q.feedback_id in held],
        deferred=[d for d in batch.deferred if d.feedback_id in held],
        vectors=None if batch.vectors is None else batch.vectors[keep],
        spent_usd=batch.spent_usd,
    )


def _load_reviewed_examples(warehouse: Warehouse, enricher: Enricher) -> None:
    """Give a backend that learns from reviews (the local one) the reviewed items' vectors and labels."""
    use_reviewed_examples = getattr(enricher, "use_reviewed_examples", None)
    if use_reviewed_examples is None or not isinstance(enricher, EmbeddingEnricher):
        return
    from feedback_ops.enrich.reviewed_examples import load_reviewed_examples

    use_reviewed_examples(load_reviewed_examples(warehouse, enricher.embedder.version))


def _count_batch(stats: EnrichmentRunStats, batch: Any) -> None:
    stats.enriched += len(batch.results)
    stats.quarantined += len(batch.quarantined)
    stats.deferred += len(batch.deferred)
    stats.tokens_in += sum(r.tokens_in for r in batch.results)
    stats.tokens_out += sum(r.tokens_out for r in batch.results)
    stats.cost_usd = round(stats.cost_usd + batch.spent_usd, 8)
    stats.batches += 1


def enrich_pending(
    warehouse: Warehouse,
    settings: Settings,
    enricher: Enricher | None = None,
    lane: str | None = None,
    feedback_ids: Sequence[str] | None = None,
) -> EnrichmentRunStats:
    """Enrich every silver record that has no enrichment (and no quarantine) at the enricher's version.

    Args:
        enricher: the backend (``backends.make_enricher(settings)`` — the configured one — if None).
        lane: the lane running (``urgent``, ``micro_batch``, ``batch``), stamped on its claims and on the rows
            it writes (the main DAG passes ``micro_batch``); None (a direct call, e.g. the evaluation
            harness) claims as ``micro_batch`` and keeps the lane each record's urgency routes it to.
        feedback_ids: enrich only these records (the urgent lane's new arrivals); None: every pending one.
    """
    from feedback_ops.enrich.backends import begin_run, make_enricher, run_batch
    from feedback_ops.enrich.claims import ClaimBook, retry_on_conflict, utc_now

    if enricher is None:
        enricher = make_enricher(settings)
    begin_run(enricher)
    _load_reviewed_examples(warehouse, enricher)
    version = enricher.enrichment_version
    stats = EnrichmentRunStats(enrichment_version=version, lane=lane or "micro_batch")
    only_listed = feedback_ids is not None
    selection = [version, version] + ([[str(i) for i in feedback_ids]] if feedback_ids is not None else [])
    stats.pending = int(
        warehouse.scalar(f"select count(*) from ({pending_sql(warehouse, only_listed)}) as p", selection)
    )

    def reuse_by_text_hash() -> int:
        with warehouse.transaction():
            return warehouse.execute_count(
                reuse_by_text_hash_sql(warehouse, only_listed), [*selection, version, version, utc_now()]
            )

    stats.reused_by_text_hash = retry_on_conflict(reuse_by_text_hash) if stats.pending else 0
    # what is still pending after the copies: the records to send to the model
    todo = warehouse.query_df(pending_sql(warehouse, only_listed), selection)
    claims = ClaimBook(warehouse, version, stats.lane, settings.lanes.claim_lease_s)
    for start in range(0, len(todo), settings.batch_size):
        chunk = todo.iloc[start : start + settings.batch_size]
        held = set(claims.claim(chunk["feedback_id"].tolist()))
        stats.claimed_elsewhere += len(chunk) - len(held)
        if not held:
            continue
        batch = run_batch(enricher, _items(chunk[chunk["feedback_id"].isin(held)]))
        written: list[Any] = []

        def write(still_held: set[str], batch: Any = batch, written: list[Any] = written) -> None:
            written[:] = [_held_part(batch, still_held, lane)]
            _write_batch(warehouse, enricher, written[0])

        claims.write_held(sorted(held), write)
        _count_batch(stats, written[0])
        stats.claimed_elsewhere += len(held) - len(written[0].feedback_ids)
    counts = warehouse.query_df(
        "select category, count(*) as n from enrichment.feedback_enrichment where enrichment_version = ? "
        "group by category order by n desc",
        [version],
    )
    stats.categories = dict(zip(counts["category"], counts["n"].astype(int), strict=True))
    return stats
