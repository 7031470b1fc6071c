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

TAXONOMY_CATEGORIES = (
    "bug",
    "feature_request",
    "billing",
    "usability",
    "delivery",
    "account_access",
    "performance",
    "customer_service",
    "pricing",
    "praise",
    "other",
)
"""The categories ARCHITECTURE.md requires of every taxonomy; the live list is ``include/taxonomy.yaml``."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


ENRICHMENT_BACKENDS = ("local", "azure_openai", "openai_compatible")
"""``local``: in-process models (default); ``azure_openai``: an Azure OpenAI resource; ``openai_compatible``:
any endpoint speaking the OpenAI chat-completions API (``base_url``)."""


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class LanguageModelSettings:
    """The cloud language-model backend of enrichment (``enrichment_backend`` ``azure_openai`` or
    ``openai_compatible``). Unused by the local backend.

    Attributes:
        endpoint / api_key / api_version: the Azure OpenAI resource (``AZURE_OPENAI_ENDPOINT``,
            ``AZURE_OPENAI_API_KEY``, ``AZURE_OPENAI_API_VERSION``).
        deployment / cheap_deployment: the strong and the cheap deployment (``AZURE_OPENAI_DEPLOYMENT``,
            ``AZURE_OPENAI_CHEAP_DEPLOYMENT``); model names for an OpenAI-compatible endpoint.
        base_url: the OpenAI-compatible endpoint (``FEEDBACK_OPS_LLM_BASE_URL``).
        prices_path: the versioned price table (USD per 1K input / output tokens per deployment).
        run_budget_usd: the most one enrichment run may spend.
        degrade_at_share: share of the budget after which records go to the cheap deployment.
        concurrency / requests_per_minute / tokens_per_minute: client-side limits (match the quota).
        timeout_s: per-request timeout. max_attempts: calls per record on 429, 5xx and timeouts;
            max_output_attempts: calls per record whose output breaks the schema, before quarantine.
        backoff_base_s / backoff_max_s: exponential backoff with jitter between retries.
        max_output_tokens: the completion limit of one call (also the output estimate of the budget).
    """

    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_version: str = "2024-10-21"
    deployment: str = "gpt-4o"
    cheap_deployment: str = "gpt-4o-mini"
    base_url: str | None = None
    prices_path: Path = PROJECT_ROOT / "include" / "model_prices.yaml"
    run_budget_usd: float = 5.0
    degrade_at_share: float = 0.8
    concurrency: int = 8
    requests_per_minute: int = 300
    tokens_per_minute: int = 150_000
    timeout_s: float = 30.0
    max_attempts: int = 6
    max_output_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    max_output_tokens: int = 256

    @classmethod
    def from_env(cls) -> LanguageModelSettings:
        """Read ``AZURE_OPENAI_*`` and ``FEEDBACK_OPS_LLM_*`` variables (called by ``Settings.from_env``)."""
        defaults = cls()
        return cls(
            endpoint=os.environ.get("AZURE_OPENAI_ENDPOINT") or None,
            api_key=os.environ.get("AZURE_OPENAI_API_KEY") or os.environ.get("FEEDBACK_OPS_LLM_API_KEY"),
            api_version=os.environ.get("AZURE_OPENAI_API_VERSION") or defaults.api_version,
            deployment=os.environ.get("AZURE_OPENAI_DEPLOYMENT") or defaults.deployment,
            cheap_deployment=os.environ.get("AZURE_OPENAI_CHEAP_DEPLOYMENT") or defaults.cheap_deployment,
            base_url=os.environ.get("FEEDBACK_OPS_LLM_BASE_URL") or None,
            prices_path=_env_path("FEEDBACK_OPS_LLM_PRICES", defaults.prices_path),
            run_budget_usd=_env_float("FEEDBACK_OPS_LLM_RUN_BUDGET_USD", defaults.run_budget_usd),
            degrade_at_share=_env_float("FEEDBACK_OPS_LLM_DEGRADE_AT_SHARE", defaults.degrade_at_share),
            concurrency=_env_int("FEEDBACK_OPS_LLM_CONCURRENCY", defaults.concurrency),
            requests_per_minute=_env_int("FEEDBACK_OPS_LLM_RPM", defaults.requests_per_minute),
            tokens_per_minute=_env_int("FEEDBACK_OPS_LLM_TPM", defaults.tokens_per_minute),
            timeout_s=_env_float("FEEDBACK_OPS_LLM_TIMEOUT_S", defaults.timeout_s),
            max_attempts=_env_int("FEEDBACK_OPS_LLM_MAX_ATTEMPTS", defaults.max_attempts),
            max_output_attempts=_env_int(
                "FEEDBACK_OPS_LLM_MAX_OUTPUT_ATTEMPTS", defaults.max_output_attempts
            ),
        )


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
        alert_log: the JSONL file alerts are appended to locally (always, whatever the routing).
        alert_routing_path: the versioned alert routing file (destinations, cooldown, retries, links).
        reports_dir: the insights report and the Markdown summaries for people.
        taxonomy_path / prompts_dir / redaction_config_path: versioned enrichment assets.
        enrichment_backend: ``local`` (default), ``azure_openai`` or ``openai_compatible`` (ENRICHMENT_BACKENDS).
        llm: the cloud language-model settings (``LanguageModelSettings``).
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
    alert_routing_path: Path = PROJECT_ROOT / "include" / "alert_routing.yaml"
    reports_dir: Path = PROJECT_ROOT / ".local" / "reports"
    models_dir: Path = PROJECT_ROOT / ".local" / "models"
    taxonomy_path: Path = PROJECT_ROOT / "include" / "taxonomy.yaml"
    prompts_dir: Path = PROJECT_ROOT / "include" / "prompts"
    redaction_config_path: Path = PROJECT_ROOT / "include" / "redaction.yaml"
    routing_path: Path = PROJECT_ROOT / "include" / "routing.yaml"
    training_dir: Path = PROJECT_ROOT / "include" / "training"
    batch_size: int = 512
    spike_min_volume: int = 10
    enrichment_backend: str = "local"
    llm: LanguageModelSettings = field(default_factory=LanguageModelSettings)
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
            alert_routing_path=_env_path(
                "FEEDBACK_OPS_ALERT_ROUTING", PROJECT_ROOT / "include" / "alert_routing.yaml"
            ),
            reports_dir=local_dir / "reports",
            models_dir=_env_path("FEEDBACK_OPS_MODELS_DIR", local_dir / "models"),
            redaction_config_path=_env_path(
                "FEEDBACK_OPS_REDACTION_CONFIG", PROJECT_ROOT / "include" / "redaction.yaml"
            ),
            batch_size=int(os.environ.get("FEEDBACK_OPS_BATCH_SIZE", "512")),
            spike_min_volume=int(os.environ.get("FEEDBACK_OPS_SPIKE_MIN_VOLUME", "10")),
            enrichment_backend=os.environ.get("FEEDBACK_OPS_ENRICHMENT_BACKEND", "local"),
            llm=LanguageModelSettings.from_env(),
        )

    def ensure_dirs(self) -> None:
        """Create the local state folders (idempotent)."""
        for path in (
            self.local_dir,
            self.index_dir,
            self.data_docs_dir,
            self.models_dir,
            self.dbt_target_dir,
            self.reports_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings.from_env()
