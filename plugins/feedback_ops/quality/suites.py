"""The data contracts of each stage, as Great Expectations expectations written in plain Python.

One ``TableContract`` per (stage, table): the table a stage writes, its key columns (used to name the
offending rows when a gate fails) and the list of expectations it must meet. Each contract becomes one GX
Expectation Suite named ``<stage>.<table>`` (a GX suite validates one batch, so a stage that checks two tables
has two suites) with one Validation Definition and one Checkpoint of the same name; ``quality.project``
writes them to the GX project under ``great_expectations/gx/`` and ``quality.gates.run_gate`` runs them.

Nothing here imports Great Expectations: the expectations are data (the GX expectation type and its
keyword arguments), readable on their own and turned into GX objects only when a gate runs. Values that
change without a code change are suite parameters (``{"$PARAMETER": name}``) supplied by the caller at run
time, like the current taxonomy.

Sources: docs/architecture.md (data contracts) and docs/data-model.md (the tables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from feedback_ops.config import CHANNELS, TAXONOMY_CATEGORIES

STAGES = ("bronze", "silver", "enrichment", "gold")
"""The gated stages, in pipeline order."""

TAXONOMY_PARAMETER = "taxonomy"
"""Suite parameter holding the current taxonomy's category ids; ``run_gate(..., taxonomy=[...])`` sets it."""

BASELINE_TAXONOMY = TAXONOMY_CATEGORIES
"""The categories docs/architecture.md requires of every taxonomy. The live list is the versioned
``include/taxonomy.yaml``, which the caller passes to the gate; this constant is for tests and examples."""

SOURCE_FORMATS = ("csv", "jsonl", "json")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
URGENCIES = ("low", "medium", "high", "critical")
LANES = ("urgent", "micro_batch", "batch")

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
"""An e-mail address left in text that should have been redacted."""

PII_FOUND_COLUMN = "redacted_text_pii_found"
"""Derived at the enrichment gate: the structured PII types (``EMAIL``, ``IBAN``, ``CARD``) found in
``redacted_text`` read through the redactor's normalized view, comma-separated; empty when none."""

SENSITIVE_COLUMNS = frozenset({"payload", "feedback_text", "title", "redacted_text"})
"""Free-text columns whose values a failure message does not echo (only their length): they may hold PII."""

