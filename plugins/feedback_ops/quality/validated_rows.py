"""The gates' ledger of validated rows: a gate validates what is new or changed, not the whole table again.

Why: a gate that read its whole tables into pandas and let GX check every row on every run would cost what the
table's history costs. A row that passed its suite and has not changed since cannot
fail a row-level expectation now; only new or changed rows can, plus the rows a uniqueness expectation
compares them with. So, for a contract whose expectations allow it (:func:`validates_row_by_row`):

- ``quality.validated_rows`` holds, per suite, one ``(row_key, row_hash)`` per row that passed: the row's key
  columns as JSON text and a hash of all its columns, computed in SQL (``warehouse.dialect.row_json`` /
  ``row_hash``: over the columns the gate's frame holds, spelled for the engine at hand).
- :func:`read_unvalidated` reads the rows whose ``(row_key, row_hash)`` is not in the ledger for the suite's
  current fingerprint (new rows, rows whose content changed since: corrupted in place, rewritten differently
  by dbt), **plus** every row whose value of a unique / unique-together column group occurs more than once in
  the table: GX compares values within its frame only, so a new row repeating an old row's key (or a row
  duplicated whole, which the anti-join alone would skip) is caught with both rows named.
- The suite's fingerprint (:func:`suite_fingerprint`) is a hash of its expectations, key columns and
  parameter values (the taxonomy of the enrichment suite): a changed contract or taxonomy matches no entry,
  so every row is validated again.
- After a gate *passes*, :func:`record_validated` upserts the pairs it validated (``MERGE INTO`` on
  ``(suite, row_key)``: a changed row replaces its entry) and, when the suite then holds more entries than
  its table has rows, deletes those whose key left the table, so the ledger stays as large as the tables.
  After a failure nothing is recorded: the offending rows are read again by the next gate, which fails again
  until they are fixed.

Table-level expectations keep their meaning: the frame of a non-empty table holds at least one row whenever
anything is validated (``row_count_between(1)``), an empty table is always validated (and fails it as before),
and a schema change changes every row's hash, so the column-set expectations see every row again. A suite
whose rows are all in the ledger is not validated at all this run (``UnvalidatedRows.needs_validation``);
Data Docs then show its last validation. Expectations over the whole table (a mean, a maximum row count) would
lose their meaning on a delta: a contract holding one is read whole (:func:`validates_row_by_row`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.quality.suites import TableContract
from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.dialect import list_rows, row_hash, row_json

if TYPE_CHECKING:
    import pandas as pd

LEDGER_TABLE = "quality.validated_rows"
ROW_KEY_COLUMN = "_validated_row_key"
ROW_HASH_COLUMN = "_validated_row_hash"
"""Columns the read adds to each row (its key and content hash in SQL); dropped before GX sees the frame."""
HASH_LENGTH = 32
"""Characters of ``dialect.row_hash`` on both engines; a recorded pair travels as one string
``<row_hash>:<row_key>`` in a list parameter."""
RECORD_BATCH_ROWS = 5_000
"""Pairs per ``MERGE`` statement: keeps one statement's list parameter well under a SQL warehouse's limits."""

ROW_LEVEL_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_json_parseable",
    }
)
"""Expectations decided row by row: a row that passed once passes again while its content is the same."""
UNIQUENESS_EXPECTATIONS = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)
"""Decided over pairs of rows: the read brings every row whose value repeats anywhere in the table."""
TABLE_EXPECTATIONS_KEPT_ON_A_DELTA = frozenset(
    {"expect_table_columns_to_match_set", "expect_table_row_count_to_be_between"}
)
"""Table-level, yet true of the table whenever true of the delta (see the module docstring); a row count
with a maximum or a minimum above one is not, and makes the contract read whole."""


@dataclass(frozen=True)
class UnvalidatedRows:
    """What a gate reads of one row-level table: the rows to validate and the table they come from."""

    contract: TableContract
    table: str
    """The warehouse table (``schema.table``)."""
    where: str
    """The condition selecting the gated rows (``true``, or e.g. the current enrichment version), with ``?``."""
    where_params: tuple[Any, ...]
    suite_fingerprint: str
    frame: pd.DataFrame
    """The rows to validate, with exactly the table's columns."""
    row_keys: tuple[str, ...]
    row_hashes: tuple[str, ...]
    table_rows: int
    """Rows of the table (under ``where``) at the time of the read."""

    @property
    def needs_validation(self) -> bool:
        """Something to validate: new or changed rows, or an empty table (which must fail a minimum count)."""
        return len(self.frame) > 0 or self.table_rows == 0


