"""The gates validate what is new or changed (``quality.validated_rows``), and stay exactly as strict.

Bronze is loaded by the real loader from the fixture landing area; the gold marts are small tables written
here (the gate reads tables, whoever wrote them). Each test runs ``pipeline.check_gate`` (the DAG task's
function) against a tmp copy of the GX project, then changes the warehouse the way a bug or a new batch
would and checks what the next gate validated, caught or recorded. The last tests run the ledger's SQL on the
Databricks warehouse over the fake connection, which refuses what a SQL warehouse would not run.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from fakes.databricks_sql import FakeDatabricksConnection, databricks_sql_problems
from feedback_ops.config import PROJECT_ROOT, Settings
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.pipeline import check_gate
from feedback_ops.quality.gates import GateFailed
from feedback_ops.quality.suites import (
    CONTRACTS,
    FCT_FEEDBACK,
    FEEDBACK_RAW,
    Expectation,
    in_set,
    row_count_between,
)
from feedback_ops.quality.validated_rows import (
    LEDGER_TABLE,
    read_unvalidated,
    record_validated,
    suite_fingerprint,
    validates_row_by_row,
)
from feedback_ops.warehouse import open_warehouse
from feedback_ops.warehouse.databricks_warehouse import DatabricksWarehouse

GOLD_TABLES = """
create schema if not exists gold;
create table gold.fct_feedback as
    select 'f' || i as feedback_id, case when i % 2 = 0 then 'bug' else 'billing' end as category
    from range(1, 7) as r(i);
create table gold.rpt_theme_daily as
    select * from (values
        (date '2026-11-20', 'bug', 'checkout', 'review', 'en-US', 3, 0.5),
        (date '2026-11-20', 'bug', null, 'chat', 'en-US', 1, 0.0),
        (date '2026-11-21', 'billing', 'account', 'review', null, 2, 1.0)
    ) as t(created_date, category, product_area, channel, locale, feedback_count, negative_share);
create table gold.rpt_pipeline_reconciliation as
    select 20 as source_records, 20 as bronze_rows, 15 as silver_rows, 3 as quarantined_rows,
        2 as duplicate_rows, 0 as unbalanced_files, 0 as parked_rows, 0 as dropped_rows, true as is_balanced,
        15 as enriched_rows;
