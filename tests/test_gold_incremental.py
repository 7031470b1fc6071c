"""gold.fct_feedback is incremental: a run rebuilds only the items whose inputs changed, and the table it leaves
is the one a full refresh gives, after a re-enrichment, a reviewer's override and a switch of enrichment version.

Runs the real dbt project on the fixture landing data (bronze -> silver -> local enrichment -> gold). To see
which rows a run rebuilt, one untouched row is marked in the table beforehand: a rebuilt row loses the mark.
The look-back margin is set to 0 so that "rebuilt" means "its inputs are newer than the watermark".
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from feedback_ops.enrich.rich import LocalRichEnricher
from feedback_ops.enrich.versions import current_enrichment_version
from feedback_ops.review.decisions import ReviewedLabels, record_decision
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse
from test_review import build_through_gold

MARK = "marked: not rebuilt"


def gold_vars(settings, **overrides) -> dict:
    """The vars of the pipeline's gold build, without the look-back margin."""
    return {
        "enrichment_version": current_enrichment_version(settings),
        "rich_version": LocalRichEnricher(settings).rich_version,
        "fct_feedback_lookback_minutes": 0,
        **overrides,
    }


def fct(settings) -> pd.DataFrame:
    with open_warehouse(settings) as warehouse:
        frame = warehouse.query_df("select * from gold.fct_feedback order by feedback_id")
    return frame.reset_index(drop=True)


def build_fct(settings, dbt_vars: dict, full_refresh: bool = False) -> pd.DataFrame:
    """Run fct_feedback with its gold staging views (they filter on the enrichment version var)."""
    run_dbt(
        "run",
        settings,
        select="+fct_feedback,tag:gold",
        dbt_vars=dbt_vars,
        extra_args=["--full-refresh"] if full_refresh else None,
    )
    return fct(settings)


def mark(settings, feedback_id: str) -> None:
    with open_warehouse(settings) as warehouse:
        warehouse.execute("update gold.fct_feedback set title = ? where feedback_id = ?", [MARK, feedback_id])


def title_of(frame: pd.DataFrame, feedback_id: str) -> str | None:
    return frame.loc[frame["feedback_id"] == feedback_id, "title"].iloc[0]


@pytest.fixture
def gold(settings):
    build_through_gold(settings)
    return settings


def test_incremental_fct_feedback_equals_a_full_refresh(gold):
    settings = gold
    dbt_vars = gold_vars(settings)
    first = fct(settings)
    enriched = first[first["is_enriched"]]["feedback_id"].tolist()
    assert len(enriched) >= 3 and first["source_updated_at"].notna().all()
    untouched, re_enriched, reviewed = enriched[0], enriched[1], enriched[2]

    # 1. nothing new: the run rebuilds no row (the mark survives) and the table is unchanged
    mark(settings, untouched)
    again = build_fct(settings, dbt_vars)
    assert title_of(again, untouched) == MARK
    pd.testing.assert_frame_equal(again.drop(columns="title"), first.drop(columns="title"))

    # 2. a re-enrichment of one item and a reviewer's correction of another
    before = first.set_index("feedback_id")
    new_category = "billing" if before.loc[re_enriched, "category"] != "billing" else "bug"
    override = "delivery" if before.loc[reviewed, "category"] != "delivery" else "pricing"
    with open_warehouse(settings) as warehouse:
        warehouse.execute(
            "update enrichment.feedback_enrichment set category = ?, enriched_at = ? "
            "where feedback_id = ? and enrichment_version = ?",
            [
                new_category,
                datetime.now() + timedelta(seconds=1),
                re_enriched,
                dbt_vars["enrichment_version"],
            ],
        )
        record_decision(warehouse, settings, reviewed, "correct", "ann", ReviewedLabels(category=override))
    incremental = build_fct(settings, dbt_vars).set_index("feedback_id")
    assert incremental.loc[untouched, "title"] == MARK, "an item without new inputs was rebuilt"
    assert incremental.loc[re_enriched, "category"] == new_category
    assert incremental.loc[re_enriched, "model_category"] == new_category
    assert (incremental.loc[reviewed, "category"], incremental.loc[reviewed, "reviewed_by"]) == (
        override,
        "ann",
    )
    assert incremental.loc[reviewed, "model_category"] == before.loc[reviewed, "model_category"]

    with open_warehouse(settings) as warehouse:  # take the mark off before comparing
        warehouse.execute(
            "update gold.fct_feedback set title = ? where feedback_id = ?",
            [before.loc[untouched, "title"], untouched],
        )
    incremental = fct(settings)
    full = build_fct(settings, dbt_vars, full_refresh=True)
    pd.testing.assert_frame_equal(incremental, full)

    # 3. the run switches to enrichment version v2, written before the watermark, for one item only
    with open_warehouse(settings) as warehouse:
        warehouse.execute(
            "insert into enrichment.feedback_enrichment by name "
            "select * replace ('v2' as enrichment_version, 'pricing' as category, "
            "timestamp '2000-01-01' as enriched_at) "
            "from enrichment.feedback_enrichment where feedback_id = ? and enrichment_version = ?",
            [untouched, dbt_vars["enrichment_version"]],
        )
    v2_vars = gold_vars(settings, enrichment_version="v2")
    switched = build_fct(settings, v2_vars).set_index("feedback_id")
    assert switched.loc[untouched, ["enrichment_version", "category"]].tolist() == ["v2", "pricing"]
    assert not switched.loc[re_enriched, "is_enriched"], "an item without a v2 row must read as not enriched"
    switched = fct(settings)
    pd.testing.assert_frame_equal(switched, build_fct(settings, v2_vars, full_refresh=True))
