"""The warehouse: one protocol, a DuckDB implementation locally and a Databricks SQL one in the cloud.

Python stages read pending rows and write their results through a :class:`Warehouse`; dbt reads and writes
the same tables through its own adapter. See ``docs/data-model.md`` for the tables.
"""

from feedback_ops.warehouse.base import Warehouse
from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse
from feedback_ops.warehouse.factory import open_warehouse

__all__ = ["DuckDBWarehouse", "Warehouse", "open_warehouse"]