def validates_row_by_row(contract: TableContract) -> bool:
    """Whether validating only new / changed rows (and their uniqueness partners) keeps the contract's meaning."""
    if not contract.key_columns:
        return False
    for expectation in contract.expectations:
        if expectation.type in ROW_LEVEL_EXPECTATIONS | UNIQUENESS_EXPECTATIONS:
            continue
        if expectation.type not in TABLE_EXPECTATIONS_KEPT_ON_A_DELTA:
            return False
        if expectation.type == "expect_table_row_count_to_be_between":
            # "at least one row" holds of a non-empty delta; a larger minimum or any maximum is about the table
            if (
                expectation.kwargs.get("max_value") is not None
                or (expectation.kwargs.get("min_value") or 0) > 1
            ):
                return False
    return True


def suite_fingerprint(contract: TableContract, params: Mapping[str, Any]) -> str:
    """A hash of what the suite checks: its expectations, key columns and parameter values."""
    document = {
        "suite": contract.name,
        "key_columns": list(contract.key_columns),
        "expectations": [{"type": e.type, "kwargs": e.kwargs} for e in contract.expectations],
        "parameters": {name: params.get(name) for name in contract.parameters},
    }
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def uniqueness_groups(contract: TableContract) -> list[tuple[str, ...]]:
    """The column groups whose values must not repeat (one column, or several together)."""
    groups: list[tuple[str, ...]] = []
    for expectation in contract.expectations:
        if expectation.type == "expect_column_values_to_be_unique":
            groups.append((expectation.kwargs["column"],))
        elif expectation.type == "expect_compound_columns_to_be_unique":
            groups.append(tuple(expectation.kwargs["column_list"]))
    return list(dict.fromkeys(groups))


def _group_value(warehouse: Warehouse, group: tuple[str, ...], alias: str | None = None) -> str:
    """One comparable value per row for a uniqueness group: the column itself, or the columns as JSON (which
    also makes rows equal on a null part meet, as they do for GX's compound uniqueness)."""
    if len(group) == 1:
        return f"{alias}.{group[0]}" if alias else group[0]
    return row_json(warehouse, group, alias)


def unvalidated_rows_sql(
    warehouse: Warehouse, contract: TableContract, table: str, columns: Sequence[str], where: str = "true"
) -> tuple[str, int]:
    """The query reading a table's rows to validate, and how many times it uses the ``where`` parameters.

    Its parameters: ``where``'s, then the suite name and fingerprint, then ``where``'s again per uniqueness
    group (the returned count says how many copies of ``where``'s parameters in all).
    """
    key = row_json(warehouse, contract.key_columns)
    content = row_hash(warehouse, columns)
    groups = uniqueness_groups(contract)
    repeated = "".join(
        f"\n    or {_group_value(warehouse, group, 'c')} in ("
        f"select {_group_value(warehouse, group)} from {table} where {where} group by 1 having count(*) > 1)"
        for group in groups
    )
    sql = f"""
with current_rows as (
    select *, {key} as {ROW_KEY_COLUMN}, {content} as {ROW_HASH_COLUMN} from {table} where {where}
)
select * from current_rows as c
where not exists (
        select 1 from {LEDGER_TABLE} as v
        where v.suite = ? and v.suite_fingerprint = ?
            and v.row_key = c.{ROW_KEY_COLUMN} and v.row_hash = c.{ROW_HASH_COLUMN}
    ){repeated}
"""
    return sql, 1 + len(groups)


