"""``open_warehouse``: the configured runtime's warehouse for one unit of work.

Callers name the ``Warehouse`` protocol, never an implementation: ``runtime`` ``local`` opens the DuckDB file
(``duckdb_warehouse``), ``databricks`` a Databricks SQL warehouse (``databricks_warehouse``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from feedback_ops.config import Settings, get_settings
from feedback_ops.warehouse.base import Warehouse


@contextmanager
def open_warehouse(settings: Settings | None = None, read_only: bool = False) -> Iterator[Warehouse]:
    """Open the configured warehouse for one unit of work, with the Python-owned tables in place.

    ``runtime`` ``local``: the DuckDB file at ``Settings.warehouse_path`` (``read_only`` opens it without
    taking the single writer's lock); ``databricks``: a ``DatabricksWarehouse`` on the configured SQL warehouse.
    """
    settings = settings or get_settings()
    if settings.runtime == "databricks":
        from feedback_ops.warehouse.databricks_warehouse import open_databricks_warehouse

        with open_databricks_warehouse(settings) as databricks_warehouse:
            yield databricks_warehouse
        return
    if settings.runtime != "local":
        raise ValueError(
            f"unknown runtime {settings.runtime!r} (FEEDBACK_OPS_RUNTIME): use 'local' or 'databricks'"
        )
    from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(
        settings.warehouse_path,
        read_only=read_only,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
    )
    try:
        if not read_only:
            warehouse.ensure_schema()
        yield warehouse
    finally:
        warehouse.close()
