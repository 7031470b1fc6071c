"""The Great Expectations project: a File Data Context under ``great_expectations/gx/``, kept in step with code.

What is committed (config only): ``great_expectations.yml`` (stores, the Data Docs site, the pandas data
source with one DataFrame asset per table), ``expectations/`` (one suite per stage and table, generated from
``quality.suites``), ``validation_definitions/`` and ``checkpoints/`` (one of each per suite).

What is not: validation results go to ``<Settings.local_dir>/gx/validations`` and Data Docs are built into
``Settings.data_docs_dir``. The committed YAML names those folders through two config variables that every
gate fills from ``Settings`` (``runtime_environment``); ``config_variables.yml`` holds the defaults used when
someone opens the context by hand (``.local/`` of the project).

``sync_project`` is idempotent: it compares each GX object with what the code wants and writes only what
differs, keeping the ids of unchanged expectations, so in the steady state opening the context and running a
gate never write to the committed folder (safe with several Airflow task processes at once); the writes it
does make are serialised by a file lock. ``python -m feedback_ops.quality`` regenerates the project
after a change to ``suites.py``; ``project_drift`` reports differences without writing (a test checks it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.quality.suites import TableContract, all_contracts

if TYPE_CHECKING:
    from great_expectations import Checkpoint, ExpectationSuite, ValidationDefinition
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import FileDataContext
    from great_expectations.datasource.fluent import PandasDatasource

CONTEXT_DIR_NAME = "gx"
DATASOURCE_NAME = "feedback_ops_frames"
BATCH_DEFINITION_NAME = "whole_frame"
DATA_DOCS_SITE = "local_site"
SAMPLE_ROW_LIMIT = 5
VALIDATION_HISTORY_PER_SUITE = 30
"""Validation runs kept per suite in the runtime store and Data Docs; older ones are pruned after a gate."""
RUNTIME_DIR_VARIABLE = "feedback_ops_gx_runtime_dir"
DATA_DOCS_DIR_VARIABLE = "feedback_ops_data_docs_dir"

PROJECT_CONFIG = f"""\
# Feedback Ops: Great Expectations project (a File Data Context). Committed: this file, expectations/,
# validation_definitions/ and checkpoints/, all generated from plugins/feedback_ops/quality/suites.py
# (`python -m feedback_ops.quality`). Validation results and Data Docs are runtime output written
# outside this folder, to the paths the gates pass in (Settings.local_dir / Settings.data_docs_dir);
# config_variables.yml holds defaults for opening the context by hand.
config_version: 4
config_variables_file_path: config_variables.yml
analytics_enabled: false
progress_bars:
  globally: false
  metric_calculations: false
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: ${{{RUNTIME_DIR_VARIABLE}}}/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: validation_definitions/
expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store
data_docs_sites:
  {DATA_DOCS_SITE}:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: ${{{DATA_DOCS_DIR_VARIABLE}}}
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
"""

CONFIG_VARIABLES = f"""\
# Defaults for opening this context by hand (paths relative to this folder). Gates override both
# from Settings, so tests and Airflow tasks write where their Settings say.
{RUNTIME_DIR_VARIABLE}: ../../.local/gx
{DATA_DOCS_DIR_VARIABLE}: ../../.local/data_docs
"""

GX_LOGGERS = ("great_expectations", "great_expectations.core", "great_expectations.data_context")


def context_root(settings: Settings) -> Path:
    """The folder holding ``great_expectations.yml``."""
    return settings.gx_project_dir / CONTEXT_DIR_NAME


def runtime_dir(settings: Settings) -> Path:
    """Where the context's runtime stores (validation results, the lock) live: git-ignored local state."""
    return settings.local_dir / "gx"


