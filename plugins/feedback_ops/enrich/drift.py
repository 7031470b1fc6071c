"""Label drift between enrichment runs: did this run's records land in very different categories?

Each run's label distribution (categories, sentiment labels, urgencies of the records it enriched) is kept in
``enrichment.enrichment_runs``. The drift of a run is the total variation distance between its category
distribution and the previous run's (0 = same shares, 1 = disjoint); above the threshold, with enough
records on both sides, the run summary flags it. A flagged drift is a signal to look, not an error: a real
incident shifts categories too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedback_ops.warehouse.base import Warehouse

DRIFT_THRESHOLD = 0.15
MIN_RECORDS = 50

RUN_LABELS_SQL = """
    select {column} as label, count(*) as n from enrichment.feedback_enrichment
    where enrichment_version = ? and enriched_at >= ?
    group by 1
"""


@dataclass
class LabelDrift:
    """This run's label distribution against the previous run's."""

    records: int
    previous_records: int
    distance: float | None
    flagged: bool
    categories: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def total_variation(a: dict[str, int], b: dict[str, int]) -> float:
    """Half the L1 distance between two count distributions' shares."""
    total_a, total_b = sum(a.values()) or 1, sum(b.values()) or 1
    return 0.5 * sum(abs(a.get(k, 0) / total_a - b.get(k, 0) / total_b) for k in set(a) | set(b))


def _labels(warehouse: Warehouse, column: str, version: str, since: datetime) -> dict[str, int]:
    frame = warehouse.query_df(RUN_LABELS_SQL.format(column=column), [version, since])
    return {str(k): int(v) for k, v in zip(frame["label"], frame["n"], strict=True)}


def record_run_labels(warehouse: Warehouse, version: str, started_at: datetime, run_id: str) -> LabelDrift:
    """Store the labels of the records enriched since ``started_at`` and compare them with the previous run."""
    import pandas as pd

    labels = {
        c: _labels(warehouse, c, version, started_at) for c in ("category", "sentiment_label", "urgency")
    }
    records = sum(labels["category"].values())
    previous = warehouse.query_df(
        "select category_counts from enrichment.enrichment_runs where records > 0 and run_id <> ? "
        "order by started_at desc limit 1",
        [run_id],
    )
    before = json.loads(previous["category_counts"].iloc[0]) if len(previous) else {}
    enough = records >= MIN_RECORDS and sum(before.values()) >= MIN_RECORDS
    distance = total_variation(labels["category"], before) if before and records else None
    drift = LabelDrift(
        records=records,
        previous_records=sum(before.values()),
        distance=None if distance is None else round(distance, 4),
        flagged=bool(enough and distance is not None and distance > DRIFT_THRESHOLD),
        categories=labels["category"],
    )
    row = {
        "run_id": run_id,
        "enrichment_version": version,
        "started_at": started_at,
        "records": records,
        "category_counts": json.dumps(labels["category"], sort_keys=True),
        "sentiment_counts": json.dumps(labels["sentiment_label"], sort_keys=True),
        "urgency_counts": json.dumps(labels["urgency"], sort_keys=True),
        "drift_distance": drift.distance,
        "drift_flagged": drift.flagged,
    }
    warehouse.upsert("enrichment.enrichment_runs", pd.DataFrame([row]), keys=["run_id"])
    return drift
