"""Quality gates between stages: one Great Expectations suite per stage and table, run on DataFrames.

``suites`` states the contracts as data, ``project`` keeps the GX project under ``great_expectations/`` in step
with them, ``gates`` runs them (``run_gate``) and builds Data Docs, ``frames`` reads what a gate validates and
``validated_rows`` keeps the ledger that lets a gate validate only new or changed rows. Importing this package
does not import Great Expectations.
"""

from feedback_ops.quality.gates import (
    ExpectationOutcome,
    GateFailed,
    GateResult,
    build_data_docs,
    reconciliation_frame,
    run_gate,
)

__all__ = [
    "ExpectationOutcome",
    "GateFailed",
    "GateResult",
    "build_data_docs",
    "reconciliation_frame",
    "run_gate",
]