def quiet_gx() -> None:
    """Keep GX to warnings and errors: its info logs and deprecation chatter drown an Airflow task log."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in GX_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module=r"great_expectations(\..*)?")
    warnings.filterwarnings("ignore", message=r".*(great_expectations|GX Core).*")


@contextlib.contextmanager
def project_lock(settings: Settings) -> Iterator[None]:
    """Serialise context loading and project writes across processes (Airflow tasks run apart)."""
    lock_dir = runtime_dir(settings)
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "project.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prune_validation_history(settings: Settings, contracts: list[TableContract], keep: int) -> int:
    """Keep the newest ``keep`` validation runs per suite (results and their Data Docs pages); drop the rest.

    Bounds local state and the Data Docs index build, which reads every stored result. Returns runs removed.
    """
    removed = 0
    for contract in contracts:
        suite_path = Path(*contract.name.split("."))
        results = runtime_dir(settings) / "validations" / suite_path
        runs = sorted(results.glob("*/*"), key=lambda run: run.name)  # <run_name>/<run_time>, newest last
        for run in runs[: max(len(runs) - keep, 0)]:
            relative = run.relative_to(results)
            shutil.rmtree(run, ignore_errors=True)
            shutil.rmtree(settings.data_docs_dir / "validations" / suite_path / relative, ignore_errors=True)
            removed += 1
    return removed


def _write_project_files(settings: Settings) -> None:
    root = context_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "great_expectations.yml").is_file():
        (root / "great_expectations.yml").write_text(PROJECT_CONFIG, encoding="utf-8")
    if not (root / "config_variables.yml").is_file():
        (root / "config_variables.yml").write_text(CONFIG_VARIABLES, encoding="utf-8")
    if not (root / ".gitignore").is_file():
        (root / ".gitignore").write_text("uncommitted/\n", encoding="utf-8")


def open_context(settings: Settings | None = None) -> FileDataContext:
    """Open the project's File Data Context with runtime output pointed at ``settings``' folders.

    Creates the project files if the folder is new; never rewrites them.
    """
    settings = settings or get_settings()
    quiet_gx()
    import great_expectations as gx

    _write_project_files(settings)
    settings.data_docs_dir.mkdir(parents=True, exist_ok=True)
    runtime_environment = {
        RUNTIME_DIR_VARIABLE: str(runtime_dir(settings)),
        DATA_DOCS_DIR_VARIABLE: str(settings.data_docs_dir),
    }
    return gx.get_context(
        mode="file", context_root_dir=str(context_root(settings)), runtime_environment=runtime_environment
    )


# --- what the code wants ---------------------------------------------------------------------------------------


def result_format(contract: TableContract) -> dict[str, Any]:
    """SUMMARY results naming failed rows by the contract's key columns (at most ``SAMPLE_ROW_LIMIT``)."""
    return {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": list(contract.key_columns),
        "partial_unexpected_count": SAMPLE_ROW_LIMIT,
        "return_unexpected_index_query": False,
    }


