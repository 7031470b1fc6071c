"""A lane run in its own process, for the tests that kill a lane mid-batch (``test_lane_claims.py``).

Runs ``enrich_pending`` on a warehouse with the real local enricher, printing the ids of each batch it sends to
the model (``BATCH <n> <ids>``) before the model sees them; with ``--stall-at-batch N`` it stops inside batch N
(its records claimed, nothing written) and waits to be killed.

    python tests/lane_worker.py WAREHOUSE LANDING --lane urgent --batch-size 2 --lease-s 4 --stall-at-batch 2
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from counting_enricher import CountingEnricher  # noqa: E402
from feedback_ops.config import LanesSettings, Settings  # noqa: E402
from feedback_ops.enrich.local import LocalEnricher  # noqa: E402
from feedback_ops.enrich.runner import enrich_pending  # noqa: E402
from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--lane", default="micro_batch")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lease-s", type=float, default=900.0)
    parser.add_argument("--stall-at-batch", type=int, default=0)
    args = parser.parse_args()
    settings = dataclasses.replace(
        Settings(),
        warehouse_path=args.warehouse,
        batch_size=args.batch_size,
        lanes=dataclasses.replace(LanesSettings(), claim_lease_s=args.lease_s),
    )

    def announce(number: int, ids: list[str]) -> None:
        print(f"BATCH {number} {','.join(ids)}", flush=True)
        if number == args.stall_at_batch:
            time.sleep(3600)  # killed here: claimed, sent to the model, nothing written

    enricher = CountingEnricher(LocalEnricher(settings), on_batch=announce)
    warehouse = DuckDBWarehouse(args.warehouse)
    try:
        stats = enrich_pending(warehouse, settings, enricher=enricher, lane=args.lane)
    finally:
        warehouse.close()
    print(f"DONE enriched={stats.enriched} claimed_elsewhere={stats.claimed_elsewhere}", flush=True)


if __name__ == "__main__":
    main()
