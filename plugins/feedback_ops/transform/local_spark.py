"""A local Spark session for the dbt project's ``spark`` target: the check that the models still run in Spark
SQL, the dialect of the Databricks runtime, without a workspace.

dbt-spark's ``session`` method runs every statement through ``SparkSession.builder...getOrCreate()`` in the
dbt process, configured by the ``server_side_parameters`` of the profile's ``spark`` output. This module opens
that same session (same parameters, read from ``dbt/profiles.yml`` through dbt's own profile renderer), so
the Python code and dbt share one session, one Derby metastore and one warehouse folder.

The models read tables the Python stages write (bronze, enrichment, alerts: ``warehouse/schema.py``). On
Databricks they are created by ``DatabricksWarehouse.ensure_schema`` from that DDL converted to Databricks SQL;
:func:`mirror_warehouse_to_spark` creates them in Spark from the same conversion and copies their rows from a
DuckDB warehouse, so the Spark run reads what the local pipeline wrote.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from feedback_ops.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse

JAVA_MISSING = (
    "Java is missing: the dbt `spark` target runs Spark in this process (pyspark), which needs a Java 17 "
    "runtime on PATH (or JAVA_HOME). Install it with `make install` as root, or "
    "`sudo apt-get install -y openjdk-17-jre-headless` on Debian."
)


class JavaMissing(RuntimeError):
    """No Java runtime to start Spark with."""


def require_java() -> None:
    """Raise :class:`JavaMissing` with the way to install it when no ``java`` can be found; pyspark's own
    error is a gateway exit code that does not say why."""
    import os

    java_home = os.environ.get("JAVA_HOME")
    if java_home and shutil.which("java", path=os.path.join(java_home, "bin")):
        return
    if shutil.which("java") is None:
        raise JavaMissing(JAVA_MISSING)


def spark_session_parameters(settings: Settings) -> dict[str, str]:
    """The Spark configuration dbt-spark uses for the ``spark`` output of ``dbt/profiles.yml``, rendered with
    the environment the runner gives dbt (dbt-spark also forces ``spark.sql.ansi.enabled=false``)."""
    import os

    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    from feedback_ops.transform.dbt_runner import dbt_environment

    os.environ.update(dbt_environment(settings))
    # what a dbt command sets up before rendering a profile: its flags (the defaults) and env_var()'s context
    set_from_args(_NoFlags(), None)  # type: ignore[arg-type]  # dbt reads the attributes it needs
    set_invocation_context(dict(os.environ))
    raw_profiles = read_profile(str(settings.dbt_profiles_dir))
    profile = Profile.from_raw_profiles(
        raw_profiles, "feedback_ops", ProfileRenderer({}), target_override="spark"
    )
    return dict(profile.credentials.server_side_parameters)  # type: ignore[attr-defined]  # SparkCredentials


class _NoFlags:
    """An empty argument namespace for ``dbt.flags.set_from_args``."""


def open_spark_session(settings: Settings) -> SparkSession:
    """The local Spark session of the ``spark`` target (started here if dbt has not started it yet).

    Raises:
        JavaMissing: no Java runtime is installed.
    """
    require_java()
    from pyspark.sql import SparkSession

    (settings.local_dir / "spark").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_session_parameters(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def dbt_source_tables(settings: Settings) -> list[str]:
    """``schema.table`` of every source the dbt project declares (``models/**/_*__sources.yml``): the
    Python-owned tables the models read."""
    import yaml

    tables = []
    for path in sorted((settings.dbt_project_dir / "models").rglob("*.yml")):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", []):
            schema = source.get("schema", source["name"])
            tables += [f"{schema}.{table['name']}" for table in source.get("tables", [])]
    return tables


def mirror_warehouse_to_spark(
    warehouse: DuckDBWarehouse, spark: SparkSession, tables: list[str] | None = None
) -> dict[str, int]:
    """(Re)create the Python-owned tables in the Spark session's metastore with the DDL the Databricks runtime
    uses (``schema.DDL`` through ``to_databricks_ddl``) and copy their rows from the DuckDB warehouse.

    Args:
        warehouse: the DuckDB warehouse the local pipeline wrote.
        spark: the session of :func:`open_spark_session`.
        tables: ``schema.table`` names to copy; every Python-owned table when None.

    Returns:
        Rows copied per table.

    Raises:
        ValueError: a table asked for is not one of the DDL's.
    """
    from feedback_ops.warehouse.databricks_warehouse import to_databricks_ddl
    from feedback_ops.warehouse.schema import DDL

    wanted = set(tables) if tables is not None else None
    copied: dict[str, int] = {}
    for statement in DDL:
        spark_sql = to_databricks_ddl(statement)
        if spark_sql is None:
            continue
        table = _created_table(spark_sql)
        if table is None:  # create schema
            spark.sql(spark_sql)
            continue
        if wanted is not None and table not in wanted:
            continue
        spark.sql(f"drop table if exists {table}")
        spark.sql(spark_sql)
        copied[table] = _copy_rows(warehouse, spark, table)
    unknown = sorted((wanted or set()) - set(copied))
    if unknown:
        raise ValueError(f"not a Python-owned table of warehouse/schema.py, nothing to copy: {unknown}")
    return copied


def _created_table(spark_sql: str) -> str | None:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(spark_sql, read="databricks")
    if isinstance(tree, exp.Create) and tree.kind == "TABLE":
        return tree.this.this.sql(dialect="databricks") if isinstance(tree.this, exp.Schema) else None
    return None


def _copy_rows(warehouse: DuckDBWarehouse, spark: SparkSession, table: str) -> int:
    """Copy one table's rows as plain Python values (naive datetimes, lists), which Spark converts to the
    table's own types (``TIMESTAMP_NTZ``, ``ARRAY<FLOAT>``)."""
    target_schema = spark.table(table).schema
    rows = warehouse.connection.execute(f"select {', '.join(target_schema.names)} from {table}").fetchall()
    if rows:
        spark.createDataFrame(rows, schema=target_schema).write.insertInto(table)
    return len(rows)


