"""Runtime selection and settings: the one place that reads the environment.

Everything that differs between a laptop and the cloud is decided here, once, from environment variables
(``FEEDBACK_OPS_*``). The defaults select the local runtime: DuckDB, local models, an embedded index and a
JSONL alert log, all under ``.local/`` in the project folder. Code never branches on anything else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The project folder (the one holding ``dags/``, ``dbt/``, ``include/``)."""

CHANNELS = (
    "review",
    "support_ticket",
    "call_transcript",
    "nps",
    "chat",
    "app_store",
    "social",
    "survey",
    "other",
)
"""Channels accepted by the incoming-feedback contract (ARCHITECTURE.md)."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths, runtime choices and thresholds for one process.

    Attributes:
        runtime: ``local`` (default) or ``cloud``; picks the backend of every protocol.
        local_dir: root of all local state (warehouse, index, alert log, Data Docs, Airflow home).
        landing_dir: the folder scanned for new export files.
        warehouse_path: the DuckDB file of the local warehouse.
        dbt_project_dir / dbt_profiles_dir / dbt_target: where and how dbt runs.
        gx_project_dir: the Great Expectations project; Data Docs are written to ``data_docs_dir``.
        index_dir: the embedded search index.
        alert_log: the JSONL file alerts are appended to locally.
        taxonomy_path / prompts_dir: versioned enrichment assets.
    """

    runtime: str = "local"
    project_root: Path = PROJECT_ROOT
    local_dir: Path = PROJECT_ROOT / ".local"
    landing_dir: Path = PROJECT_ROOT / "include" / "sample_data"
    warehouse_path: Path = PROJECT_ROOT / ".local" / "warehouse.duckdb"
    dbt_project_dir: Path = PROJECT_ROOT / "dbt"
    dbt_profiles_dir: Path = PROJECT_ROOT / "dbt"
    dbt_target: str = "local"
    dbt_target_dir: Path = PROJECT_ROOT / ".local" / "dbt" / "target"
    gx_project_dir: Path = PROJECT_ROOT / "great_expectations"
    data_docs_dir: Path = PROJECT_ROOT / ".local" / "data_docs"
    index_dir: Path = PROJECT_ROOT / ".local" / "index"
    alert_log: Path = PROJECT_ROOT / ".local" / "alerts.jsonl"
    models_dir: Path = PROJECT_ROOT / ".local" / "models"
    taxonomy_path: Path = PROJECT_ROOT / "include" / "taxonomy.yaml"
    prompts_dir: Path = PROJECT_ROOT / "include" / "prompts"
    training_dir: Path = PROJECT_ROOT / "include" / "training"
    batch_size: int = 512
    spike_min_volume: int = 10
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ``FEEDBACK_OPS_*`` environment variables, falling back to local defaults."""
        local_dir = _env_path("FEEDBACK_OPS_LOCAL_DIR", PROJECT_ROOT / ".local")
        return cls(
            runtime=os.environ.get("FEEDBACK_OPS_RUNTIME", "local"),
            local_dir=local_dir,
            landing_dir=_env_path("FEEDBACK_OPS_LANDING_DIR", PROJECT_ROOT / "include" / "sample_data"),
            warehouse_path=_env_path("FEEDBACK_OPS_WAREHOUSE", local_dir / "warehouse.duckdb"),
            dbt_target=os.environ.get("FEEDBACK_OPS_DBT_TARGET", "local"),
            dbt_target_dir=local_dir / "dbt" / "target",
            data_docs_dir=local_dir / "data_docs",
            index_dir=local_dir / "index",
            alert_log=_env_path("FEEDBACK_OPS_ALERT_LOG", local_dir / "alerts.jsonl"),
            models_dir=_env_path("FEEDBACK_OPS_MODELS_DIR", local_dir / "models"),
            batch_size=int(os.environ.get("FEEDBACK_OPS_BATCH_SIZE", "512")),
            spike_min_volume=int(os.environ.get("FEEDBACK_OPS_SPIKE_MIN_VOLUME", "10")),
        )

    def ensure_dirs(self) -> None:
        """Create the local state folders (idempotent)."""
        for path in (
            self.local_dir,
            self.index_dir,
            self.data_docs_dir,
            self.models_dir,
            self.dbt_target_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings.from_env()
