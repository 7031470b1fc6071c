"""DuckDB implementation of the warehouse: the local runtime's single file.

DuckDB allows one writing process at a time, so a connection is opened for a unit of work and closed after
it (``with open_warehouse(settings) as wh: ...``, ``feedback_ops.warehouse.factory``); Airflow tasks that write share a one-slot pool.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import duckdb_size
from feedback_ops.warehouse.schema import DDL, declared_columns

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _checked(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain table or column name: {identifier!r}")
    return identifier


class DuckDBWarehouse:
    """A warehouse in one DuckDB file."""

    sql_dialect = "duckdb"
    """The SQL the portable statements are spelled in (``feedback_ops.warehouse.dialect``)."""

    def __init__(
        self, path: Path, read_only: bool = False, memory_limit: str | None = None, threads: int = 0
    ) -> None:
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.connection = duckdb.connect(str(path), read_only=read_only)
        limit_duckdb(self.connection, memory_limit, threads)

    def ensure_schema(self) -> None:
        """Create the bronze and enrichment tables if they do not exist, and bring tables an older version
        created up to the DDL: add the columns it declares, and change a column's type where the DDL widened
        it (``float[384]`` to ``float[]``). Columns are never dropped."""
        for statement in DDL:
            self.connection.execute(statement)
        for table, columns in declared_columns().items():
            schema, name = table.split(".")
            present = dict(
                self.connection.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchall()
            )
            for column, data_type in columns:
                if column not in present:
                    self.connection.execute(f"alter table {table} add column {column} {data_type}")
                elif present[column] != data_type:
                    self.connection.execute(f"alter table {table} alter column {column} type {data_type}")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.connection.execute(sql, params or [])

    def execute_count(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one data-changing statement and return how many rows it changed."""
        row = self.connection.execute(sql, params or []).fetchone()
        return int(row[0]) if row else 0

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.connection.execute(sql, params or []).df()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value."""
        row = self.connection.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def iter_batches(
        self, sql: str, batch_size: int, params: Sequence[Any] | None = None
    ) -> Iterator[pa.Table]:
        import pyarrow as pa

        reader = self.connection.execute(sql, params or []).fetch_record_batch(batch_size)
        for batch in reader:
            yield pa.Table.from_batches([batch])

    def append(self, table: str, frame: pd.DataFrame | pa.Table) -> int:
        """Insert the rows of a pandas DataFrame or an Arrow table (vectors: Arrow, no Python lists)."""
        if not _row_count(frame):
            return 0
        columns = ", ".join(_checked(c) for c in _column_names(frame))
        self.connection.register("_incoming", frame)
        try:
            self.connection.execute(
                f"insert into {_checked(table)} ({columns}) select {columns} from _incoming"
            )
        finally:
            self.connection.unregister("_incoming")
        return _row_count(frame)

    def upsert(self, table: str, frame: pd.DataFrame | pa.Table, keys: Sequence[str]) -> int:
        """Insert the rows, or update the row of the same ``keys`` (a pandas DataFrame or an Arrow table)."""
        if not _row_count(frame):
            return 0
        columns = [_checked(c) for c in _column_names(frame)]
        key_list = ", ".join(_checked(k) for k in keys)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        conflict = f"do update set {updates}" if updates else "do nothing"
        self.connection.register("_incoming", frame)
        try:
            self.connection.execute(
                f"insert into {_checked(table)} ({', '.join(columns)}) select {', '.join(columns)} from _incoming "
                f"on conflict ({key_list}) {conflict}"
            )
        finally:
            self.connection.unregister("_incoming")
        return _row_count(frame)

    def table_exists(self, table: str) -> bool:
        schema, _, name = _checked(table).rpartition(".")
        count = self.scalar(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema or "main", name],
        )
        return bool(count)

    def transaction(self) -> Any:
        """Context manager running the enclosed statements in one transaction."""
        return _Transaction(self.connection)

    def close(self) -> None:
        self.connection.close()


def limit_duckdb(connection: Any, memory_limit: str | None, threads: int = 0) -> None:
    """Bound a DuckDB database's memory (``Settings.duckdb_memory_limit``) and threads (0: DuckDB's default).

    Without a limit DuckDB keeps every block it has read or written in memory, up to 80 % of the machine's RAM
    per database, so the process grows with the data. Set with ``SET`` after connecting, not as
    ``duckdb.connect(config=...)``: DuckDB refuses a second connection in the same process to a file already
    open with another configuration (dbt's, a test's), while a setting changed afterwards is simply shared by
    every connection to that database.
    """
    if memory_limit:
        connection.execute(f"set memory_limit = '{duckdb_size('memory_limit', memory_limit)}'")
    if threads < 0:
        raise ValueError(f"DuckDB threads must be 0 (DuckDB's default) or more, not {threads}")
    if threads:
        connection.execute(f"set threads = {int(threads)}")


def _row_count(frame: pd.DataFrame | pa.Table) -> int:
    return frame.num_rows if hasattr(frame, "num_rows") else len(frame)


def _column_names(frame: pd.DataFrame | pa.Table) -> list[str]:
    return list(frame.column_names if hasattr(frame, "column_names") else frame.columns)


class _Transaction:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("begin transaction")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.connection.execute("rollback" if exc_type else "commit")
