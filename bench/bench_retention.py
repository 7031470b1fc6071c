"""Time of a raw-text retention run (``feedback_ops.ops.retention``) on the sample data, on DuckDB.

Loads ``include/sample_data`` (6,464 records) into a throwaway warehouse with the real loader, builds silver
with dbt, then purges every record (``as_of`` 400 days after loading, retention 90 days): the worst case,
where no record has an enrichment yet, so every text goes through the project's redactor. Prints the rows
purged per table and the time of the first run and of a second run (which purges nothing).

Usage: ``PYTHONPATH=plugins .venv/bin/python bench/bench_retention.py [--batch-size 512]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT, Settings
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.ops.retention import apply_retention
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=512, help="bronze rows rewritten per batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        local = Path(root) / ".local"
        settings = dataclasses.replace(
            Settings(),
            local_dir=local,
            landing_dir=PROJECT_ROOT / "include" / "sample_data",
            warehouse_path=local / "warehouse.duckdb",
            dbt_target_dir=local / "dbt" / "target",
            batch_size=args.batch_size,
        )
        settings.ensure_dirs()
        with open_warehouse(settings) as warehouse:
            loaded = load_landing_to_bronze(warehouse, settings)
        run_dbt("build", settings, select="tag:silver")
        as_of = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=400)
        with open_warehouse(settings) as warehouse:
            started = time.perf_counter()
            first = apply_retention(warehouse, settings, as_of)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = apply_retention(warehouse, settings, as_of)
            second_s = time.perf_counter() - started
    print(f"records loaded: {loaded.records_loaded}; batch size {args.batch_size}")
    for table, count in first.purged.items():
        print(f"  {table:36s} {count:6d} rows purged")
    rate = first.purged.get("bronze.feedback_raw", 0) / first_s if first_s else 0.0
    print(f"first run:  {first_s:6.2f} s  ({rate:,.0f} bronze rows/s, redactor on every text)")
    print(f"second run: {second_s:6.2f} s  (purged {sum(second.purged.values())} rows)")


if __name__ == "__main__":
    main()
