"""Databricks SQL implementation of the warehouse: the cloud runtime's Unity Catalog tables.

The Python stages (enrichment, embeddings, review decisions, alerts, retention) write through the same
:class:`~feedback_ops.warehouse.base.Warehouse` protocol as locally; this class turns those calls into
Databricks SQL sent through ``databricks-sql-connector``:

- ``append`` is a multi-row ``INSERT INTO ... VALUES`` and ``upsert`` a ``MERGE INTO ... USING (VALUES ...)``,
  both with **named parameters** (``:r0_c1``) so no value is ever spliced into SQL text. ``executemany`` is a
  Python loop of one request per row in the connector, which is why rows are batched into one statement
  instead: a statement carries at most ``write_batch_rows`` rows and 256 parameters (the SQL warehouse's
  limit for a parameterized statement).
- Table names stay two-part (``enrichment.feedback_enrichment``): the connection is opened on the configured
  Unity Catalog catalog, so the same SQL reads the same tables on both runtimes.
- There is no multi-statement transaction on a SQL warehouse: every write here is keyed (``MERGE``) or guarded
  by a manifest, so a retried task writes the same rows again instead of duplicating them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

MAX_STATEMENT_PARAMETERS = 256
"""A Databricks SQL warehouse refuses a parameterized statement with more parameters than this."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


