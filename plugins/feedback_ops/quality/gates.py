"""Quality gates: validate a stage's DataFrames against its GX suites, update Data Docs, fail loudly.

``run_gate("silver", {"int_feedback_deduplicated": df, "reconciliation": recon})`` runs, for each frame, the
Checkpoint ``<stage>.<table>`` of the GX project (one Validation Definition on a pandas DataFrame asset), then
updates Data Docs in ``Settings.data_docs_dir`` once for the whole gate. It returns a ``GateResult`` when every expectation
holds and raises ``GateFailed`` otherwise, naming the stage, the suite, each failed expectation with its
arguments, the unexpected count and a few offending rows by their key columns. A failed gate fails its
Airflow task on purpose (write, audit, publish).

DataFrames rather than SQL tables: GX 1.24 over SQLAlchemy + DuckDB reads results after the connection closes
(docs/architecture.md, constraints). Great Expectations is imported inside the functions: it is a heavy import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.quality.project import (
    DATA_DOCS_SITE,
    VALIDATION_HISTORY_PER_SUITE,
    open_context,
    project_lock,
    prune_validation_history,
    sync_project,
)
from feedback_ops.quality.suites import CONTRACTS, SENSITIVE_COLUMNS, TableContract

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationValidationResult

MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one table."""

    suite: str
    table: str
    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    element_count: int | None
    unexpected_count: int | None
    sample_rows: tuple[dict[str, Any], ...]
    observed: str | None
    """Observed value, mismatch details or the exception message, for expectations without row samples."""


@dataclass(frozen=True)
class GateResult:
    """What one gate checked: every expectation's outcome and where the Data Docs are."""

    stage: str
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]
    data_docs_index: Path

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        """The expectations that did not hold."""
        return tuple(outcome for outcome in self.outcomes if not outcome.success)

    @property
    def statistics(self) -> dict[str, int]:
        """Counts of evaluated, successful and failed expectations."""
        failed = len(self.failures)
        return {
            "evaluated_expectations": len(self.outcomes),
            "successful_expectations": len(self.outcomes) - failed,
            "unsuccessful_expectations": failed,
        }


