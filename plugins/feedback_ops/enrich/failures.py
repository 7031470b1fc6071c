"""One record never stops a stage: per-record failures are set aside with their reason, the batch goes on.

Every stage that loops over records (the cheap pass, the rich pass, analysis units, embedding, index sync, urgent
alerts) runs its batches through ``isolate_failures``: a batch that raises a *record* error (``RECORD_ERRORS``:
a value the contract refuses, a text a parser chokes on — pydantic's ``ValidationError`` is a ``ValueError``) is
split in halves until each failing record stands alone; every other record is processed as usual. Errors of
the machinery (a lost connection, a refused credential, a full disk: ``OSError``, the SDKs' API errors) are not
record errors and still fail the task, as they should.

Where a failure goes:

- the cheap pass: ``enrichment.enrichment_quarantine`` (``enrich.outcomes.QuarantinedRecord``), as invalid
  model output from the cloud backend always did;
- every other stage: ``enrichment.record_failures``, one row per (stage, item, stage version) with the feedback
  id, the text hash it failed on, the reason (``invalid_output`` or ``processing_error``) and the error.

A failed item is not picked up again at the same stage version and text (its stage's selection skips it), so a
record that cannot be processed costs one attempt, never a task failure on every later run; a new version of
the stage, or a changed text, tries it again, and a success removes the failure row. Each stage counts its
failures in its run result, and the run summary lists them by stage and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from feedback_ops.config import ConfigurationError
from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.dialect import in_list

log = logging.getLogger(__name__)

FAILURES_TABLE = "enrichment.record_failures"
RECORD_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    ArithmeticError,
    LookupError,
    RecursionError,
)
"""Errors a record's content can cause (``UnicodeError`` and pydantic's ``ValidationError`` are ``ValueError``s).
Anything else is the machinery's and fails the task."""
ERROR_CHARS = 500
STAGES = ("rich", "units", "embed", "index", "alerts")
"""The stages writing to ``enrichment.record_failures``."""


Item = TypeVar("Item")
Output = TypeVar("Output")


@dataclass(frozen=True)
class RecordFailure:
    """One row of ``enrichment.record_failures`` (without ``failed_at``, set by the writer)."""

    stage: str
    item_id: str
    stage_version: str
    feedback_id: str
    reason: str
    error: str
    text_hash: str | None = None


def describe(error: BaseException) -> str:
    """``Type: message`` on one line, at most ``ERROR_CHARS`` characters."""
    return f"{type(error).__name__}: {error}".replace("\n", " ")[:ERROR_CHARS]


def failure_reason(error: BaseException) -> str:
    """``invalid_output`` when the output broke its contract (a pydantic validation error), else
    ``processing_error``."""
    from pydantic import ValidationError

    return "invalid_output" if isinstance(error, ValidationError) else "processing_error"


def isolate_failures(
    items: Sequence[Item], process: Callable[[list[Item]], Output]
) -> tuple[list[tuple[list[Item], Output]], list[tuple[Item, BaseException]]]:
    """Run ``process`` over ``items`` in one call; when it raises a record error, split the part in halves and
    retry each, until every failing item stands alone.

    Returns:
        ``(done, failed)``: ``done`` the parts processed and their outputs, in input order; ``failed`` each item
        ``process`` raised a record error on when given alone, with the error. One bad item among n costs about
        2·log2(n) extra calls; a batch without one costs nothing extra.
    """
    done: list[tuple[list[Item], Output]] = []
    failed: list[tuple[Item, BaseException]] = []
    pending = [list(items)]
    while pending:
        part = pending.pop()
        if not part:
            continue
        try:
            done.append((part, process(part)))
        except RECORD_ERRORS as error:
            if isinstance(error, ConfigurationError):
                raise
            if len(part) == 1:
                failed.append((part[0], error))
            else:
                middle = len(part) // 2
                pending += [part[middle:], part[:middle]]  # the first half is processed first
    return done, failed


def failure_of(
    stage: str,
    stage_version: str,
    error: BaseException,
    *,
    feedback_id: str,
    item_id: str | None = None,
    text_hash: str | None = None,
) -> RecordFailure:
    """The failure row of one item, logged as a warning (stage, item, reason, error)."""
    failure = RecordFailure(
        stage=stage,
        item_id=item_id or feedback_id,
        stage_version=stage_version,
        feedback_id=feedback_id,
        reason=failure_reason(error),
        error=describe(error),
        text_hash=text_hash,
    )
    log.warning("%s %s: set aside (%s): %s", stage, failure.item_id, failure.reason, failure.error)
    return failure


def write_failures(
    warehouse: Warehouse, failures: Iterable[RecordFailure], now: datetime | None = None
) -> int:
    """Upsert ``failures`` into ``enrichment.record_failures`` (in the caller's transaction, if any)."""
    import pandas as pd

    rows = [{**asdict(f), "failed_at": now or datetime.now(UTC).replace(tzinfo=None)} for f in failures]
    if not rows:
        return 0
    warehouse.upsert(FAILURES_TABLE, pd.DataFrame(rows), keys=["stage", "item_id", "stage_version"])
    return len(rows)


def clear_failures(warehouse: Warehouse, stage: str, stage_version: str, item_ids: Sequence[str]) -> None:
    """Remove the failure rows of items that ``stage`` has now processed at ``stage_version``."""
    if not item_ids:
        return
    warehouse.execute(
        f"delete from {FAILURES_TABLE} where stage = ? and stage_version = ? and {in_list(warehouse, 'item_id')}",
        [stage, stage_version, list(item_ids)],
    )


def failed_items(warehouse: Warehouse, stage: str, stage_version: str) -> dict[str, str | None]:
    """``item_id -> text_hash`` of the items ``stage`` set aside at ``stage_version``."""
    frame = warehouse.query_df(
        f"select item_id, text_hash from {FAILURES_TABLE} where stage = ? and stage_version = ?",
        [stage, stage_version],
    )
    return dict(zip(frame["item_id"], frame["text_hash"], strict=True))


FAILURE_COUNTS_SQL = f"""
    select stage, reason, count(*) as n, min(feedback_id) as example_feedback_id
    from {FAILURES_TABLE} group by stage, reason
    union all
    select 'enrich' as stage, reason, count(*) as n, min(feedback_id) as example_feedback_id
    from enrichment.enrichment_quarantine group by reason
    order by stage, n desc, reason
"""
"""Items set aside, by stage and reason: the cheap pass's quarantine (stage ``enrich``) and the other stages'
failures (every version kept)."""


def failure_counts(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Rows of ``FAILURE_COUNTS_SQL`` (empty before the enrichment tables exist)."""
    if not (
        warehouse.table_exists(FAILURES_TABLE) and warehouse.table_exists("enrichment.enrichment_quarantine")
    ):
        return []
    return warehouse.query_df(FAILURE_COUNTS_SQL).to_dict("records")
