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
"""

from __future__ import annotations

from typing import Any

DUCKDB = "duckdb"
DATABRICKS = "databricks"


def dialect_of(warehouse: Any) -> str:
    """The SQL dialect of ``warehouse`` (its ``sql_dialect``: ``duckdb`` or ``databricks``)."""
    dialect = getattr(warehouse, "sql_dialect", DUCKDB)
    if dialect not in (DUCKDB, DATABRICKS):
        raise ValueError(f"unknown warehouse SQL dialect {dialect!r}")
    return dialect


def in_list(warehouse: Any, column: str) -> str:
    """A condition true when ``column`` is one of the strings of the next ``?`` parameter (a list)."""
    if dialect_of(warehouse) == DATABRICKS:
        return f"{column} in (select explode(?))"
    return f"{column} in (select unnest(?::varchar[]))"


def list_rows(warehouse: Any, column: str) -> str:
    """A relation (parenthesized, no alias) with one row per distinct string of the next ``?`` parameter,
    in a column named ``column``."""
    if dialect_of(warehouse) == DATABRICKS:
        return f"(select distinct explode(?) as {column})"
    return f"(select distinct unnest(?::varchar[]) as {column})"
