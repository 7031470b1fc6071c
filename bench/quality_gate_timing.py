"""Time one Great Expectations gate on a 6,000-row frame: GX import, first run in a process, a warm re-run.

Runs against a copy of the committed GX project in a temporary folder (nothing under great_expectations/ or
.local/ is touched). Usage: ``PYTHONPATH=plugins .venv/bin/python bench/quality_gate_timing.py [rows]``.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from feedback_ops.config import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    import pandas as pd


def enrichment_frame(rows: int) -> pd.DataFrame:
    import pandas as pd

    from feedback_ops.quality.suites import BASELINE_TAXONOMY, ENRICHMENT_COLUMNS

    categories = BASELINE_TAXONOMY
    frame = pd.DataFrame(
        {
            "feedback_id": [f"f{i:06d}" for i in range(rows)],
            "enrichment_version": "ev1",
            "text_hash": [f"h{i}" for i in range(rows)],
            "redacted_text": [
                f"Order {i} never arrived, write to [EMAIL] or call [PHONE]" for i in range(rows)
            ],
            "redaction_counts": '{"EMAIL": 1, "PHONE": 1}',
            "language": "en",
            "language_confidence": 0.97,
            "category": [categories[i % len(categories)] for i in range(rows)],
            "sentiment_label": [("negative", "neutral", "positive")[i % 3] for i in range(rows)],
            "sentiment_score": [((i % 200) - 100) / 100 for i in range(rows)],
            "urgency": [("low", "medium", "high", "critical")[i % 4] for i in range(rows)],
            "confidence": [(i % 100) / 100 for i in range(rows)],
            "needs_review": [i % 7 == 0 for i in range(rows)],
            "lane": "micro_batch",
            "model_name": "local",
            "model_version": "1",
            "prompt_version": "p1",
            "taxonomy_version": "t1",
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_usd": 0.0,
            "latency_ms": 2.0,
            "enriched_at": pd.Timestamp("2026-11-20T10:00:00"),
        }
    )
    return frame[list(ENRICHMENT_COLUMNS)]


def main(rows: int = 6000) -> None:
    started = time.perf_counter()
    import great_expectations  # noqa: F401 - timed on its own

    imported = time.perf_counter()
    from feedback_ops.quality.gates import run_gate
    from feedback_ops.quality.suites import BASELINE_TAXONOMY

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(PROJECT_ROOT / "great_expectations", root / "great_expectations")
        settings = dataclasses.replace(
            Settings(),
            local_dir=root / ".local",
            data_docs_dir=root / ".local" / "data_docs",
            gx_project_dir=root / "great_expectations",
        )
        frame = enrichment_frame(rows)
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            result = run_gate(
                "enrichment", {"feedback_enrichment": frame}, settings, taxonomy=list(BASELINE_TAXONOMY)
            )
            timings.append(time.perf_counter() - began)
    print(f"rows={rows} expectations={result.statistics['evaluated_expectations']} success={result.success}")
    print(f"import great_expectations: {imported - started:.2f} s")
    print(
        f"first gate in the process: {timings[0]:.2f} s; warm re-runs: {', '.join(f'{t:.2f} s' for t in timings[1:])}"
    )
    print(f"cold process total (import + first gate): {imported - started + timings[0]:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6000)