"""


@pytest.fixture
def gated(settings: Settings, tmp_path: Path) -> Settings:
    """The fixture landing area loaded into bronze, small gold marts, and a tmp copy of the GX project."""
    project = tmp_path / "great_expectations"
    shutil.copytree(
        PROJECT_ROOT / "great_expectations", project, ignore=shutil.ignore_patterns("uncommitted")
    )
    gated_settings = dataclasses.replace(settings, gx_project_dir=project)
    with open_warehouse(gated_settings) as warehouse:
        load_landing_to_bronze(warehouse, gated_settings)
        warehouse.execute(GOLD_TABLES)
    return gated_settings


def run_sql(settings: Settings, sql: str) -> None:
    with open_warehouse(settings) as warehouse:
        warehouse.execute(sql)


def query(settings: Settings, sql: str) -> list[tuple]:
    with open_warehouse(settings) as warehouse:
        return [tuple(row) for row in warehouse.query_df(sql).itertuples(index=False)]


def ledger(settings: Settings, suite: str) -> dict[str, str]:
    return dict(query(settings, f"select row_key, row_hash from {LEDGER_TABLE} where suite = '{suite}'"))


def validated(result: dict, table: str) -> int:
    return result["tables"][table]["validated_rows"]


def gate_failure(stage: str, settings: Settings) -> GateFailed:
    with pytest.raises(GateFailed) as caught:
        check_gate(stage, settings)
    return caught.value


# --- what is validated ---------------------------------------------------------------------------------------


def test_a_second_run_with_nothing_new_validates_no_row(gated: Settings) -> None:
    first = {stage: check_gate(stage, gated) for stage in ("bronze", "gold")}
    second = {stage: check_gate(stage, gated) for stage in ("bronze", "gold")}

    assert first["bronze"]["tables"] == {
        "feedback_raw": {"validated_rows": 20, "table_rows": 20},
        "file_manifest": {"validated_rows": 2, "table_rows": 2},
    }
    assert validated(first["gold"], "fct_feedback") == 6 and validated(first["gold"], "rpt_theme_daily") == 3
    assert second["bronze"]["tables"] == {
        "feedback_raw": {"validated_rows": 0, "table_rows": 20},
        "file_manifest": {"validated_rows": 0, "table_rows": 2},
    }
    assert second["bronze"]["unchanged"] == ["feedback_raw", "file_manifest"]
    assert second["gold"]["success"] is True
    assert (
        validated(second["gold"], "fct_feedback") == 0 and validated(second["gold"], "rpt_theme_daily") == 0
    )
    # the one-row aggregate is validated whole every time
    assert second["gold"]["tables"]["rpt_pipeline_reconciliation"] == {"validated_rows": 1, "table_rows": 1}
    assert second["gold"]["unchanged"] == ["fct_feedback", "rpt_theme_daily"]
    assert len(ledger(gated, "bronze.feedback_raw")) == 20 and len(ledger(gated, "gold.fct_feedback")) == 6


def test_new_rows_are_validated_and_old_ones_are_not(gated: Settings) -> None:
    check_gate("gold", gated)
    run_sql(gated, "insert into gold.fct_feedback values ('f7', 'praise'), ('f8', 'bug')")

    result = check_gate("gold", gated)

    assert result["tables"]["fct_feedback"] == {"validated_rows": 2, "table_rows": 8}
    assert result["unchanged"] == ["rpt_theme_daily"]
    assert set(ledger(gated, "gold.fct_feedback")) == {f'{{"feedback_id":"f{i}"}}' for i in range(1, 9)}


def test_a_row_rewritten_with_the_same_content_is_not_validated_again(gated: Settings) -> None:
    check_gate("gold", gated)
    before = ledger(gated, "gold.rpt_theme_daily")
    # what a dbt full refresh or delete+insert does: the same rows written again
    run_sql(
        gated,
        "create or replace table gold.rpt_theme_daily as select * from gold.rpt_theme_daily order by category",
    )

    result = check_gate("gold", gated)

    assert validated(result, "rpt_theme_daily") == 0
    assert ledger(gated, "gold.rpt_theme_daily") == before


# --- as strict as a whole-table validation -------------------------------------------------------------------


def test_an_old_row_corrupted_in_place_is_caught_and_named(gated: Settings) -> None:
    check_gate("bronze", gated)
    row_id = query(gated, "select bronze_row_id from bronze.feedback_raw order by bronze_row_id limit 1")[0][
        0
    ]
    run_sql(gated, f"update bronze.feedback_raw set source_format = 'xml' where bronze_row_id = '{row_id}'")

    failure = gate_failure("bronze", gated)

    message = str(failure)
    assert "suite 'bronze.feedback_raw'" in message
    assert "expect_column_values_to_be_in_set column=source_format" in message
    assert f"bronze_row_id='{row_id}' -> source_format='xml'" in message
    assert "1 unexpected of 1 rows" in message  # only the changed row was read


def test_a_new_row_repeating_an_old_key_is_caught_with_both_rows(gated: Settings) -> None:
    check_gate("gold", gated)
    run_sql(gated, "insert into gold.fct_feedback values ('f3', 'praise')")

    message = str(gate_failure("gold", gated))

    assert "suite 'gold.fct_feedback'" in message
    assert "expect_column_values_to_be_unique column=feedback_id" in message
    assert "2 unexpected of 2 rows" in message  # the new row and the old one it repeats
    assert message.count("feedback_id='f3'") == 2


def test_an_exact_copy_of_a_validated_row_is_caught(gated: Settings) -> None:
    """The copy has the key and hash of a recorded row: only the repeated-key read brings it in."""
    check_gate("gold", gated)
    run_sql(gated, "insert into gold.fct_feedback select * from gold.fct_feedback where feedback_id = 'f2'")

    message = str(gate_failure("gold", gated))

    assert "expect_column_values_to_be_unique column=feedback_id" in message
    assert message.count("feedback_id='f2'") == 2


def test_a_repeated_compound_key_with_a_null_part_is_caught(gated: Settings) -> None:
    check_gate("gold", gated)
    run_sql(
        gated,
        "insert into gold.rpt_theme_daily values (date '2026-11-20', 'bug', null, 'chat', 'en-US', 4, 0.25)",
    )

    message = str(gate_failure("gold", gated))

    assert "suite 'gold.rpt_theme_daily'" in message
    assert "expect_compound_columns_to_be_unique" in message
    assert "2 unexpected of 2 rows" in message


def test_a_failed_gate_records_nothing_and_fails_until_the_row_is_fixed(gated: Settings) -> None:
    check_gate("gold", gated)
    recorded = ledger(gated, "gold.fct_feedback")
    run_sql(gated, "insert into gold.fct_feedback values (null, 'bug'), ('f9', 'bug')")

    for _ in range(2):
        message = str(gate_failure("gold", gated))
        assert "expect_column_values_to_not_be_null column=feedback_id" in message
        assert ledger(gated, "gold.fct_feedback") == recorded  # f9 passed, yet nothing was recorded

    run_sql(gated, "update gold.fct_feedback set feedback_id = 'f10' where feedback_id is null")
    fixed = check_gate("gold", gated)

    assert fixed["tables"]["fct_feedback"] == {"validated_rows": 2, "table_rows": 8}
    assert set(ledger(gated, "gold.fct_feedback")) - set(recorded) == {
        '{"feedback_id":"f9"}',
        '{"feedback_id":"f10"}',
    }
    assert validated(check_gate("gold", gated), "fct_feedback") == 0


def test_a_changed_suite_validates_every_row_again(gated: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    check_gate("bronze", gated)
    assert validated(check_gate("bronze", gated), "feedback_raw") == 0
    # a contract edited in suites.py: one more expectation
    stricter = dataclasses.replace(
        FEEDBACK_RAW, expectations=(*FEEDBACK_RAW.expectations, in_set("source_format", ("csv", "jsonl")))
    )
    monkeypatch.setitem(CONTRACTS["bronze"], "feedback_raw", stricter)

    result = check_gate("bronze", gated)

    assert result["tables"]["feedback_raw"] == {"validated_rows": 20, "table_rows": 20}
    assert result["unchanged"] == ["file_manifest"]
    fingerprints = query(
        gated, f"select distinct suite_fingerprint from {LEDGER_TABLE} where suite = 'bronze.feedback_raw'"
    )
    assert fingerprints == [(suite_fingerprint(stricter, {}),)]


def test_suite_parameters_are_part_of_the_fingerprint() -> None:
    contract = CONTRACTS["enrichment"]["feedback_enrichment"]
    assert suite_fingerprint(contract, {"taxonomy": ["bug", "billing"]}) != suite_fingerprint(
        contract, {"taxonomy": ["bug", "billing", "weather"]}
    )
    assert suite_fingerprint(contract, {"taxonomy": ["bug"]}) == suite_fingerprint(
        contract, {"taxonomy": ["bug"]}
    )


def test_an_empty_table_still_fails_its_minimum_row_count(settings: Settings, tmp_path: Path) -> None:
    project = tmp_path / "great_expectations"
    shutil.copytree(
        PROJECT_ROOT / "great_expectations", project, ignore=shutil.ignore_patterns("uncommitted")
    )
    empty = dataclasses.replace(settings, gx_project_dir=project)

    message = str(gate_failure("bronze", empty))

    assert "expect_table_row_count_to_be_between" in message and "observed 0" in message


def test_rows_that_left_the_table_leave_the_ledger(gated: Settings) -> None:
    check_gate("gold", gated)
    run_sql(gated, "delete from gold.fct_feedback where feedback_id in ('f1', 'f2')")
    run_sql(gated, "insert into gold.fct_feedback values ('f7', 'bug')")

    check_gate("gold", gated)

    assert set(ledger(gated, "gold.fct_feedback")) == {f'{{"feedback_id":"f{i}"}}' for i in (3, 4, 5, 6, 7)}


def test_contracts_with_whole_table_expectations_are_read_whole() -> None:
    assert validates_row_by_row(FEEDBACK_RAW) and validates_row_by_row(FCT_FEEDBACK)
    assert not validates_row_by_row(CONTRACTS["silver"]["reconciliation"])  # row count between 1 and 1
    at_least_ten = dataclasses.replace(
        FEEDBACK_RAW, expectations=(*FEEDBACK_RAW.expectations, row_count_between(10))
    )
    assert not validates_row_by_row(at_least_ten)
    mean = dataclasses.replace(
        FCT_FEEDBACK,
        expectations=(
            *FCT_FEEDBACK.expectations,
            dataclasses.replace(FCT_FEEDBACK.expectations[0], type="expect_column_mean_to_be_between"),
        ),
    )
    assert not validates_row_by_row(mean)


def test_a_table_whose_contract_gains_a_whole_table_expectation_is_validated_whole(
    gated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_gate("gold", gated)
    proportion = Expectation(
        "expect_column_proportion_of_unique_values_to_be_between", {"column": "category", "max_value": 0.5}
    )
    monkeypatch.setitem(
        CONTRACTS["gold"],
        "fct_feedback",
        dataclasses.replace(FCT_FEEDBACK, expectations=(*FCT_FEEDBACK.expectations, proportion)),
    )

    result = check_gate("gold", gated)

    assert result["tables"]["fct_feedback"] == {"validated_rows": 6, "table_rows": 6}
    run_sql(gated, "update gold.fct_feedback set category = 'f' || feedback_id")
    message = str(gate_failure("gold", gated))
    assert "expect_column_proportion_of_unique_values_to_be_between column=category" in message


# --- Databricks SQL ------------------------------------------------------------------------------------------


def test_the_ledger_sql_runs_on_databricks() -> None:
    import sqlglot

    connection = FakeDatabricksConnection()
    connection.duckdb.execute("create schema gold")
    connection.duckdb.execute(
        "create table gold.fct_feedback as select 'f' || i as feedback_id, 'bug' as category from range(1, 5) as r(i)"
    )
    warehouse = DatabricksWarehouse(connection)
    warehouse.ensure_schema()
    connection.statements.clear()

    def read() -> list[str]:
        rows = read_unvalidated(warehouse, FCT_FEEDBACK, "gold.fct_feedback", {})
        return sorted(rows.frame["feedback_id"])

    first = read_unvalidated(warehouse, FCT_FEEDBACK, "gold.fct_feedback", {})
    assert sorted(first.frame["feedback_id"]) == ["f1", "f2", "f3", "f4"] and first.table_rows == 4
    assert list(first.frame.columns) == ["feedback_id", "category"]
    record_validated(warehouse, [first])
    assert read() == []
    connection.duckdb.execute("update gold.fct_feedback set category = 'praise' where feedback_id = 'f2'")
    connection.duckdb.execute("insert into gold.fct_feedback values ('f4', 'bug'), ('f5', 'bug')")
    assert read() == ["f2", "f4", "f4", "f5"]  # changed, repeated key (both rows), new
    connection.duckdb.execute("delete from gold.fct_feedback where feedback_id in ('f1', 'f4')")
    record_validated(warehouse, [read_unvalidated(warehouse, FCT_FEEDBACK, "gold.fct_feedback", {})])
    assert read() == []
    keys = connection.duckdb.execute(f"select row_key from {LEDGER_TABLE} order by row_key").fetchall()
    assert [key for (key,) in keys] == [
        '{"feedback_id":"f2"}',
        '{"feedback_id":"f3"}',
        '{"feedback_id":"f5"}',
    ]

    sent = [statement.sql for statement in connection.statements]
    assert any(sql.lstrip().lower().startswith("merge into quality.validated_rows") for sql in sent)
    assert any(sql.lstrip().lower().startswith("delete from quality.validated_rows") for sql in sent)
    for sql in sent:
        assert databricks_sql_problems(sqlglot.parse_one(sql, read="databricks")) == []
        assert "struct_pack" not in sql and "unnest" not in sql  # DuckDB spellings
    assert any("to_json(named_struct('feedback_id', `feedback_id`" in sql for sql in sent)