FEEDBACK_RAW_COLUMNS = (
    "bronze_row_id",
    "batch_id",
    "source_file",
    "file_checksum",
    "source_format",
    "line_number",
    "payload",
    "parse_error",
    "ingested_at",
)
FILE_MANIFEST_COLUMNS = (
    "file_checksum",
    "source_file",
    "source_format",
    "size_bytes",
    "record_count",
    "batch_id",
    "ingested_at",
    "source_records",
    "parsed_records",
    "encoding",
    "compression",
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252")
"""How ``feedback_ops.ingest.parsing`` reads an export file's bytes (``bronze.file_manifest.encoding``)."""
SILVER_FEEDBACK_COLUMNS = (
    "feedback_id",
    "source_record_id",
    "channel",
    "feedback_text",
    "title",
    "locale",
    "product_area",
    "customer_id",
    "customer_tier",
    "severity",
    "rating",
    "url",
    "created_at",
    "text_hash",
    "bronze_row_id",
    "source_file",
    "line_number",
    "batch_id",
    "ingested_at",
)
RECONCILIATION_COLUMNS = (
    "source_records",
    "bronze_rows",
    "silver_rows",
    "quarantined_rows",
    "duplicate_rows",
    "unbalanced_files",
    "parked_rows",
    "dropped_rows",
    "is_balanced",
)
ENRICHMENT_COLUMNS = (
    "feedback_id",
    "enrichment_version",
    "text_hash",
    "redacted_text",
    "redaction_counts",
    "language",
    "language_confidence",
    "category",
    "sentiment_label",
    "sentiment_score",
    "urgency",
    "confidence",
    "needs_review",
    "lane",
    "model_name",
    "model_version",
    "prompt_version",
    "taxonomy_version",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_ms",
    "enriched_at",
)


MAX_FILE_QUARANTINED_SHARE_PARAMETER = "max_file_quarantined_share"
"""Suite parameter: the largest share of one landing file's rows that may be quarantined
(``Settings.file_park_quarantine_share``); a file over it is parked before the gate, so the gate sees none."""


@dataclass(frozen=True)
class Expectation:
    """One GX expectation: its type (``expect_...``) and keyword arguments, as in a suite's JSON."""

    type: str
    kwargs: Mapping[str, Any]

    @property
    def column(self) -> str | None:
        """The column the expectation is about, if it is about one."""
        return self.kwargs.get("column")


@dataclass(frozen=True)
class DerivedColumn:
    """A column the gate computes from another before validating: a check a regular expression cannot
    express (a checksum, a normalized view) becomes an expectation on the derived column."""

    name: str
    source: str
    compute: Callable[[Any], Any]
    """Called with each value of ``source`` (null included)."""


@dataclass(frozen=True)
class TableContract:
    """What one table (one DataFrame) must satisfy at one stage's gate."""

    stage: str
    table: str
    description: str
    key_columns: tuple[str, ...]
    expectations: tuple[Expectation, ...]
    parameters: tuple[str, ...] = field(default=())
    derived: tuple[DerivedColumn, ...] = field(default=())

    def prepare(self, frame: Any) -> Any:
        """The frame GX validates: ``frame`` with the derived columns added (a copy when there are any)."""
        if not self.derived or any(column.source not in frame.columns for column in self.derived):
            return frame
        frame = frame.copy()
        for column in self.derived:
            frame[column.name] = [column.compute(value) for value in frame[column.source]]
        return frame

    @property
    def name(self) -> str:
        """Name shared by the suite, the Validation Definition, the Checkpoint: ``<stage>.<table>``."""
        return f"{self.stage}.{self.table}"


# --- readable constructors ------------------------------------------------------------------------------------


def columns_exactly(columns: tuple[str, ...]) -> Expectation:
    """The frame has these columns, no more, no fewer (order free)."""
    return Expectation(
        "expect_table_columns_to_match_set", {"column_set": list(columns), "exact_match": True}
    )


def columns_include(columns: tuple[str, ...]) -> Expectation:
    """The frame has at least these columns."""
    return Expectation(
        "expect_table_columns_to_match_set", {"column_set": list(columns), "exact_match": False}
    )


def row_count_between(min_value: int, max_value: int | None = None) -> Expectation:
    """The frame's row count is within bounds."""
    return Expectation(
        "expect_table_row_count_to_be_between", {"min_value": min_value, "max_value": max_value}
    )


def not_null(column: str) -> Expectation:
    """No null in the column."""
    return Expectation("expect_column_values_to_not_be_null", {"column": column})


def unique(column: str) -> Expectation:
    """No value repeats in the column."""
    return Expectation("expect_column_values_to_be_unique", {"column": column})


def unique_together(*columns: str) -> Expectation:
    """No combination of these columns' values repeats."""
    return Expectation("expect_compound_columns_to_be_unique", {"column_list": list(columns)})


def in_set(column: str, values: tuple[Any, ...] | str) -> Expectation:
    """Every non-null value is one of ``values`` (or of the suite parameter named by a ``str``)."""
    value_set: Any = {"$PARAMETER": values} if isinstance(values, str) else list(values)
    return Expectation("expect_column_values_to_be_in_set", {"column": column, "value_set": value_set})


def between(
    column: str, min_value: float | None = None, max_value: float | dict | None = None
) -> Expectation:
    """Every non-null value is within bounds (inclusive); a bound may be a suite parameter
    (``{"$PARAMETER": name}``)."""
    return Expectation(
        "expect_column_values_to_be_between",
        {"column": column, "min_value": min_value, "max_value": max_value},
    )


def min_length(column: str, length: int) -> Expectation:
    """Every non-null string value has at least ``length`` characters."""
    return Expectation("expect_column_value_lengths_to_be_between", {"column": column, "min_value": length})


def not_matching(column: str, regex: str) -> Expectation:
    """No value matches the regular expression."""
    return Expectation("expect_column_values_to_not_match_regex", {"column": column, "regex": regex})


def where_null(condition_column: str, expectation: Expectation) -> Expectation:
    """Apply ``expectation`` only to the rows where ``condition_column`` is null."""
    row_condition = {"type": "nullity", "column": {"name": condition_column}, "is_null": True}
    return Expectation(expectation.type, {**expectation.kwargs, "row_condition": row_condition})


def key(column: str) -> tuple[Expectation, Expectation]:
    """A primary key: not null and unique."""
    return not_null(column), unique(column)


def required(*columns: str) -> tuple[Expectation, ...]:
    """Each column is not null."""
    return tuple(not_null(column) for column in columns)


# --- bronze -------------------------------------------------------------------------------------------------

FEEDBACK_RAW = TableContract(
    stage="bronze",
    table="feedback_raw",
    description="bronze.feedback_raw: one row per record found in a landing file, malformed ones included.",
    key_columns=("bronze_row_id",),
    expectations=(
        columns_exactly(FEEDBACK_RAW_COLUMNS),
        row_count_between(1),
        *key("bronze_row_id"),
        *required("batch_id", "source_file", "file_checksum", "line_number", "payload", "ingested_at"),
        in_set("source_format", SOURCE_FORMATS),
        between("line_number", min_value=1),
        # a parsed record (no parse_error) is stored as a JSON object text
        where_null(
            "parse_error", Expectation("expect_column_values_to_be_json_parseable", {"column": "payload"})
        ),
        where_null(
            "parse_error",
            Expectation("expect_column_values_to_match_regex", {"column": "payload", "regex": r"^\s*\{"}),
        ),
    ),
)

FILE_MANIFEST = TableContract(
    stage="bronze",
    table="file_manifest",
    description="bronze.file_manifest: one row per landing file loaded; its checksum makes a re-load a no-op.",
    key_columns=("file_checksum",),
    expectations=(
        columns_exactly(FILE_MANIFEST_COLUMNS),
        row_count_between(1),
        *key("file_checksum"),
        *required("source_file", "batch_id", "ingested_at", "size_bytes", "record_count"),
        in_set("source_format", SOURCE_FORMATS),
        between("size_bytes", min_value=0),
        between("record_count", min_value=0),
        between("source_records", min_value=0),
        between("parsed_records", min_value=0),
        in_set("encoding", ENCODINGS),
        in_set("compression", ("gzip",)),
    ),
)

# --- silver -------------------------------------------------------------------------------------------------

FEEDBACK_DEDUPLICATED = TableContract(
    stage="silver",
    table="int_feedback_deduplicated",
    description="silver.int_feedback_deduplicated: one row per feedback_id, the first valid occurrence.",
    key_columns=("feedback_id",),
    expectations=(
        columns_exactly(SILVER_FEEDBACK_COLUMNS),
        *key("feedback_id"),
        *key("bronze_row_id"),
        *required("source_record_id", "channel", "created_at", "feedback_text", "text_hash"),
        in_set("channel", CHANNELS),
        min_length("feedback_text", 1),
    ),
)

SILVER_RECONCILIATION = TableContract(
    stage="silver",
    table="reconciliation",
    description=(
        "One row of counts: source records = bronze rows (in total and file by file: unbalanced_files = 0) "
        "and bronze = silver + quarantined + duplicates + rows in parked files + rows in dropped files "
        "(nothing is lost silently)."
    ),
    key_columns=RECONCILIATION_COLUMNS[:-1],
    expectations=(
        columns_exactly(RECONCILIATION_COLUMNS),
        row_count_between(1, 1),
        *required(*RECONCILIATION_COLUMNS),
        *(between(column, min_value=0) for column in RECONCILIATION_COLUMNS[:-1]),
        between("unbalanced_files", 0, 0),
        in_set("is_balanced", (True,)),
    ),
)

QUARANTINE_BY_FILE = TableContract(
    stage="silver",
    table="quarantine_by_file",
    description=(
        "One row per landing file not parked or dropped with at least the parking minimum of rows quarantined "
        "(Settings.file_park_min_rows): how many of its bronze rows were quarantined. A file "
        "with a larger share than the threshold points at schema drift or a broken export: it is parked after "
        "the silver build (feedback_ops.ingest.parked_files), so one here means parking did not run."
    ),
    key_columns=("source_file",),
    parameters=(MAX_FILE_QUARANTINED_SHARE_PARAMETER,),
    expectations=(
        columns_exactly(("source_file", "bronze_rows", "quarantined_rows", "quarantined_share")),
        *key("source_file"),
        between("quarantined_share", 0, {"$PARAMETER": MAX_FILE_QUARANTINED_SHARE_PARAMETER}),
    ),
)

# --- enrichment ---------------------------------------------------------------------------------------------


def structured_pii_found(text: Any) -> str:
    """The structured PII types left in a redacted text, comma-separated ('' when none; see
    ``feedback_ops.enrich.redact.find_structured_pii``: the redactor's normalized view, so an e-mail written
    with ``&#64;`` or a zero-width space, or full-width card digits, count)."""
    from feedback_ops.enrich.redact import find_structured_pii

    return ",".join(find_structured_pii(text)) if isinstance(text, str) else ""


FEEDBACK_ENRICHMENT = TableContract(
    stage="enrichment",
    table="feedback_enrichment",
    description="enrichment.feedback_enrichment: one row per (feedback_id, enrichment_version).",
    key_columns=("feedback_id", "enrichment_version"),
    parameters=(TAXONOMY_PARAMETER,),
    expectations=(
        # extra columns (summary, entities, ... for the subset that gets them) are allowed
        columns_include(ENRICHMENT_COLUMNS),
        *required("feedback_id", "enrichment_version", "text_hash", "redacted_text", "confidence"),
        *required("category", "sentiment_label", "sentiment_score", "urgency"),
        unique_together("feedback_id", "enrichment_version"),
        in_set("category", TAXONOMY_PARAMETER),
        in_set("sentiment_label", SENTIMENT_LABELS),
        between("sentiment_score", -1, 1),
        in_set("urgency", URGENCIES),
        between("confidence", 0, 1),
        between("language_confidence", 0, 1),
        in_set("lane", LANES),
        between("tokens_in", min_value=0),
        between("tokens_out", min_value=0),
        between("cost_usd", min_value=0),
        not_matching("redacted_text", EMAIL_PATTERN),
        in_set(PII_FOUND_COLUMN, ("",)),
    ),
    derived=(DerivedColumn(PII_FOUND_COLUMN, "redacted_text", structured_pii_found),),
)

ENRICHMENT_COVERAGE = TableContract(
    stage="enrichment",
    table="coverage",
    description=(
        "One row: silver items and how many of them have an enrichment at the current version. "
        "Every silver item must be enriched (or quarantined by the enrichment stage): none is lost silently."
    ),
    key_columns=("enrichment_version",),
    expectations=(
        columns_exactly(
            ("enrichment_version", "silver_rows", "enriched_rows", "deferred_rows", "missing_rows")
        ),
        row_count_between(1, 1),
        in_set("missing_rows", (0,)),
    ),
)

# --- gold ---------------------------------------------------------------------------------------------------

FCT_FEEDBACK = TableContract(
    stage="gold",
    table="fct_feedback",
    description="gold.fct_feedback: one row per feedback item with its current enrichment.",
    key_columns=("feedback_id",),
    expectations=(*key("feedback_id"),),
)

RPT_THEME_DAILY = TableContract(
    stage="gold",
    table="rpt_theme_daily",
    description="gold.rpt_theme_daily: one row per (created_date, category, product_area, channel, locale).",
    key_columns=("created_date", "category", "product_area", "channel", "locale"),
    expectations=(
        columns_include(
            (
                "created_date",
                "category",
                "product_area",
                "channel",
                "locale",
                "feedback_count",
                "negative_share",
            )
        ),
        *required("created_date", "category", "feedback_count", "negative_share"),
        unique_together("created_date", "category", "product_area", "channel", "locale"),
        between("feedback_count", min_value=1),
        between("negative_share", 0, 1),
    ),
)

RPT_PIPELINE_RECONCILIATION = TableContract(
    stage="gold",
    table="rpt_pipeline_reconciliation",
    description="gold.rpt_pipeline_reconciliation: one row of stage counts (source records to enriched) and "
    "is_balanced.",
    key_columns=RECONCILIATION_COLUMNS[:-1] + ("enriched_rows",),
    expectations=(
        columns_include(RECONCILIATION_COLUMNS + ("enriched_rows",)),
        row_count_between(1, 1),
        not_null("is_balanced"),
        in_set("is_balanced", (True,)),
    ),
)

CONTRACTS: dict[str, dict[str, TableContract]] = {
    "bronze": {c.table: c for c in (FEEDBACK_RAW, FILE_MANIFEST)},
    "silver": {c.table: c for c in (FEEDBACK_DEDUPLICATED, SILVER_RECONCILIATION, QUARANTINE_BY_FILE)},
    "enrichment": {c.table: c for c in (FEEDBACK_ENRICHMENT, ENRICHMENT_COVERAGE)},
    "gold": {c.table: c for c in (FCT_FEEDBACK, RPT_THEME_DAILY, RPT_PIPELINE_RECONCILIATION)},
}
"""stage -> table -> contract: every suite the GX project holds."""


def all_contracts() -> list[TableContract]:
    """Every contract, stage by stage in pipeline order."""
    return [contract for stage in STAGES for contract in CONTRACTS[stage].values()]
