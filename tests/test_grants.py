"""The Unity Catalog access boundary (``feedback-ops grants``): parsed as Databricks SQL, then read back as a
privilege matrix to check who can read raw text and who sees only redacted data."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from feedback_ops.cli import main
from feedback_ops.ops.grants import AccessGroups, grant_statements

GROUPS = AccessGroups(
    service_principal="sp-feedback-airflow",
    engineers="data-engineers",
    analysts="analysts",
    raw_readers="pii-readers",
)
# sqlglot has no grammar for these two Unity Catalog forms yet (it keeps them as commands): checked by shape
CATALOG_GRANT = re.compile(r"^grant use catalog on catalog prod_fo to `[^`]+`$")
COLUMN_MASK = re.compile(
    r"^alter table prod_fo\.gold\.fct_feedback alter column (\w+) set mask prod_fo\.ops\.mask_raw_text$"
)


def privilege_matrix(statements: list[str]) -> dict[tuple[str, str], set[str]]:
    """(principal, schema) -> privileges after running the statements in order."""
    matrix: dict[tuple[str, str], set[str]] = {}
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="databricks")
        if not isinstance(tree, (exp.Grant, exp.Revoke)):
            continue
        assert tree.args["kind"] == "SCHEMA", statement
        schema = tree.args["securable"].sql(dialect="databricks")
        privileges = {p.this.sql() for p in tree.args["privileges"]}
        for principal in tree.args["principals"]:
            held = matrix.setdefault((principal.this.name, schema), set())
            held |= privileges if isinstance(tree, exp.Grant) else set()
            held -= privileges if isinstance(tree, exp.Revoke) else set()
    return matrix


def can_read(matrix, principal: str, schema: str) -> bool:
    held = matrix.get((principal, f"prod_fo.{schema}"), set())
    return "ALL PRIVILEGES" in held or {"USE SCHEMA", "SELECT"} <= held


def test_every_statement_parses_as_databricks_sql():
    statements = grant_statements("prod_fo", GROUPS)
    structural = 0
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="databricks")
        if isinstance(tree, exp.Command):
            assert CATALOG_GRANT.match(statement) or COLUMN_MASK.match(statement), statement
        else:
            assert isinstance(tree, (exp.Grant, exp.Revoke, exp.Create)), statement
            structural += 1
    assert structural >= 20


def test_raw_layers_are_readable_only_by_the_service_principal_and_raw_readers():
    matrix = privilege_matrix(grant_statements("prod_fo", GROUPS))
    for schema in ("bronze", "silver"):
        assert can_read(matrix, "sp-feedback-airflow", schema)
        assert can_read(matrix, "pii-readers", schema)
        assert not can_read(matrix, "analysts", schema)
        assert not can_read(matrix, "data-engineers", schema)
    for schema in ("enrichment", "gold", "alerts"):
        for principal in ("analysts", "data-engineers", "pii-readers", "sp-feedback-airflow"):
            assert can_read(matrix, principal, schema), (principal, schema)
    assert can_read(matrix, "data-engineers", "ops") and not can_read(matrix, "analysts", "ops")
    for schema in ("bronze", "silver", "enrichment", "gold", "alerts", "ops"):
        assert "ALL PRIVILEGES" in matrix[("sp-feedback-airflow", f"prod_fo.{schema}")]


def test_raw_text_columns_in_gold_are_masked_for_everyone_but_raw_readers():
    statements = grant_statements("prod_fo", GROUPS)
    masked = {m.group(1) for s in statements if (m := COLUMN_MASK.match(s))}
    assert masked == {"feedback_text", "title"}
    function = sqlglot.parse_one(
        next(s for s in statements if "create or replace function" in s), read="databricks"
    )
    assert function.this.sql(dialect="databricks").startswith("prod_fo.ops.mask_raw_text")
    member_check = function.find(exp.Anonymous)
    assert member_check.name.lower() == "is_account_group_member"
    assert member_check.expressions[0].name == "pii-readers"
    # the mask function is created before any column uses it
    create_at = next(i for i, s in enumerate(statements) if "create or replace function" in s)
    assert all(i > create_at for i, s in enumerate(statements) if COLUMN_MASK.match(s))


@pytest.mark.parametrize(
    ("catalog", "groups", "message"),
    [
        ("prod; drop catalog x", GROUPS, "not a plain identifier"),
        (
            "prod_fo",
            AccessGroups(analysts="x`; grant all privileges on catalog prod_fo to `eve"),
            "not a plain principal",
        ),
        ("prod_fo", AccessGroups(analysts="same", raw_readers="same"), "own principal"),
    ],
)
def test_names_that_would_break_the_boundary_are_refused(catalog, groups, message):
    with pytest.raises(ValueError, match=message):
        grant_statements(catalog, groups)


def test_cli_prints_the_script(capsys):
    assert (
        main(["grants", "--catalog", "prod_fo", "--analysts", "analysts", "--raw-readers", "pii-readers"])
        == 0
    )
    script = capsys.readouterr().out
    parsed = [s for s in sqlglot.parse(script, read="databricks") if s is not None]
    assert len(parsed) == len(
        grant_statements("prod_fo", AccessGroups(analysts="analysts", raw_readers="pii-readers"))
    )
    assert "revoke select on schema prod_fo.bronze from `analysts`;" in script
