"""The few SQL spellings that differ between the warehouses the Python stages run on.

The enrichment runner, the lanes' claims, the alert state and the urgent lane write their SQL once, in what
DuckDB (>= 1.4) and Databricks SQL both understand: ``merge into`` instead of ``insert ... on conflict``,
``qualify row_number() ...`` instead of ``distinct on``, explicit column lists instead of ``* exclude`` /
``replace``, subqueries instead of temporary tables, and the affected-row count every data-changing
statement returns instead of ``returning`` (:meth:`Warehouse.execute_count`).

What has no common spelling is a *list bound as one parameter* (a batch of feedback ids): DuckDB unnests it,
Databricks explodes it. The helpers here return the fragment for the warehouse at hand, each consuming exactly
one ``?`` parameter whose value is a Python list of strings. Membership is a semi-join on the unnested /
exploded list on both engines, not ``array_contains(?, column)`` (which both also know): that scans the whole
list for every row, 50x slower on DuckDB with 10,000 ids over 100,000 rows, and the unit sync sends batches
of 4,096 ids over every unit.

A row as text (``row_json``: ``to_json(struct_pack(...))`` on DuckDB, ``to_json(named_struct(...))`` on
Databricks) and its content hash (``row_hash``), which the quality gates' ledger compares run to run, differ
too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from feedback_ops.warehouse.base import Warehouse

_PLAIN_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DUCKDB = "duckdb"
DATABRICKS = "databricks"


def dialect_of(warehouse: Warehouse) -> str:
    """The SQL dialect of ``warehouse`` (its ``sql_dialect``: ``duckdb`` or ``databricks``)."""
    dialect = getattr(warehouse, "sql_dialect", DUCKDB)
    if dialect not in (DUCKDB, DATABRICKS):
        raise ValueError(f"unknown warehouse SQL dialect {dialect!r}")
    return dialect


def in_list(warehouse: Warehouse, column: str) -> str:
    """A condition true when ``column`` is one of the strings of the next ``?`` parameter (a list)."""
    if dialect_of(warehouse) == DATABRICKS:
        return f"{column} in (select explode(?))"
    return f"{column} in (select unnest(?::varchar[]))"


def list_rows(warehouse: Warehouse, column: str) -> str:
    """A relation (parenthesized, no alias) with one row per distinct string of the next ``?`` parameter,
    in a column named ``column``."""
    if dialect_of(warehouse) == DATABRICKS:
        return f"(select distinct explode(?) as {column})"
    return f"(select distinct unnest(?::varchar[]) as {column})"


def row_json(warehouse: Warehouse, columns: Sequence[str], alias: str | None = None) -> str:
    """A JSON object text of ``columns`` (names as keys) of one row: a row's key or whole content as a string.

    The columns are listed, not ``*``: what is serialized is exactly the columns a gate's frame holds, and the
    same statement then means the same on both engines (Databricks' ``struct(*)`` has no DuckDB spelling the
    fake connection can run). Column names are quoted (``language``, ``order`` are keywords somewhere).
    Databricks' ``to_json`` leaves out null fields and DuckDB's writes ``null``: the text is only ever compared
    with text the same engine wrote.
    """
    if not columns:
        raise ValueError("row_json needs at least one column")
    for column in columns:
        if not _PLAIN_COLUMN.match(column):
            raise ValueError(f"not a plain column name: {column!r}")
    prefix = f"{alias}." if alias else ""
    if dialect_of(warehouse) == DATABRICKS:
        fields = ", ".join(f"'{column}', {prefix}`{column}`" for column in columns)
        return f"to_json(named_struct({fields}))"
    fields = ", ".join(f'"{column}" := {prefix}"{column}"' for column in columns)
    return f"to_json(struct_pack({fields}))"


def row_hash(warehouse: Warehouse, columns: Sequence[str], alias: str | None = None) -> str:
    """A row's content hash over ``columns``, as 32 characters on both engines.

    Databricks: the md5 of :func:`row_json`. DuckDB: its 64-bit ``hash`` of the row as a struct (per field, so
    null and ``''`` differ), zero-padded to 32 digits: building the JSON text is what costs (0.29 s against
    0.05 s over bronze's 100k payloads), and 64 bits leave a changed row a 2**-64 chance of keeping its hash. A
    DuckDB upgrade that changed ``hash`` would only make every row be validated once more.
    """
    if dialect_of(warehouse) == DATABRICKS:
        return f"md5({row_json(warehouse, columns, alias)})"
    row_json(warehouse, columns)  # the same checks on the column names
    prefix = f"{alias}." if alias else ""
    fields = ", ".join(f'"{column}" := {prefix}"{column}"' for column in columns)
    return f"lpad(cast(hash(struct_pack({fields})) as varchar), 32, '0')"
