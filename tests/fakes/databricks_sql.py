"""A fake ``databricks.sql`` connection: the connector's DB-API surface, recorded, and executed on DuckDB.

Every statement is kept as sent (``statements``: SQL text and parameters) so a test can assert exactly what
would reach the SQL warehouse, then it is parsed as Databricks SQL with sqlglot (a dialect error fails the
test here) and run on an in-memory DuckDB database after transpiling, so reads return what the writes did.
Named parameters (``:name``) and positional ones (``?``) are bound as the connector binds them; the
connector's typed parameter objects (``TimestampNTZParameter``) are unwrapped to their value.

sqlglot's Databricks reader is lenient: it accepts DuckDB / Postgres spellings a SQL warehouse rejects
(``insert ... on conflict``, ``returning``, ``distinct on``, ``* replace``, temporary tables, ``unnest``).
``databricks_sql_problems`` names them, and the fake refuses such a statement as the warehouse would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedStatement:
    sql: str
    parameters: Any


def databricks_sql_problems(tree: Any) -> list[str]:
    """The constructs of a parsed statement that Databricks SQL does not run."""
    from sqlglot import exp

    problems = []
    if any(tree.find_all(exp.OnConflict)):
        problems.append("INSERT ... ON CONFLICT (use MERGE INTO)")
    if any(tree.find_all(exp.Returning)):
        problems.append("RETURNING")
    if any(distinct.args.get("on") for distinct in tree.find_all(exp.Distinct)):
        problems.append("DISTINCT ON (use QUALIFY ROW_NUMBER() ...)")
    if any(star.args.get("replace") for star in tree.find_all(exp.Star)):
        problems.append("SELECT * REPLACE")
    if any(tree.find_all(exp.Unnest)):
        problems.append("UNNEST (use EXPLODE or ARRAY_CONTAINS)")
    if isinstance(tree, exp.Create) and any(tree.find_all(exp.TemporaryProperty)):
        problems.append("CREATE TEMPORARY TABLE / VIEW (a SQL warehouse statement has no session to keep it)")
    return problems


class DatabricksSQLError(Exception):
    """What the fake raises for a statement a SQL warehouse would refuse."""


def _value(parameter: Any) -> Any:
    if hasattr(parameter, "value") and type(parameter).__module__.startswith("databricks"):
        return parameter.value
    if isinstance(parameter, list):
        return [_value(item) for item in parameter]
    return parameter


class FakeCursor:
    def __init__(self, connection: FakeDatabricksConnection) -> None:
        self.connection = connection
        self._result: Any = None
        self.description: list[tuple[Any, ...]] | None = None
        self.closed = False

    def execute(self, operation: str, parameters: Any = None) -> FakeCursor:
        import sqlglot

        self.connection.statements.append(RecordedStatement(operation, parameters))
        tree = sqlglot.parse_one(
            operation, read="databricks"
        )  # raises on anything Databricks would not parse
        problems = databricks_sql_problems(tree)
        if problems:
            raise DatabricksSQLError(f"not Databricks SQL: {', '.join(problems)}: {operation}")
        duck_sql = tree.sql(dialect="duckdb")
        if isinstance(parameters, dict):
            bound: Any = {name: _value(value) for name, value in parameters.items()}
        elif parameters:
            bound = [_value(value) for value in parameters]
        else:
            bound = None
        self._result = (
            self.connection.duckdb.execute(duck_sql, bound)
            if bound
            else self.connection.duckdb.execute(duck_sql)
        )
        self.description = self._result.description
        return self

    def executemany(self, operation: str, seq_of_parameters: list[Any]) -> FakeCursor:
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._result.fetchall()

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._result.fetchmany(size)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._result.fetchone()

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeDatabricksConnection:
    """What ``databricks.sql.connect(...)`` returns, as far as the warehouse uses it."""

    statements: list[RecordedStatement] = field(default_factory=list)
    closed: bool = False

    def __post_init__(self) -> None:
        import duckdb

        self.duckdb = duckdb.connect(":memory:")

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True

    def writes(self) -> list[RecordedStatement]:
        """The statements that changed data (insert / merge / update / delete)."""
        verbs = ("insert", "merge", "update", "delete")
        return [s for s in self.statements if s.sql.lstrip().lower().startswith(verbs)]
