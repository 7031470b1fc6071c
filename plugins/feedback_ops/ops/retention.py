"""Retention of raw customer text: purge it per layer after N days, keep everything derived from it.

Raw text (what customers wrote, names and e-mails included) sits in three places: the bronze payload, the
silver tables dbt builds from it, and ``gold.fct_feedback``. Past each layer's ``raw_text_days``
(``include/retention.yaml``), counted from ``ingested_at`` up to the run's logical date (data time, never the
wall clock):

- **bronze**: in each payload, ``text`` becomes the redacted text the enrichment made of it (when it was
  enriched from this very text), else the text redacted now by the project's redactor (duplicates with edited
  text, quarantined records), and the other raw fields (``title``) are redacted too; the payload records when
  (``_raw_text_purged_at``). A malformed record's raw line is redacted and prefixed with a purge mark. Redacted
  text is never blank when the raw text was not, so a rebuild quarantines exactly the same records: rows stay,
  ``bronze = silver + quarantined + duplicates`` still reconciles and ``bronze_row_id`` / ``feedback_id`` are
  unchanged, so enrichment, embeddings, reviews and alerts keep pointing at the same items.
- **silver / gold**: the copies are overwritten from the purged bronze payload (the next dbt build gives the
  same result, since it reads the purged bronze).

The same code runs on both runtimes through the ``Warehouse`` protocol: bronze rows are rewritten in Python
and upserted; silver and gold are one ``MERGE`` each, written in Databricks SQL and transpiled by sqlglot for
DuckDB. Every run appends one row per table to ``ops.retention_runs`` with the rows it purged; a second run
on the same data purges nothing and records zeros.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedback_ops.config import Settings
from feedback_ops.warehouse.base import Warehouse

LAYERS = ("bronze", "silver", "gold")
PURGED_KEY = "_raw_text_purged_at"
PURGED_MARKER = "[raw text purged]"
"""Prefix (with the date) of a malformed record's payload once its raw line was redacted."""

ALREADY_PURGED = f"(payload like '%\"{PURGED_KEY}\"%' or payload like '{PURGED_MARKER[:-1]}%')"
"""A bronze payload whose raw text is gone (the purge leaves either mark)."""

RETENTION_RUNS_DDL = (
    "create schema if not exists ops",
    """
    create table if not exists ops.retention_runs (
        run_id varchar not null,
        as_of timestamp not null,
        policy_version varchar not null,
        layer varchar not null,
        table_name varchar not null,
        cutoff timestamp,
        rows_purged bigint not null,
        recorded_at timestamp not null
    )
    """,
)

_LATEST_REDACTED = """
    select feedback_id, text_hash, max_by(redacted_text, enriched_at) as redacted_text
    from enrichment.feedback_enrichment
    group by feedback_id, text_hash
"""


