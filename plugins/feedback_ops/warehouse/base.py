"""The ``Warehouse`` protocol every runtime implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class Warehouse(Protocol):
    """What the Python stages need from a SQL warehouse."""

    sql_dialect: str
    """``duckdb`` or ``databricks``: which spelling ``feedback_ops.warehouse.dialect`` gives list parameters."""

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement."""

    def execute_count(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one data-changing statement and return how many rows it changed."""

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame (small results only)."""

    def iter_batches(
        self, sql: str, batch_size: int, params: Sequence[Any] | None = None
    ) -> Iterator[pa.Table]:
        """Stream a query's result in Arrow batches of at most ``batch_size`` rows."""

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query and return the first column of its first row (None when it returns no row)."""

    def append(self, table: str, frame: pd.DataFrame | pa.Table) -> int:
        """Insert the rows of ``frame`` (columns by name) and return how many were written."""

    def upsert(self, table: str, frame: pd.DataFrame | pa.Table, keys: Sequence[str]) -> int:
        """Insert or replace rows of ``frame`` matched on ``keys``; return rows written."""

    def table_exists(self, table: str) -> bool:
        """Whether ``schema.table`` exists."""

    def transaction(self) -> AbstractContextManager[Any]:
        """Context manager running the enclosed statements in one transaction (committed on success)."""

    def ensure_schema(self) -> None:
        """Create the Python-owned tables (``feedback_ops.warehouse.schema``) that do not exist yet."""

    def close(self) -> None:
        """Release the connection."""
