"""Shared fixtures: settings pointing every piece of local state at a temporary folder."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from feedback_ops.config import PROJECT_ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# Airflow reads its configuration at import: point it at the project's DAGs and a throwaway home.
os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".local" / "airflow_test"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT_ROOT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def local_settings(root: Path, landing_dir: Path, **overrides: object) -> Settings:
    """Settings whose local state (warehouse, index, docs, alert log) lives under ``root``."""
    local = root / ".local"
    return dataclasses.replace(
        Settings(),
        local_dir=local,
        landing_dir=landing_dir,
        warehouse_path=local / "warehouse.duckdb",
        dbt_target_dir=local / "dbt" / "target",
        data_docs_dir=local / "data_docs",
        index_dir=local / "index",
        alert_log=local / "alerts.jsonl",
        reports_dir=local / "reports",
        models_dir=overrides.pop("models_dir", PROJECT_ROOT / ".local" / "models"),
        **overrides,
    )


@pytest.fixture
def fixture_landing(tmp_path: Path) -> Path:
    """A copy of the fixture landing area (20 records with planted malformed rows and duplicates)."""
    target = tmp_path / "landing"
    shutil.copytree(FIXTURES / "landing", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, fixture_landing: Path) -> Settings:
    """Local settings over the fixture landing area, all state under ``tmp_path``."""
    configured = local_settings(tmp_path, fixture_landing)
    configured.ensure_dirs()
    return configured


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--no-native-bf16``: run the suite as on a CPU without native bfloat16 (the local embedder's ``auto``
    precision then resolves to float32), to check a CPU-independent result on a CPU that has it."""
    parser.addoption(
        "--no-native-bf16",
        action="store_true",
        help="resolve the local embedder's auto precision as on a CPU without native bfloat16 (float32)",
    )


@pytest.fixture(scope="session", autouse=True)
def _native_bf16_option(request: pytest.FixtureRequest):
    """Applies ``--no-native-bf16`` to the whole session (this process; subprocesses detect the real CPU)."""
    if not request.config.getoption("--no-native-bf16"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("feedback_ops.embed.local.native_bf16", lambda: False)
        yield


@pytest.fixture(params=[True, False], ids=["native-bf16", "no-native-bf16"])
def cpu_bf16(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Runs a test twice: as on a CPU with native bfloat16 and as on one without (``native_bf16`` forced),
    so that the local embedder's ``auto`` precision resolves to ``bf16`` and to ``fp32`` in turn."""
    monkeypatch.setattr("feedback_ops.embed.local.native_bf16", lambda: request.param)
    return request.param