class RetentionPolicyError(ValueError):
    """``include/retention.yaml`` says something that cannot be applied."""


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each layer keeps raw text (None: kept), the payload fields holding it, and the policy version."""

    days: dict[str, int | None]
    raw_fields: tuple[str, ...] = ("text", "title")
    version: str = "1"


def load_policy(path: Path) -> RetentionPolicy:
    """Read and validate the retention file.

    Raises:
        RetentionPolicyError: an unknown layer, a non-positive number of days, ``text`` missing from
            ``raw_fields``, or silver / gold keeping raw text for less time than bronze (they are rebuilt
            from bronze, so they cannot lose it first).
    """
    import yaml

    if not path.is_file():
        raise RetentionPolicyError(f"retention policy {path} does not exist (FEEDBACK_OPS_RETENTION)")
    raw = path.read_bytes()
    document = yaml.safe_load(raw) or {}
    layers = document.get("layers") or {}
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise RetentionPolicyError(
            f"{path}: unknown layers {sorted(unknown)}; raw text lives in {list(LAYERS)}"
        )
    days: dict[str, int | None] = {}
    for layer in LAYERS:
        value = (layers.get(layer) or {}).get("raw_text_days")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise RetentionPolicyError(
                f"{path}: {layer}.raw_text_days must be a whole number of days >= 1 or null"
            )
        days[layer] = value
    for layer in ("silver", "gold"):
        layer_days, bronze_days = days[layer], days["bronze"]
        if layer_days is not None and (bronze_days is None or layer_days < bronze_days):
            raise RetentionPolicyError(
                f"{path}: {layer}.raw_text_days ({days[layer]}) is shorter than bronze's ({days['bronze']}): "
                f"{layer} is rebuilt from bronze at every run and would get the raw text back"
            )
    raw_fields = tuple(document.get("raw_fields") or ("text", "title"))
    if "text" not in raw_fields:
        raise RetentionPolicyError(f"{path}: raw_fields must include 'text'")
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return RetentionPolicy(days=days, raw_fields=raw_fields, version=f"{document.get('version', 1)}-{digest}")


@dataclass
class RetentionRun:
    """What one retention run purged, per table."""

    run_id: str
    as_of: datetime
    policy_version: str
    purged: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "policy_version": self.policy_version,
            "purged": dict(self.purged),
        }


def purge_payload(
    payload: str,
    parse_error: str | None,
    enriched_text: str | None,
    raw_fields: tuple[str, ...],
    when: str,
    redact: Callable[[str], str],
) -> str:
    """The payload with its raw text replaced by redacted text (see the module docstring).

    Args:
        enriched_text: the redacted text the enrichment stored for this exact text, if any (used for
            ``text`` so silver and the enrichment keep agreeing).
        redact: the project's redactor, for everything else.
    """
    if parse_error is not None:
        return f"{PURGED_MARKER[:-1]} {when}] {redact(payload)}"
    record = json.loads(payload)
    for name in raw_fields:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            record[name] = enriched_text if name == "text" and enriched_text else redact(value)
    record[PURGED_KEY] = when
    return json.dumps(record, ensure_ascii=False)


def _bronze_candidates_sql(warehouse: Warehouse) -> str:
    """Bronze rows still holding raw text before the cutoff, with the item's latest redacted text."""
    if warehouse.table_exists("silver.int_feedback_validated"):
        # the enrichment's redacted text only when it was made from this row's text (an edited duplicate
        # shares the feedback_id, not the text)
        redacted = f"""
            left join silver.int_feedback_validated as v on v.bronze_row_id = r.bronze_row_id
            left join ({_LATEST_REDACTED}) as e on e.feedback_id = v.feedback_id and e.text_hash = v.text_hash"""
        redacted_column = "e.redacted_text"
    else:  # silver never built: nothing was enriched either
        redacted, redacted_column = "", "cast(null as string)"
    return f"""
        select r.*, {redacted_column} as redacted_for_retention
        from bronze.feedback_raw as r {redacted}
        where r.ingested_at < ? and not {ALREADY_PURGED.replace("payload", "r.payload")}
        order by r.bronze_row_id
        limit {{limit}}
    """


def purge_bronze(
    warehouse: Warehouse, settings: Settings, policy: RetentionPolicy, cutoff: datetime, when: str
) -> int:
    """Rewrite the payloads of bronze rows ingested before ``cutoff``, in batches; return how many."""
    from feedback_ops.enrich.redact import Redactor, load_redaction_config

    redactor = Redactor(config=load_redaction_config(settings.redaction_config_path))
    batch_size = settings.batch_size
    sql = _bronze_candidates_sql(warehouse).format(limit=int(batch_size))
    purged = 0
    while True:
        rows = warehouse.query_df(sql, [cutoff])
        if rows.empty:
            return purged
        redacted = rows.pop("redacted_for_retention").astype(object)
        errors = [e if isinstance(e, str) else None for e in rows["parse_error"].astype(object)]
        rows["payload"] = [
            purge_payload(
                payload,
                error,
                text if isinstance(text, str) else None,
                policy.raw_fields,
                when,
                lambda raw: redactor.redact(raw).text,
            )
            for payload, error, text in zip(rows["payload"], errors, redacted, strict=True)
        ]
        rows["parse_error"] = errors
        warehouse.upsert("bronze.feedback_raw", rows, keys=["bronze_row_id"])
        purged += len(rows)
        if len(rows) < batch_size:
            return purged


# silver's text columns as staging derives them from the payload (title: blank means missing)
_PURGED_TEXT_SQL = (
    "select bronze_row_id, get_json_object(payload, '$.text') as purged_text, "
    "nullif(trim(get_json_object(payload, '$.title')), '') as purged_title from bronze.feedback_raw "
    f"where parse_error is null and {ALREADY_PURGED}"
)
_TEXT_DIFFERS = "(target.feedback_text is distinct from source.purged_text or target.title is distinct from source.purged_title)"
_TEXT_ASSIGNMENTS = "feedback_text = source.purged_text, title = source.purged_title"


