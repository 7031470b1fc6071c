"""Claims: how lanes running at the same time enrich each record once per enrichment version.

The urgent, micro-batch and batch lanes all select "silver records with no enrichment at the current version",
so two of them running together would pick the same records. Before enriching a batch, a lane *claims* its
records in ``enrichment.enrichment_claims`` (one row per record and version, the primary key): a ``merge``
in one transaction, which takes only records that are not enriched, not quarantined and not
held by another lane's live lease. The lane enriches what it holds, and writes the results in the same
transaction that deletes its claims — only for the records it still holds, so a result that lost its claim is
never written over another lane's.

Nothing is lost: a lane killed mid-batch leaves its claims behind, and once their lease
(``settings.lanes.claim_lease_s``) expires any lane takes them over. Deferred records (budget, outage) have
their claims released at once, so the next run sees them pending.

The rich pass (summary, entities, root cause, next action: the strong, expensive tier) claims the same way
(``ClaimBook.for_rich_pass``): its claims sit in the same table under ``rich_claim_key`` and take only records
without insights at the (enrichment, rich) versions.

Locally the warehouse is one DuckDB file: lanes in separate processes are serialized by the Airflow
``warehouse`` pool, and connections in one process run concurrent transactions that DuckDB's optimistic
concurrency control makes conflict; a conflicting claim or write is retried (``retry_on_conflict``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.dialect import in_list, list_rows

CLAIMS = "enrichment.enrichment_claims"

_TAKE_FREE_OR_EXPIRED = f"""
    merge into {CLAIMS} as claim
    using (
        select t.feedback_id, ? as enrichment_version, ? as lane, ? as claim_id, ? as claimed_at,
            ? as lease_expires_at
        from {{id_rows}} as t
        {{not_done}}
    ) as incoming
    on claim.feedback_id = incoming.feedback_id and claim.enrichment_version = incoming.enrichment_version
    -- only an expired lease changes hands: a live one stays with the lane holding it
    when matched and claim.lease_expires_at <= incoming.claimed_at then update set
        lane = incoming.lane,
        claim_id = incoming.claim_id,
        claimed_at = incoming.claimed_at,
        lease_expires_at = incoming.lease_expires_at
    when not matched then insert (feedback_id, enrichment_version, lane, claim_id, claimed_at, lease_expires_at)
        values (incoming.feedback_id, incoming.enrichment_version, incoming.lane, incoming.claim_id,
            incoming.claimed_at, incoming.lease_expires_at)
"""
"""Claim the listed records that are free (the ``not_done`` joins: no result yet) and not held by a live
lease. A ``merge``, which DuckDB and Databricks SQL both run (``{id_rows}``: ``dialect.list_rows``)."""

CLAIM_SQL = _TAKE_FREE_OR_EXPIRED.replace(
    "{not_done}",
    """left join enrichment.feedback_enrichment as e
            on e.feedback_id = t.feedback_id and e.enrichment_version = ?
        left join enrichment.enrichment_quarantine as q
            on q.feedback_id = t.feedback_id and q.enrichment_version = ?
        where e.feedback_id is null and q.feedback_id is null""",
)
"""The cheap pass's claims: records with neither a result nor a quarantine at the claimed version."""

RICH_CLAIM_SQL = _TAKE_FREE_OR_EXPIRED.replace(
    "{not_done}",
    """left join enrichment.feedback_insights as i
            on i.feedback_id = t.feedback_id and i.enrichment_version = ? and i.rich_version = ?
        where i.feedback_id is null""",
)
"""The rich pass's claims: records without insights at (enrichment version, rich version), keyed by
``rich_claim_key`` in the same table (a cheap-pass claim and a rich-pass claim on one record never collide)."""

HELD_SQL = f"""
    select feedback_id from {CLAIMS}
    where claim_id = ? and enrichment_version = ? and {{ids_match}}
    order by feedback_id
"""

RELEASE_SQL = f"""
    delete from {CLAIMS}
    where claim_id = ? and enrichment_version = ? and {{ids_match}}
"""

T = TypeVar("T")


