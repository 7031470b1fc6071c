"""The dbt project on Spark SQL: every model, data test and unit test of the project runs on a local Spark
session (dbt-spark ``session`` method, the ``spark`` output of ``dbt/profiles.yml``), so a model that only
DuckDB understands fails CI instead of the first Databricks run.

The Spark run reads what the local pipeline wrote: the fixture landing goes through the project's own code on
DuckDB (bronze -> silver -> local enrichment -> a reviewer's decision -> gold), then ``build_on_spark``
recreates the Python-owned source tables in Spark from the DDL the Databricks runtime uses, fills them with
DuckDB's rows and builds silver and gold on Spark in the pipeline's order. The tables Spark produced are then
compared with DuckDB's.

Plain Spark has no Delta: fct_feedback is ``insert_overwrite`` by ``created_date`` there (Databricks merges),
and the last test checks an incremental run of it. Java 17 is required (``make install`` installs it).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES, local_settings
from feedback_ops import pipeline
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.review.decisions import ReviewedLabels, record_decision
from feedback_ops.transform import dbt_runner
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.transform.local_spark import (
    JAVA_MISSING,
    JavaMissing,
    build_on_spark,
    dbt_source_tables,
    mirror_warehouse_to_spark,
    open_spark_session,
    require_java,
    spark_session_parameters,
)
from feedback_ops.warehouse import open_warehouse
from test_review import FOREIGN_RECORDS

FACT_COLUMNS = [
    "feedback_id",
    "source_record_id",
    "channel",
    "feedback_text",
    "created_date",
    "is_enriched",
    "category",
    "sentiment_label",
    "urgency",
    "is_negative",
    "is_reviewed",
    "reviewed_by",
    "has_insight",
    "enrichment_version",
]


@dataclasses.dataclass
class SparkBuild:
    duckdb: object  # settings of the DuckDB run
    spark_settings: object  # the same local state, dbt target `spark`
    spark: object  # the SparkSession dbt ran in
    dbt_vars: dict
    counts: dict[str, dict[str, int]]
    reviewed_id: str


def _duckdb_frame(settings, sql: str) -> pd.DataFrame:
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(sql)


def _spark_frame(spark, sql: str) -> pd.DataFrame:
    return spark.sql(sql).toPandas()


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory) -> SparkBuild:
    try:
        require_java()
    except JavaMissing as missing:
        pytest.fail(str(missing))
    root = tmp_path_factory.mktemp("spark")
    shutil.copytree(FIXTURES / "landing", root / "landing")
    settings = local_settings(root, root / "landing")
    settings.ensure_dirs()

    # the local pipeline on DuckDB (test_review's build_through_gold), with one reviewer's correction before
    # gold so the review columns and marts carry data
    (settings.landing_dir / "foreign_chats.jsonl").write_text(FOREIGN_RECORDS, encoding="utf-8")
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    pipeline.build_silver(settings)
    pipeline.enrich(settings)
    with open_warehouse(settings) as warehouse:
        enriched = warehouse.query_df(
            "select feedback_id, category from enrichment.feedback_enrichment order by feedback_id"
        )
        reviewed_id = enriched["feedback_id"].iloc[0]
        override = "delivery" if enriched["category"].iloc[0] != "delivery" else "pricing"
        record_decision(warehouse, settings, reviewed_id, "correct", "ann", ReviewedLabels(category=override))
    pipeline.build_gold(settings)

    spark_settings = dataclasses.replace(
        settings, dbt_target="spark", dbt_target_dir=settings.local_dir / "dbt_spark" / "target"
    )
    counts = build_on_spark(spark_settings)
    spark = open_spark_session(spark_settings)  # the session dbt ran in
    dbt_vars = dbt_runner.dbt_vars(settings)
    yield SparkBuild(settings, spark_settings, spark, dbt_vars, counts, reviewed_id)
    spark.stop()
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest has
    # closed its log streams: a harmless "--- Logging error ---" traceback at the end of every run
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.mark.spark
def test_every_model_data_test_and_unit_test_passes_on_spark(spark_build):
    silver, gold = spark_build.counts["silver"], spark_build.counts["gold"]
    # dbt reports models as success and tests (data and unit) as pass; nothing was skipped or failed
    assert set(silver) == {"success", "pass"} and set(gold) == {"success", "pass"}, (silver, gold)
    assert silver["success"] >= 5 and gold["success"] >= 15
    assert gold["pass"] >= 100


@pytest.mark.spark
def test_fct_feedback_on_spark_holds_every_silver_item_with_its_enrichment(spark_build):
    spark = spark_build.spark
    silver_items = spark.table("silver.int_feedback_deduplicated").count()
    assert (
        silver_items
        == _duckdb_frame(spark_build.duckdb, "select * from silver.int_feedback_deduplicated").shape[0]
    )
    fct = _spark_frame(spark, "select * from gold.fct_feedback")
    assert len(fct) == silver_items and fct["feedback_id"].is_unique
    enriched_ids = _spark_frame(
        spark,
        "select distinct feedback_id from enrichment.feedback_enrichment "
        f"where enrichment_version = '{spark_build.dbt_vars['enrichment_version']}'",
    )["feedback_id"]
    assert set(fct.loc[fct["is_enriched"], "feedback_id"]) == set(enriched_ids) and len(enriched_ids) >= 3
    reviewed = fct.set_index("feedback_id").loc[spark_build.reviewed_id]
    assert (reviewed["is_reviewed"], reviewed["reviewed_by"]) == (True, "ann")
    assert reviewed["category"] != reviewed["model_category"]


@pytest.mark.spark
def test_spark_builds_the_same_fact_as_duckdb(spark_build):
    columns = ", ".join(FACT_COLUMNS)
    query = f"select {columns} from gold.fct_feedback order by feedback_id"
    on_duckdb = _duckdb_frame(spark_build.duckdb, query)
    on_spark = _spark_frame(spark_build.spark, query)
    on_duckdb["created_date"] = pd.to_datetime(on_duckdb["created_date"])
    on_spark["created_date"] = pd.to_datetime(on_spark["created_date"])
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False)


@pytest.mark.spark
@pytest.mark.parametrize(
    ("mart", "keys"),
    [
        ("rpt_theme_daily", ["created_date", "category", "product_area", "channel", "locale"]),
        ("rpt_pipeline_reconciliation", None),
        ("rpt_quarantine_reasons", None),
        ("rpt_review_agreement", None),
        ("rpt_review_queue", ["feedback_id"]),
        ("rpt_kpis_daily", ["created_date"]),
    ],
)
def test_spark_marts_hold_duckdbs_numbers(spark_build, mart, keys):
    on_duckdb = _duckdb_frame(spark_build.duckdb, f"select * from gold.{mart}")
    on_spark = _spark_frame(spark_build.spark, f"select * from gold.{mart}")
    assert len(on_duckdb) > 0 or mart == "rpt_review_queue"
    assert list(on_spark.columns) == list(on_duckdb.columns)
    order = keys or list(on_duckdb.columns)
    on_duckdb, on_spark = (
        _comparable(frame).sort_values(order, ignore_index=True) for frame in (on_duckdb, on_spark)
    )
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False, atol=1e-9)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and timestamps as pandas timestamps, numbers as floats (Spark's decimal arithmetic gives Python
    ``Decimal`` where DuckDB gives doubles), so both engines' frames compare within a tolerance."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column].dropna()
        if not len(values):
            continue
        first = values.iloc[0]
        if hasattr(first, "isoformat"):
            frame[column] = pd.to_datetime(frame[column])
        elif isinstance(first, (int, float, Decimal, np.number)) and not isinstance(first, (bool, np.bool_)):
            frame[column] = frame[column].astype(float)
    # a column of nulls only: None from Spark, NaN from DuckDB
    empty = [column for column in frame.columns if frame[column].isna().all()]
    frame[empty] = np.nan
    return frame


@pytest.mark.spark
def test_incremental_fct_feedback_on_spark_rebuilds_a_reviewed_item_without_losing_its_day(spark_build):
    """insert_overwrite replaces the reviewed item's created_date partition: the item takes the new label,
    the other items of that day are still there, and the table equals a full refresh."""
    spark, settings = spark_build.spark, spark_build.spark_settings
    before = _spark_frame(spark, "select * from gold.fct_feedback").set_index("feedback_id")
    item = before.loc[spark_build.reviewed_id]
    same_day = before[before["created_date"] == item["created_date"]].index
    new_category = "billing" if item["category"] != "billing" else "bug"
    with open_warehouse(spark_build.duckdb) as warehouse:
        record_decision(
            warehouse,
            spark_build.duckdb,
            spark_build.reviewed_id,
            "correct",
            "bob",
            ReviewedLabels(category=new_category),
            decided_at=datetime.now() + pd.Timedelta(seconds=1),
        )
    with open_warehouse(spark_build.duckdb) as warehouse:
        mirror_warehouse_to_spark(warehouse, spark, ["enrichment.review_decisions"])

    # no look-back margin: only the reviewed item is newer than the table's watermark, so the run replaces
    # the partition of its day alone
    incremental_vars = {**spark_build.dbt_vars, "fct_feedback_lookback_minutes": 0}
    run_dbt("run", settings, select="fct_feedback", dbt_vars=incremental_vars)
    after = _spark_frame(spark, "select * from gold.fct_feedback").set_index("feedback_id")
    assert (
        after.loc[spark_build.reviewed_id, "category"],
        after.loc[spark_build.reviewed_id, "reviewed_by"],
    ) == (
        new_category,
        "bob",
    )
    assert sorted(after.index) == sorted(before.index)
    assert set(same_day) <= set(after[after["created_date"] == item["created_date"]].index)
    unchanged = before.drop(index=spark_build.reviewed_id)[FACT_COLUMNS[1:]]
    pd.testing.assert_frame_equal(after.loc[unchanged.index, FACT_COLUMNS[1:]], unchanged, check_dtype=False)

    run_dbt("run", settings, select="fct_feedback", dbt_vars=incremental_vars, extra_args=["--full-refresh"])
    full = _spark_frame(spark, "select * from gold.fct_feedback").set_index("feedback_id")
    pd.testing.assert_frame_equal(
        _comparable(after.sort_index()),
        _comparable(full.sort_index()[list(after.columns)]),
        check_dtype=False,
    )


# Fast checks (no Spark started): the session's configuration and the missing-Java message.


def test_spark_session_parameters_come_from_the_profile_and_stay_small(settings):
    parameters = spark_session_parameters(dataclasses.replace(settings, dbt_target="spark"))
    spark_dir = settings.local_dir / "spark"
    assert parameters["spark.master"] == "local[2]"
    assert parameters["spark.driver.memory"] == "1g"
    assert parameters["spark.sql.shuffle.partitions"] == "2"
    assert parameters["spark.ui.enabled"] == "false"
    assert parameters["spark.sql.warehouse.dir"] == f"{spark_dir}/warehouse"
    assert (
        f"databaseName={spark_dir}/metastore_db" in parameters["spark.hadoop.javax.jdo.option.ConnectionURL"]
    )
    assert parameters["spark.sql.session.timeZone"] == "UTC"
    assert parameters["spark.sql.ansi.enabled"] == "false"  # dbt-spark's own setting


def test_the_dbt_sources_are_python_owned_tables(settings):
    from feedback_ops.warehouse.schema import declared_columns

    sources = dbt_source_tables(settings)
    assert {"bronze.feedback_raw", "enrichment.feedback_enrichment", "alerts.alert_events"} <= set(sources)
    assert set(sources) <= set(declared_columns())


def test_a_missing_java_fails_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(JavaMissing) as missing:
        require_java()
    assert str(missing.value) == JAVA_MISSING and "openjdk-17-jre-headless" in JAVA_MISSING
    with pytest.raises(JavaMissing):
        build_on_spark(dataclasses.replace(local_settings(tmp_path, tmp_path), dbt_target="spark"))
