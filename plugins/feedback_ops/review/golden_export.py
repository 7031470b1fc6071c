"""Reviewed items as golden-set candidates: JSONL rows in the golden format, for a person to merge.

The golden set is frozen (``include/golden/README.md``): candidates are written to
``.local/golden_candidates.jsonl`` and never into ``include/golden``. Each row is a valid ``GoldenRecord``
with the reviewer's labels, the redacted text (never the raw text), ids numbered for the next golden
version (``g<N+1>-NNNN``) and ``label_source`` ``review:<reviewer>``; ``source_ref`` names the feedback item
and the decision. Items whose text already is in the golden set are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.evaluation.golden import GOLDEN_DIR, GoldenRecord, load_golden, read_manifest
from feedback_ops.warehouse.base import Warehouse

CANDIDATES_NAME = "golden_candidates.jsonl"
REVIEWED_SQL = """
    with latest as (
        select *, row_number() over (
            partition by feedback_id order by decided_at desc, decision_id desc
        ) as recency_rank
        from enrichment.review_decisions
    )
    select
        d.decision_id, d.feedback_id, d.reviewer, d.action, d.category, d.sentiment_label, d.urgency,
        d.model_category, d.model_sentiment_label, d.model_urgency,
        e.redacted_text, e.language, s.channel, s.locale
    from latest as d
    join enrichment.feedback_enrichment as e
        on e.feedback_id = d.feedback_id and e.enrichment_version = d.enrichment_version
    join silver.int_feedback_deduplicated as s on s.feedback_id = d.feedback_id
    where d.recency_rank = 1
    order by d.decided_at, d.decision_id
"""


def _locale(row: dict[str, Any]) -> str:
    """The item's locale in the golden form (``en-US`` / ``en``), else its detected language, else ``en``."""
    locale = (row.get("locale") or "").replace("_", "-")
    language, _, region = locale.partition("-")
    if len(language) == 2 and language.isalpha():
        return f"{language.lower()}-{region.upper()}" if len(region) == 2 else language.lower()
    detected = row.get("language") or ""
    return detected if len(detected) == 2 and detected.isalpha() else "en"


def candidate_record(row: dict[str, Any], record_id: str) -> GoldenRecord:
    """One reviewed item as a golden record (validated)."""
    return GoldenRecord(
        id=record_id,
        channel=row["channel"],
        locale=_locale(row),
        text=row["redacted_text"],
        category=row["category"],
        sentiment=row["sentiment_label"],
        urgency=row["urgency"],
        source_dataset="review-queue",
        source_ref=f"feedback_id={row['feedback_id']};decision_id={row['decision_id']}",
        dataset_label=(
            f"model: category={row['model_category']}; sentiment={row['model_sentiment_label']}; "
            f"urgency={row['model_urgency']}"
        ),
        label_source=f"review:{row['reviewer']}",
    )


def export_golden_candidates(
    warehouse: Warehouse, settings: Settings, out: Path | None = None, golden_dir: Path = GOLDEN_DIR
) -> tuple[Path, int]:
    """Write the latest decision of every reviewed item as a golden candidate; return the file and row count.

    The file is rewritten whole each time (the same decisions give the same file).
    """
    out = out or settings.local_dir / CANDIDATES_NAME
    next_version = int(read_manifest(golden_dir)["version"]) + 1
    known_texts = {record.text.strip() for record in load_golden(golden_dir).records}
    frame = warehouse.query_df(REVIEWED_SQL)
    rows = [r for r in frame.to_dict("records") if str(r["redacted_text"]).strip() not in known_texts]
    records = [candidate_record(row, f"g{next_version}-{n:04d}") for n, row in enumerate(rows, start=1)]
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r.model_dump(mode="json"), ensure_ascii=False) for r in records]
    out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return out, len(records)