class GateFailed(Exception):
    """A stage's data broke its contract. The message says what, where, and which rows."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(describe_failures(result))


def reconciliation_frame(
    bronze_rows: int,
    silver_rows: int,
    quarantined_rows: int,
    duplicate_rows: int,
    source_records: int | None = None,
    unbalanced_files: int = 0,
    parked_rows: int = 0,
    dropped_rows: int = 0,
) -> pd.DataFrame:
    """The one-row frame of the silver gate: counts and whether ``source records = bronze rows`` (in total
    and file by file) and bronze = silver + quarantined + duplicates + rows in parked files + rows in
    dropped files (``feedback_ops.ingest.parked_files``).

    Args:
        source_records: the records the landing files hold (``bronze.file_manifest.source_records``); None
            when no file was counted (then bronze rows are taken as the source count).
        unbalanced_files: files whose bronze rows differ from their source records.
        parked_rows: bronze rows of the files parked now.
        dropped_rows: bronze rows of the files an operator dropped.
    """
    import pandas as pd

    source_records = bronze_rows if source_records is None else source_records
    accounted = silver_rows + quarantined_rows + duplicate_rows + parked_rows + dropped_rows
    return pd.DataFrame(
        {
            "source_records": [source_records],
            "bronze_rows": [bronze_rows],
            "silver_rows": [silver_rows],
            "quarantined_rows": [quarantined_rows],
            "duplicate_rows": [duplicate_rows],
            "unbalanced_files": [unbalanced_files],
            "parked_rows": [parked_rows],
            "dropped_rows": [dropped_rows],
            "is_balanced": [
                source_records == bronze_rows and unbalanced_files == 0 and bronze_rows == accounted
            ],
        }
    )


def _check_arguments(stage: str, frames: Mapping[str, Any], params: Mapping[str, Any]) -> list[TableContract]:
    if stage not in CONTRACTS:
        raise ValueError(f"unknown stage {stage!r}; gated stages: {', '.join(CONTRACTS)}")
    known = CONTRACTS[stage]
    unknown = sorted(set(frames) - set(known))
    if not frames or unknown:
        raise ValueError(f"stage {stage!r} validates tables {sorted(known)}; got {sorted(frames)}")
    contracts = [known[table] for table in frames]
    needed = {name for contract in contracts for name in contract.parameters}
    if set(params) != needed:
        raise ValueError(f"stage {stage!r} with tables {sorted(frames)} takes parameters {sorted(needed)}")
    return contracts


def run_gate(
    stage: str, frames: Mapping[str, pd.DataFrame], settings: Settings | None = None, **params: Any
) -> GateResult:
    """Validate each frame of a stage against its suite; update Data Docs; raise ``GateFailed`` on a failure.

    Args:
        stage: ``bronze``, ``silver``, ``enrichment`` or ``gold``.
        frames: table name -> DataFrame, for one or more of the stage's tables (see ``suites.CONTRACTS``).
        settings: paths of the GX project, the runtime stores and the Data Docs; process settings by default.
        **params: suite parameters the stage's suites need, e.g. ``taxonomy=[category ids]`` for enrichment.

    Returns:
        The outcome of every expectation and the Data Docs index path.

    Raises:
        GateFailed: an expectation did not hold (the message lists failures and sample rows).
        ValueError: unknown stage or table, or missing / unexpected parameters.
    """
    settings = settings or get_settings()
    contracts = _check_arguments(stage, frames, params)
    with project_lock(settings):
        context = open_context(settings)  # imports GX, quietly
        checkpoints, _ = sync_project(context, contracts)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    run_id = RunIdentifier(run_name=f"gate_{stage}", run_time=datetime.now(UTC))
    outcomes: list[ExpectationOutcome] = []
    documents: list[Any] = []
    for contract in contracts:
        checkpoint_result = checkpoints[contract.name].run(
            batch_parameters={"dataframe": contract.prepare(frames[contract.table])},
            expectation_parameters=dict(params),
            run_id=run_id,
        )
        for identifier, validation_result in checkpoint_result.run_results.items():
            outcomes.extend(_outcome(contract, result) for result in validation_result.results)
            documents += [identifier, ExpectationSuiteIdentifier(name=contract.name)]
    prune_validation_history(settings, contracts, keep=VALIDATION_HISTORY_PER_SUITE)
    context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=documents)
    result = GateResult(
        stage=stage,
        success=all(outcome.success for outcome in outcomes),
        outcomes=tuple(outcomes),
        data_docs_index=settings.data_docs_dir / "index.html",
    )
    if not result.success:
        raise GateFailed(result)
    return result


def build_data_docs(settings: Settings | None = None) -> Path:
    """Rebuild the Data Docs site from the suites and the stored validation results; return its index.html."""
    settings = settings or get_settings()
    with project_lock(settings):
        context = open_context(settings)
        sync_project(context)
    context.build_data_docs()
    return settings.data_docs_dir / "index.html"


# --- reading GX results ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python values, so messages and results print cleanly."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _outcome(contract: TableContract, result: ExpectationValidationResult) -> ExpectationOutcome:
    config = result.expectation_config
    if config is None:  # GX attaches the configuration to every result it returns for a suite
        raise ValueError(f"{contract.name}: a validation result without its expectation configuration")
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "column")}
    details = dict(result.result or {})
    rows = tuple(
        {name: _plain(value) for name, value in row.items()}
        for row in details.get("partial_unexpected_index_list") or ()
    )
    return ExpectationOutcome(
        suite=contract.name,
        table=contract.table,
        expectation_type=config.type,
        column=config.kwargs.get("column"),
        kwargs=kwargs,
        success=bool(result.success),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        sample_rows=rows,
        observed=_observed(result, details),
    )


def _exception_messages(info: Mapping[str, Any] | None) -> list[str]:
    """GX reports an exception either flat or keyed by the metric that raised it."""
    if not info:
        return []
    reports = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    messages = (
        str(report.get("exception_message") or "") for report in reports if report.get("raised_exception")
    )
    return list(
        dict.fromkeys(message.splitlines()[0].removeprefix("Error: ") for message in messages if message)
    )


def _observed(result: ExpectationValidationResult, details: Mapping[str, Any]) -> str | None:
    errors = _exception_messages(result.exception_info)
    if errors:
        return "error: " + "; ".join(errors)
    if details.get("details"):
        return str(details["details"])
    if "observed_value" in details:
        return f"observed {details['observed_value']!r}"
    return None


def _show(column: str, value: Any) -> str:
    if column in SENSITIVE_COLUMNS and isinstance(value, str):
        return f"<{len(value)} chars withheld>"
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _describe_row(row: Mapping[str, Any], keys: Sequence[str], column: str | None) -> str:
    key_text = ", ".join(f"{k}={_show(k, row[k])}" for k in keys if k in row)
    if column is None or column in keys or column not in row:
        return key_text
    return f"{key_text} -> {column}={_show(column, row[column])}"


def _describe_outcome(outcome: ExpectationOutcome, keys: Sequence[str]) -> list[str]:
    column = f" column={outcome.column}" if outcome.column else ""
    kwargs = ", ".join(f"{k}={v!r}" for k, v in outcome.kwargs.items())
    kwargs = f" ({kwargs})" if kwargs else ""
    counts = ""
    if outcome.unexpected_count is not None:
        counts = f": {outcome.unexpected_count} unexpected of {outcome.element_count} rows"
    lines = [f"  - {outcome.expectation_type}{column}{kwargs}{counts}"]
    if outcome.observed:
        lines.append(f"      {outcome.observed}")
    lines.extend(f"      {_describe_row(row, keys, outcome.column)}" for row in outcome.sample_rows)
    return lines


def describe_failures(result: GateResult) -> str:
    """A readable account of a failed gate, suite by suite."""
    failures = result.failures
    lines = [
        f"quality gate {result.stage!r} failed: {len(failures)} of {len(result.outcomes)} expectations "
        f"did not hold (Data Docs: {result.data_docs_index})"
    ]
    for suite in dict.fromkeys(outcome.suite for outcome in failures):
        stage, table = suite.split(".", 1)
        lines.append(f"suite {suite!r} (table {table}):")
        keys = CONTRACTS[stage][table].key_columns
        for outcome in failures:
            if outcome.suite == suite:
                lines.extend(_describe_outcome(outcome, keys))
    return "\n".join(lines)