def build_suite(contract: TableContract) -> ExpectationSuite:
    """The GX Expectation Suite for one contract (not yet added to a context)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations = [
        ExpectationConfiguration(type=item.type, kwargs=dict(item.kwargs)).to_domain_obj()
        for item in contract.expectations
    ]
    return gx.ExpectationSuite(name=contract.name, expectations=expectations, notes=contract.description)


def _expectation_key(expectation: Any) -> str:
    config = expectation.configuration.to_json_dict()
    config.pop("id", None)
    return json.dumps(config, sort_keys=True, default=str)


def _suite_differs(stored: ExpectationSuite, wanted: ExpectationSuite) -> bool:
    stored_keys = sorted(_expectation_key(e) for e in stored.expectations)
    wanted_keys = sorted(_expectation_key(e) for e in wanted.expectations)
    return stored_keys != wanted_keys or (stored.notes or None) != (wanted.notes or None)


# --- the sync: each step reads, compares, and writes only on difference -------------------------------------------


def _ensure_datasource(context: FileDataContext, changes: list[str], write: bool) -> PandasDatasource | None:
    try:
        return context.data_sources.get(DATASOURCE_NAME)  # type: ignore[return-value]
    except KeyError:
        changes.append(f"data source {DATASOURCE_NAME}")
        return context.data_sources.add_pandas(DATASOURCE_NAME) if write else None


def _ensure_batch_definition(
    datasource: PandasDatasource | None, table: str, changes: list[str], write: bool
) -> BatchDefinition | None:
    if datasource is None:
        changes.append(f"asset {table}")
        return None
    try:
        asset = datasource.get_asset(table)
    except LookupError:
        changes.append(f"asset {table}")
        if not write:
            return None
        asset = datasource.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION_NAME)
    except KeyError:
        changes.append(f"batch definition {table}.{BATCH_DEFINITION_NAME}")
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME) if write else None


def _ensure_suite(
    context: FileDataContext, contract: TableContract, changes: list[str], write: bool
) -> ExpectationSuite | None:
    from great_expectations.exceptions import DataContextError

    wanted = build_suite(contract)
    try:
        stored = context.suites.get(contract.name)
    except DataContextError:
        changes.append(f"suite {contract.name} (missing)")
        return context.suites.add(wanted) if write else None
    if not _suite_differs(stored, wanted):
        return stored
    changes.append(f"suite {contract.name} (changed)")
    if not write:
        return None
    ids = {_expectation_key(e): e.id for e in stored.expectations}
    for expectation in wanted.expectations:
        expectation.id = ids.get(_expectation_key(expectation))
    return context.suites.add_or_update(wanted)


def _ensure_validation_definition(
    context: FileDataContext,
    contract: TableContract,
    suite: ExpectationSuite | None,
    batch_definition: BatchDefinition | None,
    changes: list[str],
    write: bool,
) -> ValidationDefinition | None:
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    if suite is None or batch_definition is None:
        changes.append(f"validation definition {contract.name}")
        return None
    try:
        stored = context.validation_definitions.get(contract.name)
        if stored.suite.id == suite.id and stored.data.id == batch_definition.id:
            return stored
    except DataContextError:
        pass
    changes.append(f"validation definition {contract.name}")
    wanted = gx.ValidationDefinition(name=contract.name, data=batch_definition, suite=suite)
    return context.validation_definitions.add_or_update(wanted) if write else None


def _ensure_checkpoint(
    context: FileDataContext,
    contract: TableContract,
    validation_definition: ValidationDefinition | None,
    changes: list[str],
    write: bool,
) -> Checkpoint | None:
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    if validation_definition is None:
        changes.append(f"checkpoint {contract.name}")
        return None
    # No UpdateDataDocsAction: each build re-reads every stored result for the index, so a gate builds the
    # docs once for all its tables (gates.run_gate) instead of once per checkpoint.
    wanted = gx.Checkpoint(
        name=contract.name,
        validation_definitions=[validation_definition],
        actions=[],
        result_format=result_format(contract),
    )
    try:
        stored = context.checkpoints.get(contract.name)
        wanted.id = stored.id
        if stored == wanted:
            return stored
    except DataContextError:
        pass
    changes.append(f"checkpoint {contract.name}")
    return context.checkpoints.add_or_update(wanted) if write else None


def _sync_contract(
    context: FileDataContext,
    datasource: PandasDatasource | None,
    contract: TableContract,
    changes: list[str],
    write: bool,
) -> Checkpoint | None:
    batch_definition = _ensure_batch_definition(datasource, contract.table, changes, write)
    suite = _ensure_suite(context, contract, changes, write)
    validation_definition = _ensure_validation_definition(
        context, contract, suite, batch_definition, changes, write
    )
    return _ensure_checkpoint(context, contract, validation_definition, changes, write)


def sync_project(
    context: FileDataContext, contracts: list[TableContract] | None = None
) -> tuple[dict[str, Checkpoint], list[str]]:
    """Make the context hold every contract's suite, validation definition and checkpoint; write only drift.

    Returns:
        The checkpoints by contract name, and a description of each object written (empty when in step).
    """
    changes: list[str] = []
    datasource = _ensure_datasource(context, changes, write=True)
    checkpoints: dict[str, Checkpoint] = {}
    for contract in contracts or all_contracts():
        checkpoint = _sync_contract(context, datasource, contract, changes, write=True)
        assert checkpoint is not None  # writes were allowed
        checkpoints[contract.name] = checkpoint
    return checkpoints, changes


def project_drift(settings: Settings | None = None) -> list[str]:
    """What ``sync_project`` would write to the project folder for ``settings``; empty when in step."""
    settings = settings or get_settings()
    with project_lock(settings):
        context = open_context(settings)
        changes: list[str] = []
        datasource = _ensure_datasource(context, changes, write=False)
        for contract in all_contracts():
            _sync_contract(context, datasource, contract, changes, write=False)
    return changes


def main() -> None:
    """Regenerate the committed GX project from ``suites.py`` and print what changed."""
    settings = get_settings()
    with project_lock(settings):
        _, changes = sync_project(open_context(settings))
    print("\n".join(f"wrote {change}" for change in changes) or "GX project already in step with suites.py")