def utc_now() -> datetime:
    """Naive UTC, as every timestamp in the warehouse."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_write_conflict(error: BaseException) -> bool:
    """True for the error a warehouse raises when two transactions changed the same rows: DuckDB's
    ``TransactionException`` (optimistic concurrency control) - or its ``ConstraintException`` "Duplicate key"
    when both inserted the same key, which the retried transaction then sees as written -, Delta's
    ``Concurrent*Exception`` on Databricks."""
    name = type(error).__name__
    text = str(error)
    duplicate_key = name == "ConstraintException" and "Duplicate key" in text
    return name == "TransactionException" or duplicate_key or "Conflict" in text or "Concurrent" in text


def retry_on_conflict(
    work: Callable[[], T],
    attempts: int = 20,
    backoff_s: float = 0.01,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` (one transaction) again while it fails on a write conflict with another lane.

    Raises:
        the last conflict after ``attempts`` tries; any other error at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            if not is_write_conflict(error) or attempt == attempts:
                raise
            sleep(backoff_s * attempt)
    raise AssertionError("unreachable")


def _rollback_quietly(warehouse: Warehouse) -> None:
    """A failed commit can leave the connection inside the aborted transaction: end it before retrying."""
    try:
        warehouse.execute("rollback")
    except Exception:  # noqa: BLE001 - no transaction open: nothing to end
        pass


@dataclass
class ClaimBook:
    """One lane run's claims: its id, lane and lease, and the calls that take, check and give back records.

    Args:
        warehouse: the warehouse the lane writes (its own connection: claims are transactions).
        enrichment_version: the version the records are claimed for.
        lane: the lane claiming (``urgent``, ``micro_batch``, ``batch``).
        lease_s: how long a claim holds before another lane may take it over.
    """

    warehouse: Warehouse
    enrichment_version: str
    lane: str
    lease_s: float
    claim_id: str = ""
    claim_sql: str = CLAIM_SQL
    done_params: tuple[str, ...] = ()

    @classmethod
    def for_rich_pass(
        cls, warehouse: Warehouse, enrichment_version: str, rich_version: str, lane: str, lease_s: float
    ) -> ClaimBook:
        """Claims for the rich pass: a record is free while it has no insights at these versions."""
        return cls(
            warehouse,
            rich_claim_key(enrichment_version, rich_version),
            lane,
            lease_s,
            claim_sql=RICH_CLAIM_SQL,
            done_params=(enrichment_version, rich_version),
        )

    def __post_init__(self) -> None:
        if self.lease_s <= 0:
            raise ValueError(
                f"a claim lease must be positive (FEEDBACK_OPS_CLAIM_LEASE_S), got {self.lease_s}"
            )
        self.claim_id = self.claim_id or f"{self.lane}-{uuid.uuid4().hex}"
        # the cheap pass's claim SQL checks enrichment and quarantine at the claimed version itself
        self.done_params = self.done_params or (self.enrichment_version, self.enrichment_version)

    def claim(self, feedback_ids: Sequence[str], now: datetime | None = None) -> list[str]:
        """Claim the records of ``feedback_ids`` that are free; returns those this run now holds (sorted)."""
        ids = [str(i) for i in feedback_ids]
        if not ids:
            return []

        def attempt() -> list[str]:
            claimed_at = now or utc_now()
            expires = claimed_at + timedelta(seconds=self.lease_s)
            key = self.enrichment_version
            try:
                with self.warehouse.transaction():
                    self.warehouse.execute(
                        self.claim_sql.format(id_rows=list_rows(self.warehouse, "feedback_id")),
                        [key, self.lane, self.claim_id, claimed_at, expires, ids, *self.done_params],
                    )
            except Exception:
                _rollback_quietly(self.warehouse)
                raise
            return self.held(ids)

        return retry_on_conflict(attempt)

    def held(self, feedback_ids: Sequence[str]) -> list[str]:
        """The records of ``feedback_ids`` this run holds a claim on."""
        frame = self.warehouse.query_df(
            HELD_SQL.format(ids_match=in_list(self.warehouse, "feedback_id")),
            [self.claim_id, self.enrichment_version, list(feedback_ids)],
        )
        return [str(i) for i in frame["feedback_id"]]

    def release(self, feedback_ids: Sequence[str]) -> None:
        """Give back claims (records deferred: they stay pending for the next run of any lane)."""
        if feedback_ids:
            self.warehouse.execute(
                RELEASE_SQL.format(ids_match=in_list(self.warehouse, "feedback_id")),
                [self.claim_id, self.enrichment_version, list(feedback_ids)],
            )

    def write_held(self, feedback_ids: Sequence[str], write: Callable[[set[str]], None]) -> set[str]:
        """Run ``write(held)`` in one transaction with the deletion of this run's claims on ``feedback_ids``;
        ``held`` is the subset still claimed by this run (a claim lost to another lane after its lease expired
        is not written). Retried on a write conflict; returns ``held``."""

        def attempt() -> set[str]:
            try:
                with self.warehouse.transaction():
                    held = set(self.held(feedback_ids))
                    write(held)
                    self.release(sorted(held))
            except Exception:
                _rollback_quietly(self.warehouse)
                raise
            return held

        return retry_on_conflict(attempt)


def rich_claim_key(enrichment_version: str, rich_version: str) -> str:
    """The ``enrichment_version`` column of a rich-pass claim: both versions, marked as the rich pass."""
    return f"rich:{rich_version}@{enrichment_version}"


def live_claims(warehouse: Warehouse, enrichment_version: str, now: datetime | None = None) -> Any:
    """The claims still holding at ``now``: records some lane is enriching (a frame, for reports and tests)."""
    return warehouse.query_df(
        f"select * from {CLAIMS} where enrichment_version = ? and lease_expires_at > ? order by feedback_id",
        [enrichment_version, now or utc_now()],
    )
