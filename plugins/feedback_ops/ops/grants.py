"""Unity Catalog access boundaries as SQL: who may read raw customer text, who sees only redacted data.

The layers differ in what they expose (``docs/production.md``, "Access boundaries"):

- ``bronze`` and ``silver`` hold raw text (names, e-mails, numbers as customers wrote them). Only the
  pipeline's service principal and a small **raw readers** group (incident investigation, data-subject
  requests) may read them.
- ``enrichment`` (redacted text, labels, embeddings), ``gold`` (facts and aggregates), ``alerts`` and ``ops``
  are for **analysts** and **engineers**. ``gold.fct_feedback`` still carries ``feedback_text`` / ``title``
  from silver, so those two columns get a **column mask**: members of the raw readers group see the value,
  everyone else a placeholder (the redacted text is next to it, in ``redacted_text``).
- The pipeline's **service principal** owns the writes: ``ALL PRIVILEGES`` on every schema.

``grant_statements`` emits idempotent statements (``GRANT`` is additive, ``REVOKE`` of a privilege never
granted is a no-op, the mask function is ``CREATE OR REPLACE``); ``feedback-ops grants`` prints them to be run
by a catalog owner. dbt recreates ``gold.fct_feedback`` on a full refresh, which drops its column masks: run
the statements again after one (they are cheap and change nothing otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RAW_SCHEMAS = ("bronze", "silver")
"""Schemas holding raw customer text."""

REDACTED_SCHEMAS = ("enrichment", "gold", "alerts")
"""Schemas holding only redacted text, labels, aggregates and alert state (plus the masked columns)."""

OPS_SCHEMA = "ops"

MASKED_COLUMNS = {"gold.fct_feedback": ("feedback_text", "title")}
"""Raw-text columns that reach gold; masked for everyone outside the raw readers group."""

RAW_TEXT_PLACEHOLDER = "[raw text restricted: see redacted_text]"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9_.@+ -]+$")


@dataclass(frozen=True)
class AccessGroups:
    """The principals of the boundary (Unity Catalog group names or a service principal's application id)."""

    service_principal: str = "feedback-ops-airflow"
    engineers: str = "feedback-ops-engineers"
    analysts: str = "feedback-ops-analysts"
    raw_readers: str = "feedback-ops-raw-readers"

    def validated(self) -> AccessGroups:
        """Self, after checking every name is a plain principal (they are quoted into SQL)."""
        for role, name in self.__dict__.items():
            if not _PRINCIPAL.match(name):
                raise ValueError(
                    f"{role} {name!r} is not a plain principal name (letters, digits, _.@+- and spaces)"
                )
        if len(set(self.__dict__.values())) != len(self.__dict__):
            raise ValueError("each role needs its own principal: a shared one would erase the boundary")
        return self


def _quoted(principal: str) -> str:
    return f"`{principal}`"


def grant_statements(catalog: str, groups: AccessGroups | None = None) -> list[str]:
    """The Unity Catalog statements of the access boundary for ``catalog``, in the order to run them.

    Raises:
        ValueError: a catalog or principal name that is not plain (nothing is quoted around injection).
    """
    if not _NAME.match(catalog):
        raise ValueError(f"catalog {catalog!r} is not a plain identifier")
    groups = (groups or AccessGroups()).validated()
    service, engineers, analysts, raw_readers = (
        _quoted(g) for g in (groups.service_principal, groups.engineers, groups.analysts, groups.raw_readers)
    )
    statements = [f"create schema if not exists {catalog}.{OPS_SCHEMA}"]
    statements += [
        f"grant use catalog on catalog {catalog} to {p}" for p in (service, engineers, analysts, raw_readers)
    ]
    for schema in (*RAW_SCHEMAS, *REDACTED_SCHEMAS, OPS_SCHEMA):
        statements.append(f"grant all privileges on schema {catalog}.{schema} to {service}")
    for schema in RAW_SCHEMAS:
        statements.append(f"grant use schema, select on schema {catalog}.{schema} to {raw_readers}")
        # the boundary holds even if someone granted these before
        for principal in (engineers, analysts):
            statements.append(f"revoke select on schema {catalog}.{schema} from {principal}")
    for schema in REDACTED_SCHEMAS:
        for principal in (engineers, analysts, raw_readers):
            statements.append(f"grant use schema, select on schema {catalog}.{schema} to {principal}")
    statements.append(f"grant use schema, select on schema {catalog}.{OPS_SCHEMA} to {engineers}")
    mask = f"{catalog}.{OPS_SCHEMA}.mask_raw_text"
    statements.append(
        f"create or replace function {mask}(raw_text string) returns string "
        f"return case when is_account_group_member('{groups.raw_readers}') then raw_text "
        f"else '{RAW_TEXT_PLACEHOLDER}' end"
    )
    for table, columns in MASKED_COLUMNS.items():
        for column in columns:
            statements.append(f"alter table {catalog}.{table} alter column {column} set mask {mask}")
    return statements


def render_grants(catalog: str, groups: AccessGroups | None = None) -> str:
    """The statements as one SQL script (``feedback-ops grants``)."""
    header = (
        f"-- Feedback Ops access boundaries for catalog {catalog} (feedback_ops.ops.grants).\n"
        "-- Raw text (bronze, silver, gold.fct_feedback.feedback_text / title): service principal and raw readers only.\n"
        "-- Run as the catalog owner; idempotent. Run again after a full refresh of gold (it drops column masks).\n"
    )
    return header + "".join(f"{statement};\n" for statement in grant_statements(catalog, groups))