def read_unvalidated(
    warehouse: Warehouse,
    contract: TableContract,
    table: str,
    params: Mapping[str, Any],
    where: str = "true",
    where_params: Sequence[Any] = (),
) -> UnvalidatedRows:
    """Read the rows of ``table`` (under ``where``) that ``contract``'s suite has not passed in their content.

    Args:
        warehouse: DuckDB or Databricks warehouse holding ``table`` and ``quality.validated_rows``.
        contract: a contract for which :func:`validates_row_by_row` holds.
        table: ``schema.table`` of the gated rows.
        params: the suite parameters the gate passes to GX (part of the fingerprint).
        where, where_params: a condition on ``table`` selecting the gated rows, and its ``?`` values.
    """
    if not validates_row_by_row(contract):
        raise ValueError(f"suite {contract.name} has table-wide expectations: validate its whole table")
    columns = list(warehouse.query_df(f"select * from {table} where false").columns)
    fingerprint = suite_fingerprint(contract, params)
    sql, where_copies = unvalidated_rows_sql(warehouse, contract, table, columns, where)
    where_params = tuple(where_params)
    query_params = [*where_params, contract.name, fingerprint, *(where_params * (where_copies - 1))]
    rows = warehouse.query_df(sql, query_params)
    table_rows = int(warehouse.scalar(f"select count(*) from {table} where {where}", list(where_params)))
    return UnvalidatedRows(
        contract=contract,
        table=table,
        where=where,
        where_params=where_params,
        suite_fingerprint=fingerprint,
        frame=rows.drop(columns=[ROW_KEY_COLUMN, ROW_HASH_COLUMN]).reset_index(drop=True),
        row_keys=tuple(rows[ROW_KEY_COLUMN]),
        row_hashes=tuple(rows[ROW_HASH_COLUMN]),
        table_rows=max(table_rows, len(rows)),
    )


def record_sql(warehouse: Warehouse) -> str:
    """``MERGE`` of validated pairs into the ledger; parameters: suite, fingerprint, validated_at, pairs."""
    return f"""
merge into {LEDGER_TABLE} as target
using (
    select
        ? as suite,
        ? as suite_fingerprint,
        ? as validated_at,
        substring(pair, {HASH_LENGTH + 2}) as row_key,
        substring(pair, 1, {HASH_LENGTH}) as row_hash
    from {list_rows(warehouse, "pair")}
) as source
on target.suite = source.suite and target.row_key = source.row_key
when matched then update set
    suite_fingerprint = source.suite_fingerprint, row_hash = source.row_hash, validated_at = source.validated_at
when not matched then insert (suite, suite_fingerprint, row_key, row_hash, validated_at)
    values (source.suite, source.suite_fingerprint, source.row_key, source.row_hash, source.validated_at)
"""


def prune_sql(warehouse: Warehouse, read: UnvalidatedRows) -> str:
    """``DELETE`` of a suite's entries whose key is no longer in the table; parameters: suite, ``where``'s.

    One flat correlated ``NOT EXISTS``: Databricks' ``DELETE`` refuses a subquery nested in another.
    """
    key = row_json(warehouse, read.contract.key_columns, "t")
    return f"""
delete from {LEDGER_TABLE} as recorded
where recorded.suite = ? and not exists (
    select 1 from {read.table} as t where ({read.where}) and {key} = recorded.row_key
)
"""


def _pairs_to_record(read: UnvalidatedRows) -> list[str]:
    """``<row_hash>:<row_key>`` per validated row; a key read twice (the suite's keys are not declared
    unique) is left out, so those rows are simply validated again next time."""
    seen: dict[str, str | None] = {}
    for key, content in zip(read.row_keys, read.row_hashes, strict=True):
        seen[key] = content if key not in seen else None
    return [f"{content}:{key}" for key, content in seen.items() if content is not None]


def record_validated(
    warehouse: Warehouse, reads: Iterable[UnvalidatedRows], validated_at: datetime | None = None
) -> dict[str, int]:
    """After a gate passed: record the rows it validated, drop entries whose row left the table.

    Returns:
        suite name -> pairs recorded.
    """
    validated_at = validated_at or datetime.now(UTC).replace(tzinfo=None)
    recorded: dict[str, int] = {}
    for read in reads:
        pairs = _pairs_to_record(read)
        for start in range(0, len(pairs), RECORD_BATCH_ROWS):
            batch = pairs[start : start + RECORD_BATCH_ROWS]
            warehouse.execute(
                record_sql(warehouse),
                [read.contract.name, read.suite_fingerprint, validated_at, batch],
            )
        entries = int(
            warehouse.scalar(f"select count(*) from {LEDGER_TABLE} where suite = ?", [read.contract.name])
        )
        # After the merge every row of the table has its entry, so more entries than rows means some keys left
        # the table: only then pay the anti-join over the whole table.
        if entries > read.table_rows - (len(read.row_keys) - len(pairs)):
            warehouse.execute(prune_sql(warehouse, read), [read.contract.name, *read.where_params])
        recorded[read.contract.name] = len(pairs)
    return recorded