def _checked(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain table or column name: {identifier!r}")
    return identifier


def to_databricks_ddl(statement: str) -> str | None:
    """The DuckDB DDL of ``schema.py`` as Databricks SQL, or None for a statement Databricks does not need.

    Types map through sqlglot (``varchar`` -> ``STRING``, naive ``timestamp`` -> ``TIMESTAMP_NTZ``,
    ``float[384]`` -> ``ARRAY<FLOAT>``). Primary keys are dropped (a single-column key stays ``NOT NULL``): in
    Unity Catalog they are informational only, and the upserts here name their keys explicitly.
    The additive ``alter table ... add column if not exists`` migrations are skipped: a Databricks catalog is
    created from the current DDL, which already holds those columns.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(statement, read="duckdb")
    if isinstance(tree, exp.Alter):
        return None
    for constraint in list(tree.find_all(exp.PrimaryKeyColumnConstraint)):
        constraint.replace(exp.NotNullColumnConstraint())  # a key column stays required
    for key in list(tree.find_all(exp.PrimaryKey)):
        key.pop()
    for data_type in tree.find_all(exp.DataType):
        if data_type.is_type(exp.DataType.Type.ARRAY) and data_type.args.get("values"):
            data_type.set("values", None)
    return tree.sql(dialect="databricks")


def _plain(value: Any) -> Any:
    """A Python value the connector binds: pandas / numpy scalars unwrapped, missing values as None, naive
    timestamps as ``TIMESTAMP_NTZ`` (what the naive ``timestamp`` columns of the DDL become)."""
    from databricks.sql.parameters import TimestampNTZParameter

    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = None if str(value) == "NaT" else value.to_pydatetime()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in {"NAType", "NaTType"}:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return TimestampNTZParameter(value=value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, float, bool, date, datetime, dict)):
        return value
    raise TypeError(f"cannot bind {type(value).__name__} value {value!r} as a Databricks SQL parameter")


class DatabricksWarehouse:
    """A warehouse in a Unity Catalog catalog, reached through a DB-API connection of the connector.

    Args:
        connection: an open ``databricks.sql`` connection (or anything with the same DB-API surface: ``cursor()``
            whose cursor has ``execute`` / ``executemany`` with named parameters, ``fetchall``, ``fetchmany``,
            ``description`` and ``close``).
        write_batch_rows: most rows in one write statement (also bounded by ``MAX_STATEMENT_PARAMETERS``).
    """

    sql_dialect = "databricks"
    """The SQL the portable statements are spelled in (``feedback_ops.warehouse.dialect``)."""

    def __init__(self, connection: Any, write_batch_rows: int = 200) -> None:
        if write_batch_rows < 1:
            raise ValueError("write_batch_rows must be at least 1")
        self.connection = connection
        self.write_batch_rows = write_batch_rows

    # --- reading ---------------------------------------------------------------------------------------------

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._cursor() as cursor:
            cursor.execute(sql, [_plain(p) for p in params] if params else None)

    def execute_count(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one data-changing statement and return how many rows it changed: the ``num_affected_rows``
        column a Databricks ``INSERT`` / ``UPDATE`` / ``DELETE`` / ``MERGE`` returns first."""
        with self._cursor() as cursor:
            cursor.execute(sql, [_plain(p) for p in params] if params else None)
            rows = cursor.fetchall()
        return int(tuple(rows[0])[0]) if rows else 0

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        import pandas as pd

        with self._cursor() as cursor:
            cursor.execute(sql, [_plain(p) for p in params] if params else None)
            rows = cursor.fetchall()
            columns = [column[0] for column in cursor.description or []]
        return pd.DataFrame([tuple(row) for row in rows], columns=columns)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value."""
        frame = self.query_df(sql, params)
        return None if frame.empty else frame.iat[0, 0]

    def iter_batches(
        self, sql: str, batch_size: int, params: Sequence[Any] | None = None
    ) -> Iterator[pa.Table]:
        import pyarrow as pa

        with self._cursor() as cursor:
            cursor.execute(sql, [_plain(p) for p in params] if params else None)
            columns = [column[0] for column in cursor.description or []]
            while rows := cursor.fetchmany(batch_size):
                yield pa.Table.from_pylist([dict(zip(columns, tuple(row), strict=True)) for row in rows])

    def table_exists(self, table: str) -> bool:
        schema, _, name = _checked(table).rpartition(".")
        with self._cursor() as cursor:
            cursor.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = :table_schema and table_name = :table_name",
                {"table_schema": schema or "default", "table_name": name},
            )
            row = cursor.fetchall()[0]
        return bool(tuple(row)[0])

    # --- writing ---------------------------------------------------------------------------------------------

    def _chunks(self, frame: pd.DataFrame) -> Iterator[list[tuple[Any, ...]]]:
        per_statement = max(1, min(self.write_batch_rows, MAX_STATEMENT_PARAMETERS // len(frame.columns)))
        rows = list(frame.itertuples(index=False, name=None))
        for start in range(0, len(rows), per_statement):
            yield rows[start : start + per_statement]

    @staticmethod
    def _values(rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]]:
        """``VALUES (:r0_c0, ...), (...)`` and its named parameters."""
        params: dict[str, Any] = {}
        tuples = []
        for r, row in enumerate(rows):
            names = []
            for c, value in enumerate(row):
                params[f"r{r}_c{c}"] = _plain(value)
                names.append(f":r{r}_c{c}")
            tuples.append(f"({', '.join(names)})")
        return ", ".join(tuples), params

    def append(self, table: str, frame: pd.DataFrame | Any) -> int:
        frame = _as_pandas(frame)
        if frame.empty:
            return 0
        columns = ", ".join(_checked(c) for c in frame.columns)
        with self._cursor() as cursor:
            for rows in self._chunks(frame):
                values, params = self._values(rows)
                cursor.execute(f"insert into {_checked(table)} ({columns}) values {values}", params)
        return len(frame)

    def upsert(self, table: str, frame: pd.DataFrame | Any, keys: Sequence[str]) -> int:
        frame = _as_pandas(frame)
        if frame.empty:
            return 0
        duplicated = frame.duplicated(subset=list(keys), keep=False)
        if duplicated.any():
            sample = frame.loc[duplicated, list(keys)].head(3).to_dict("records")
            raise ValueError(f"upsert into {table}: several rows share the key {list(keys)}, e.g. {sample}")
        with self._cursor() as cursor:
            for rows in self._chunks(frame):
                values, params = self._values(rows)
                cursor.execute(merge_sql(table, list(frame.columns), keys, values), params)
        return len(frame)

    def transaction(self) -> Any:
        """No multi-statement transaction on a SQL warehouse: the enclosed writes are keyed and retry-safe."""
        return _NoTransaction()

    def ensure_schema(self) -> None:
        """Create the Python-owned schemas and tables (``schema.DDL`` as Databricks SQL) if they are missing."""
        from feedback_ops.warehouse.schema import DDL

        for statement in DDL:
            databricks_sql = to_databricks_ddl(statement)
            if databricks_sql:
                self.execute(databricks_sql)

    def close(self) -> None:
        self.connection.close()


def _as_pandas(frame: Any) -> pd.DataFrame:
    """A pandas DataFrame of ``frame``; an Arrow table (the local stages write vectors as Arrow) becomes one
    with plain Python values (lists of floats for vectors), which the parameter binding here takes."""
    if hasattr(frame, "to_pydict"):
        import pandas as pd

        return pd.DataFrame(frame.to_pydict())
    return frame


def merge_sql(table: str, columns: Sequence[str], keys: Sequence[str], values_sql: str) -> str:
    """``MERGE INTO`` ``table`` from an inline ``VALUES`` relation: update matched keys, insert the others."""
    checked = [_checked(c) for c in columns]
    missing = [k for k in keys if k not in checked]
    if missing or not keys:
        raise ValueError(f"upsert keys {list(keys)} must be columns of the frame {checked}")
    on = " and ".join(f"target.{_checked(k)} = source.{k}" for k in keys)
    updates = ", ".join(f"{c} = source.{c}" for c in checked if c not in keys)
    matched = f"when matched then update set {updates} " if updates else ""
    return (
        f"merge into {_checked(table)} as target "
        f"using (select * from (values {values_sql}) as incoming({', '.join(checked)})) as source "
        f"on {on} "
        f"{matched}"
        f"when not matched then insert ({', '.join(checked)}) values ({', '.join('source.' + c for c in checked)})"
    )


class _NoTransaction:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        return None


def connect(settings: Settings) -> Any:
    """A ``databricks.sql`` connection on the configured catalog.

    Credentials come from ``DATABRICKS_HOST`` / ``DATABRICKS_HTTP_PATH`` / ``DATABRICKS_TOKEN`` when set (the
    CLI, tests against a workspace); otherwise from the Airflow Databricks connection (inside a task).
    """
    databricks = settings.databricks
    if databricks.host and databricks.token:
        if not databricks.http_path:
            raise ValueError(
                "DATABRICKS_HTTP_PATH is required with DATABRICKS_HOST (the SQL warehouse's path)"
            )
        from databricks import sql

        return sql.connect(
            server_hostname=databricks.host.removeprefix("https://"),
            http_path=databricks.http_path,
            access_token=databricks.token,
            catalog=databricks.catalog,
        )
    from airflow.providers.databricks.hooks.databricks_sql import DatabricksSqlHook

    hook = DatabricksSqlHook(
        databricks_conn_id=databricks.conn_id, http_path=databricks.http_path, catalog=databricks.catalog
    )
    return hook.get_conn()


def databricks_profile_environment(settings: Settings) -> dict[str, str]:
    """``DATABRICKS_HOST`` / ``_HTTP_PATH`` / ``_TOKEN`` / ``_CATALOG`` for dbt's ``databricks`` profile.

    From the settings (environment) when they are complete, else from the Airflow Databricks connection
    (host, token in ``password``, ``extra.http_path``), so dbt and the warehouse use the same credentials.

    Raises:
        ValueError: neither gives a host, a token and an HTTP path.
    """
    databricks = settings.databricks
    host, http_path, token = databricks.host, databricks.http_path, databricks.token
    if not (host and token and http_path):
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(databricks.conn_id)
        host = host or connection.host
        token = token or connection.password
        http_path = http_path or (connection.extra_dejson or {}).get("http_path")
    missing = [
        name for name, value in (("host", host), ("token", token), ("http_path", http_path)) if not value
    ]
    if missing:
        raise ValueError(
            f"dbt's databricks target needs {', '.join(missing)}: set DATABRICKS_HOST / DATABRICKS_TOKEN / "
            f"DATABRICKS_HTTP_PATH or the Airflow connection {databricks.conn_id!r}"
        )
    return {
        "DATABRICKS_HOST": str(host).removeprefix("https://"),
        "DATABRICKS_HTTP_PATH": str(http_path),
        "DATABRICKS_TOKEN": str(token),
        "DATABRICKS_CATALOG": databricks.catalog,
    }


@contextmanager
def open_databricks_warehouse(settings: Settings) -> Iterator[DatabricksWarehouse]:
    """Open the Databricks warehouse for one unit of work, with the Python-owned tables in place."""
    warehouse = DatabricksWarehouse(connect(settings), write_batch_rows=settings.databricks.write_batch_rows)
    try:
        warehouse.ensure_schema()
        yield warehouse
    finally:
        warehouse.close()