def build_on_spark(settings: Settings) -> dict[str, dict[str, int]]:
    """Build the dbt project on the local Spark session from the DuckDB warehouse's source rows, in the
    pipeline's order: silver, the incremental gold marts created empty
    (``dbt_runner.create_empty_incremental_marts``: their unit tests mock the existing table), then gold, all
    with the pipeline's dbt vars (``dbt_runner.dbt_vars``).

    Args:
        settings: settings whose ``dbt_target`` is ``spark``; ``warehouse_path`` is the DuckDB warehouse the
            sources are copied from (built by the local pipeline).

    Returns:
        dbt's node status counts per step (``silver``, ``gold``).

    Raises:
        ValueError: the settings do not select the spark target.
        JavaMissing: no Java runtime is installed.
        DbtBuildFailed: a model, data test or unit test failed on Spark.
    """
    from feedback_ops.transform.dbt_runner import create_empty_incremental_marts, dbt_vars, run_dbt
    from feedback_ops.warehouse import DuckDBWarehouse, open_warehouse

    if settings.dbt_target != "spark":
        raise ValueError(
            f"dbt target is {settings.dbt_target!r}: set FEEDBACK_OPS_DBT_TARGET=spark to build on local Spark"
        )
    spark = open_spark_session(settings)
    # not read_only: dbt-duckdb keeps its read-write connection open in a process that ran it, and DuckDB
    # refuses a second connection to the file with another configuration
    with open_warehouse(settings) as warehouse:
        if not isinstance(warehouse, DuckDBWarehouse):
            raise ValueError(
                "the Spark check mirrors the local DuckDB warehouse: set FEEDBACK_OPS_RUNTIME=local"
            )
        mirror_warehouse_to_spark(warehouse, spark, dbt_source_tables(settings))
    spark_vars = dbt_vars(settings)
    counts = {"silver": run_dbt("build", settings, select="tag:silver", dbt_vars=spark_vars).counts}
    create_empty_incremental_marts(settings, spark_vars)
    counts["gold"] = run_dbt("build", settings, select="tag:gold", dbt_vars=spark_vars).counts
    return counts


def main() -> None:
    """``FEEDBACK_OPS_DBT_TARGET=spark python -m feedback_ops.transform.local_spark``: the Spark SQL check of
    the dbt project over the local warehouse (run ``make demo`` first); prints dbt's counts."""
    import dataclasses
    import json

    from feedback_ops.config import get_settings

    # dbt's artifacts apart from the DuckDB target's (.local/dbt/target keeps the local manifest)
    settings = dataclasses.replace(
        get_settings(), dbt_target_dir=get_settings().local_dir / "dbt_spark" / "target"
    )
    counts = build_on_spark(settings)
    print(json.dumps({"spark_dir": str(settings.local_dir / "spark"), **counts}))


if __name__ == "__main__":
    main()