@dataclass(frozen=True)
class DerivedCopy:
    """A silver / gold table holding a copy of raw text, keyed by ``bronze_row_id``."""

    layer: str
    table: str
    source_sql: str  # bronze rows already purged, as the columns to copy
    differs: str  # the target row still differs from the purged copy
    assignments: str


DERIVED_COPIES = (
    DerivedCopy(
        "silver",
        "silver.int_feedback_deduplicated",
        _PURGED_TEXT_SQL,
        _TEXT_DIFFERS,
        _TEXT_ASSIGNMENTS,
    ),
    DerivedCopy(
        "silver",
        "silver.int_feedback_quarantined",
        f"select bronze_row_id, payload from bronze.feedback_raw where {ALREADY_PURGED}",
        "target.payload is distinct from source.payload",
        "payload = source.payload",
    ),
    DerivedCopy(
        "gold",
        "gold.fct_feedback",
        _PURGED_TEXT_SQL,
        _TEXT_DIFFERS,
        _TEXT_ASSIGNMENTS,
    ),
)


def derived_copy_sql(copy: DerivedCopy) -> tuple[str, str]:
    """(count, merge) in Databricks SQL; one positional parameter: the layer's cutoff."""
    join = "on target.bronze_row_id = source.bronze_row_id and target.ingested_at < ?"
    count = (
        f"select count(*) from {copy.table} as target join ({copy.source_sql}) as source {join} "
        f"where {copy.differs}"
    )
    merge = (
        f"merge into {copy.table} as target using ({copy.source_sql}) as source {join} "
        f"when matched and {copy.differs} then update set {copy.assignments}"
    )
    return count, merge


def _in_dialect(sql: str, runtime: str) -> str:
    if runtime == "databricks":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read="databricks", write="duckdb")[0]


def _ensure_runs_table(warehouse: Warehouse, runtime: str) -> None:
    if runtime == "databricks":
        from feedback_ops.warehouse.databricks_warehouse import to_databricks_ddl

        statements = [to_databricks_ddl(s) for s in RETENTION_RUNS_DDL]
    else:
        statements = list(RETENTION_RUNS_DDL)
    for statement in statements:
        if statement:
            warehouse.execute(statement)


def apply_retention(
    warehouse: Warehouse,
    settings: Settings,
    as_of: datetime,
    policy: RetentionPolicy | None = None,
    run_id: str | None = None,
) -> RetentionRun:
    """Purge raw text older than each layer's retention at ``as_of`` and record the counts.

    Args:
        as_of: the run's logical date (naive UTC); cutoffs are ``as_of - raw_text_days``.
    """
    import pandas as pd

    policy = policy or load_policy(settings.retention_path)
    run = RetentionRun(run_id=run_id or uuid.uuid4().hex, as_of=as_of, policy_version=policy.version)
    _ensure_runs_table(warehouse, settings.runtime)
    cutoffs = {layer: as_of - timedelta(days=d) if d else None for layer, d in policy.days.items()}
    recorded_at = datetime.now(UTC).replace(tzinfo=None)  # bookkeeping only: no decision depends on it
    records = []

    def record(layer: str, table: str, count: int) -> None:
        run.purged[table] = count
        records.append(
            {
                "run_id": run.run_id,
                "as_of": as_of,
                "policy_version": policy.version,
                "layer": layer,
                "table_name": table,
                "cutoff": cutoffs[layer],
                "rows_purged": count,
                "recorded_at": recorded_at,
            }
        )

    if cutoffs["bronze"] is not None:
        purged = purge_bronze(warehouse, settings, policy, cutoffs["bronze"], as_of.date().isoformat())
        record("bronze", "bronze.feedback_raw", purged)
    for copy in DERIVED_COPIES:
        cutoff = cutoffs[copy.layer]
        if cutoff is None or not warehouse.table_exists(copy.table):
            continue
        count_sql, merge_sql = (_in_dialect(s, settings.runtime) for s in derived_copy_sql(copy))
        count = int(warehouse.query_df(count_sql, [cutoff]).iat[0, 0])
        if count:
            warehouse.execute(merge_sql, [cutoff])
        record(copy.layer, copy.table, count)
    if records:
        warehouse.append("ops.retention_runs", pd.DataFrame(records))
    return run
