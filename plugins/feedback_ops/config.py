"""Runtime selection and settings: the one place that reads the environment.

Everything that differs between a laptop and the cloud is decided here, once, from environment variables
(``FEEDBACK_OPS_*``). The defaults select the local runtime: DuckDB, local models, an embedded index and a
JSONL alert log, all under ``.local/`` in the project folder. Code never branches on anything else.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ConfigurationError(ValueError):
    """A setting is missing or wrong: the machinery's error, never a record's (it fails the task even where a
    ``ValueError`` would set one record aside, ``feedback_ops.enrich.failures``)."""


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
"""Channels accepted by the incoming-feedback contract (docs/architecture.md)."""

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
"""The categories docs/architecture.md requires of every taxonomy; the live list is ``include/taxonomy.yaml``."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


ENRICHMENT_BACKENDS = ("local", "azure_openai", "openai_compatible")
"""``local``: in-process models (default); ``azure_openai``: an Azure OpenAI resource; ``openai_compatible``:
any endpoint speaking the OpenAI chat-completions API (``base_url``)."""


def enrichment_backend_name(settings: Settings, backend: str | None = None) -> str:
    """``backend``, or the configured one (``settings.enrichment_backend``), checked against ``ENRICHMENT_BACKENDS``.

    Raises:
        ValueError: an unknown backend name.
    """
    name = backend or settings.enrichment_backend
    if name not in ENRICHMENT_BACKENDS:
        raise ValueError(f"unknown enrichment backend {name!r}; expected one of {ENRICHMENT_BACKENDS}")
    return name


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DUCKDB_MEMORY_LIMIT = "640MiB"
"""Default of ``Settings.duckdb_memory_limit`` (``FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT``): per local DuckDB database.

DuckDB's own default is 80 % of the machine's RAM *per database*, and it uses that room as a cache: blocks it
has read or written stay resident until the limit forces them out, so the process would grow with the data (at
100k, to 5.5 GB in the embed + index stage, where the warehouse and the embedded index are both open). With a limit, DuckDB evicts cached blocks and spills sorts, joins and temporary tables to
``<database file>.tmp/`` instead. Two databases are open while the index is synced: 2 x 640 MiB on top of
the models' and the IVF's ~2.4 GB keeps a 100k run under 4 GB. Not much lower: DuckDB's sort needs room per
thread, and the first index sync sorts every vector (``search.sync.DOCUMENTS_SQL``); on 2 threads a sorted read
of 3M 384-float vectors and their text (4.6 GB) ran at 0.81 GB resident under 640 MiB, while under 512 MiB the
same read of 1.2M failed with DuckDB's "Out of Memory" (raise the limit if that error appears)."""

_DUCKDB_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def duckdb_size(name: str, value: str) -> str:
    """``value`` if it is a size DuckDB's ``memory_limit`` accepts (``768MiB``, ``2GB``), else a clear error."""
    if not _DUCKDB_SIZE.match(value):
        raise ValueError(
            f"{name} must be a size such as 768MiB, 1GB or 2GiB (a number and B, KB, MB, GB, TB, KiB, MiB, GiB "
            f"or TiB), not {value!r}"
        )
    return value.strip()


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
        context_tokens / cheap_context_tokens: the context window of the strong and of the cheap deployment
            (``FEEDBACK_OPS_LLM_CONTEXT_TOKENS``, ``FEEDBACK_OPS_LLM_CHEAP_CONTEXT_TOKENS``, default the
            strong one's): a request (prompt, schema, the record's text and room for the output) never
            exceeds the smaller; a longer text is cut to fit and flagged ``text_truncated``.
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
    context_tokens: int = 128_000
    cheap_context_tokens: int | None = None

    @property
    def request_tokens_limit(self) -> int:
        """The most tokens one request may hold, output included: the smaller deployment context."""
        cheap = self.cheap_context_tokens or self.context_tokens
        return min(self.context_tokens, cheap)

    @classmethod
    def from_env(cls) -> LanguageModelSettings:
        """Read ``AZURE_OPENAI_*`` and ``FEEDBACK_OPS_LLM_*`` variables (called by ``Settings.from_env``)."""
        defaults = cls()
        return cls(
            endpoint=os.environ.get("AZURE_OPENAI_ENDPOINT")
            or connection_field("azure_openai_default", "host"),
            api_key=os.environ.get("AZURE_OPENAI_API_KEY")
            or os.environ.get("FEEDBACK_OPS_LLM_API_KEY")
            or connection_field("azure_openai_default", "password"),
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
            context_tokens=_env_int("FEEDBACK_OPS_LLM_CONTEXT_TOKENS", defaults.context_tokens),
            cheap_context_tokens=_env_optional_int("FEEDBACK_OPS_LLM_CHEAP_CONTEXT_TOKENS"),
        )


EMBEDDING_BACKENDS = ("local", "azure_openai", "openai_compatible")
"""``local``: all-MiniLM-L6-v2 in process (default); ``azure_openai``: an Azure OpenAI embeddings deployment;
``openai_compatible``: any endpoint speaking the OpenAI embeddings API (``FEEDBACK_OPS_LLM_BASE_URL``)."""

LOCAL_EMBEDDERS = ("torch", "onnx-int8")
"""How the local all-MiniLM-L6-v2 runs: ``torch`` (sentence-transformers; bfloat16 where the CPU has it
natively, else float32, under one embedding version ``...-auto``; the default) or ``onnx-int8`` (ONNX
Runtime, int8 weights; ``embed.onnx_int8``; version ``...-onnx-int8``)."""

SEARCH_BACKENDS = ("embedded", "azure_ai_search")
"""``embedded``: the DuckDB index under ``.local/index/`` (default); ``azure_ai_search``: Azure AI Search."""


def connection_field(conn_id: str, field_name: str) -> str | None:
    """A field (``host``, ``login``, ``password``) of the Airflow connection ``conn_id`` when it is given in
    the environment (``AIRFLOW_CONN_<CONN_ID>``, JSON or URI form, as in ``.env.example``), else None.

    Lets the Azure OpenAI and Azure AI Search clients take their endpoint and key from the same Airflow
    connections as everything else, without importing Airflow here; an explicit ``AZURE_*`` variable wins.
    A connection kept in a secrets backend or the metadata database is not seen: set the variables instead.

    Raises:
        ValueError: the variable is set but is neither a JSON object nor a connection URI.
    """
    import json
    from urllib.parse import unquote, urlsplit

    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if raw.startswith("{"):
        try:
            value = json.loads(raw).get(field_name)
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"{name} is not a JSON object: {error}") from error
        return str(value) if value else None
    parts = urlsplit(raw)
    if not parts.scheme or not parts.hostname:
        raise ValueError(
            f"{name} is neither a JSON object nor a connection URI (scheme://login:password@host)"
        )
    fields = {
        "host": f"https://{parts.hostname}" + (f":{parts.port}" if parts.port else ""),
        "login": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    return fields.get(field_name)


def _env_optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


@dataclass(frozen=True)
class EmbeddingSettings:
    """The cloud embeddings backend (``embedding_backend`` ``azure_openai`` or ``openai_compatible``). The
    endpoint, key, API version and base URL are the language model's (``Settings.llm``): one Azure OpenAI
    resource usually serves both.

    Attributes:
        deployment: the embeddings deployment (``AZURE_OPENAI_EMBEDDING_DEPLOYMENT``); the model name for an
            OpenAI-compatible endpoint.
        model: the model behind the deployment (``FEEDBACK_OPS_EMBEDDING_MODEL``), stamped on every vector.
        dimensions: vector length (``FEEDBACK_OPS_EMBEDDING_DIMENSIONS``); None: the model's native length.
            Sent to the service (text-embedding-3 models shorten their vectors) when set.
        batch_size: texts per request (the service accepts at most 2,048).
        concurrency / requests_per_minute / tokens_per_minute: client-side limits (match the quota).
        timeout_s: per-request timeout. max_attempts: calls per batch on 429, 5xx and timeouts.
        backoff_base_s / backoff_max_s: exponential backoff with jitter between retries.
    """

    deployment: str = "text-embedding-3-small"
    model: str = "text-embedding-3-small"
    dimensions: int | None = None
    batch_size: int = 256
    concurrency: int = 4
    requests_per_minute: int = 600
    tokens_per_minute: int = 1_000_000
    timeout_s: float = 30.0
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0

    @classmethod
    def from_env(cls) -> EmbeddingSettings:
        """Read ``AZURE_OPENAI_EMBEDDING_DEPLOYMENT`` and ``FEEDBACK_OPS_EMBEDDING_*`` variables."""
        defaults = cls()
        deployment = os.environ.get("AZURE_OPENAI_EMBEDDING_DEPLOYMENT") or defaults.deployment
        return cls(
            deployment=deployment,
            model=os.environ.get("FEEDBACK_OPS_EMBEDDING_MODEL") or deployment,
            dimensions=_env_optional_int("FEEDBACK_OPS_EMBEDDING_DIMENSIONS"),
            batch_size=_env_int("FEEDBACK_OPS_EMBEDDING_BATCH_SIZE", defaults.batch_size),
            concurrency=_env_int("FEEDBACK_OPS_EMBEDDING_CONCURRENCY", defaults.concurrency),
            requests_per_minute=_env_int("FEEDBACK_OPS_EMBEDDING_RPM", defaults.requests_per_minute),
            tokens_per_minute=_env_int("FEEDBACK_OPS_EMBEDDING_TPM", defaults.tokens_per_minute),
            timeout_s=_env_float("FEEDBACK_OPS_EMBEDDING_TIMEOUT_S", defaults.timeout_s),
            max_attempts=_env_int("FEEDBACK_OPS_EMBEDDING_MAX_ATTEMPTS", defaults.max_attempts),
        )


@dataclass(frozen=True)
class AzureSearchSettings:
    """The Azure AI Search index (``search_backend`` ``azure_ai_search``). Unused by the embedded index.

    Attributes:
        endpoint / api_key / index_name: the service, an admin key, the index (``AZURE_SEARCH_ENDPOINT``,
            ``AZURE_SEARCH_API_KEY``, ``AZURE_SEARCH_INDEX``).
        api_version: the REST API version (``AZURE_SEARCH_API_VERSION``); None: the SDK's default.
        upload_batch_size: documents per indexing request (the service takes at most 1,000 and 16 MB).
        max_attempts: tries per HTTP request (429 / 5xx / timeouts, by the SDK's retry policy honouring
            ``Retry-After``) and per failed document (by the adapter).
        backoff_base_s / backoff_max_s: exponential backoff between those tries.
        timeout_s: per-request timeout.
        visibility_timeout_s: how long ``refresh`` waits for the last writes to become searchable.
    """

    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    index_name: str = "feedback-units"
    api_version: str | None = None
    upload_batch_size: int = 200
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    timeout_s: float = 30.0
    visibility_timeout_s: float = 10.0

    @classmethod
    def from_env(cls) -> AzureSearchSettings:
        """Read ``AZURE_SEARCH_*`` and ``FEEDBACK_OPS_SEARCH_*`` variables."""
        defaults = cls()
        return cls(
            endpoint=os.environ.get("AZURE_SEARCH_ENDPOINT")
            or connection_field("azure_ai_search_default", "host"),
            api_key=os.environ.get("AZURE_SEARCH_API_KEY")
            or connection_field("azure_ai_search_default", "password"),
            index_name=os.environ.get("AZURE_SEARCH_INDEX") or defaults.index_name,
            api_version=os.environ.get("AZURE_SEARCH_API_VERSION") or None,
            upload_batch_size=_env_int("FEEDBACK_OPS_SEARCH_UPLOAD_BATCH_SIZE", defaults.upload_batch_size),
            max_attempts=_env_int("FEEDBACK_OPS_SEARCH_MAX_ATTEMPTS", defaults.max_attempts),
            timeout_s=_env_float("FEEDBACK_OPS_SEARCH_TIMEOUT_S", defaults.timeout_s),
        )


LANES = ("urgent", "micro_batch", "batch")
"""The three lanes records are enriched in (docs/architecture.md, lanes): ``urgent`` (event-driven, minutes),
``micro_batch`` (the main DAG, hourly) and ``batch`` (daily: reconciliation, backfill, the provider's batch API)."""

URGENT_TRIGGERS = ("landing_dir", "service_bus")
"""What starts the urgent lane: ``landing_dir`` (local: a trigger polling the landing folder) or
``service_bus`` (cloud: a message on an Azure Service Bus queue, through the microsoft-azure provider)."""


@dataclass(frozen=True)
class LaneSettings:
    """Cost controls of one lane: what it may spend per run, how many records per batch, how often it runs.

    Attributes:
        name: the lane (LANES).
        budget_usd: the most one run of the lane may spend on model calls (replaces ``llm.run_budget_usd``).
        batch_size: records per enrichment batch (and per claim: a killed lane holds at most one batch).
        cadence: the DAG's schedule (a cron preset); ``event`` for the event-driven urgent lane.
        strong_tier_only: never degrade to the cheap deployment (the urgent lane pays for the strong tier).
    """

    name: str
    budget_usd: float
    batch_size: int
    cadence: str
    strong_tier_only: bool = False

    @classmethod
    def from_env(cls, name: str, default: LaneSettings) -> LaneSettings:
        """Read ``FEEDBACK_OPS_LANE_<NAME>_BUDGET_USD`` / ``_BATCH_SIZE`` / ``_CADENCE``."""
        prefix = f"FEEDBACK_OPS_LANE_{name.upper()}_"
        return cls(
            name=name,
            budget_usd=_env_float(prefix + "BUDGET_USD", default.budget_usd),
            batch_size=_env_int(prefix + "BATCH_SIZE", default.batch_size),
            cadence=os.environ.get(prefix + "CADENCE") or default.cadence,
            strong_tier_only=default.strong_tier_only,
        )


DEFAULT_LANES = {
    "urgent": LaneSettings("urgent", budget_usd=1.0, batch_size=32, cadence="event", strong_tier_only=True),
    "micro_batch": LaneSettings("micro_batch", budget_usd=5.0, batch_size=512, cadence="@hourly"),
    "batch": LaneSettings("batch", budget_usd=20.0, batch_size=2000, cadence="@daily"),
}
"""The lanes' cost controls when the environment sets none: the urgent lane is small and strong, the batch
lane large and cheap (the provider's batch API bills half price)."""


@dataclass(frozen=True)
class LanesSettings:
    """Everything the lanes share: per-lane cost controls, the claim lease, the urgent lane's trigger.

    Attributes:
        lanes: per-lane cost controls (``LaneSettings``), keyed by lane name.
        claim_lease_s: how long a lane's claim on a batch of records holds (``FEEDBACK_OPS_CLAIM_LEASE_S``);
            a lane killed mid-batch leaves claims that other lanes take over once the lease expires. Must
            exceed the longest batch, or a slow lane's records could be enriched a second time.
        urgent_trigger: ``landing_dir`` (default) or ``service_bus`` (URGENT_TRIGGERS).
        urgent_poll_s: how often the landing trigger lists the landing folder.
        service_bus_queue / service_bus_conn_id: the Service Bus queue announcing new files in the cloud.
        batch_poll_s / batch_max_wait_s: how often and how long the batch lane polls a provider batch job.
    """

    lanes: dict[str, LaneSettings] = field(default_factory=lambda: dict(DEFAULT_LANES))
    claim_lease_s: float = 900.0
    urgent_trigger: str = "landing_dir"
    urgent_poll_s: float = 2.0
    service_bus_queue: str = "feedback-landed"
    service_bus_conn_id: str = "azure_service_bus_default"
    batch_poll_s: float = 30.0
    batch_max_wait_s: float = 86_400.0

    def lane(self, name: str) -> LaneSettings:
        """The cost controls of lane ``name`` (ValueError naming the lanes when it is unknown)."""
        if name not in self.lanes:
            raise ValueError(f"unknown lane {name!r}; expected one of {LANES}")
        return self.lanes[name]

    @classmethod
    def from_env(cls) -> LanesSettings:
        """Read ``FEEDBACK_OPS_LANE_*``, ``FEEDBACK_OPS_CLAIM_LEASE_S`` and ``FEEDBACK_OPS_URGENT_*``."""
        defaults = cls()
        trigger = os.environ.get("FEEDBACK_OPS_URGENT_TRIGGER") or defaults.urgent_trigger
        if trigger not in URGENT_TRIGGERS:
            raise ValueError(f"FEEDBACK_OPS_URGENT_TRIGGER={trigger!r}; expected one of {URGENT_TRIGGERS}")
        # The micro-batch lane is the main DAG: without lane-specific settings it keeps the general knobs.
        defaults_from_env = {
            **DEFAULT_LANES,
            "micro_batch": dataclasses.replace(
                DEFAULT_LANES["micro_batch"],
                budget_usd=_env_float(
                    "FEEDBACK_OPS_LLM_RUN_BUDGET_USD", DEFAULT_LANES["micro_batch"].budget_usd
                ),
                batch_size=_env_int("FEEDBACK_OPS_BATCH_SIZE", DEFAULT_LANES["micro_batch"].batch_size),
            ),
        }
        return cls(
            lanes={name: LaneSettings.from_env(name, lane) for name, lane in defaults_from_env.items()},
            claim_lease_s=_env_float("FEEDBACK_OPS_CLAIM_LEASE_S", defaults.claim_lease_s),
            urgent_trigger=trigger,
            urgent_poll_s=_env_float("FEEDBACK_OPS_URGENT_POLL_S", defaults.urgent_poll_s),
            service_bus_queue=os.environ.get("FEEDBACK_OPS_SERVICE_BUS_QUEUE") or defaults.service_bus_queue,
            service_bus_conn_id=os.environ.get("FEEDBACK_OPS_SERVICE_BUS_CONN_ID")
            or defaults.service_bus_conn_id,
            batch_poll_s=_env_float("FEEDBACK_OPS_BATCH_POLL_S", defaults.batch_poll_s),
            batch_max_wait_s=_env_float("FEEDBACK_OPS_BATCH_MAX_WAIT_S", defaults.batch_max_wait_s),
        )


RUNTIMES = ("local", "databricks")
"""``local``: DuckDB file, local loader (default); ``databricks``: Databricks SQL / Unity Catalog for the
warehouse, ``COPY INTO`` from an ADLS Gen2 landing container for bronze."""


@dataclass(frozen=True)
class DatabricksSettings:
    """The Databricks runtime (``runtime`` ``databricks``): where the warehouse is and where files land.

    Secrets never live here in files: the token comes from ``DATABRICKS_TOKEN`` or, inside Airflow, from the
    Databricks connection ``conn_id`` (``AIRFLOW_CONN_DATABRICKS_DEFAULT``); the landing container is read
    with the ADLS / WASB connection ``adls_conn_id``.

    Attributes:
        host / http_path / token: the SQL warehouse (``DATABRICKS_HOST``, ``DATABRICKS_HTTP_PATH``,
            ``DATABRICKS_TOKEN``); with no host or token the Airflow connection is used.
        catalog: the Unity Catalog catalog holding the ``bronze`` / ``silver`` / ``enrichment`` / ``gold`` /
            ``ops`` schemas (``DATABRICKS_CATALOG``, the same variable dbt's ``databricks`` target reads).
        conn_id: Airflow connection of the Databricks workspace (``FEEDBACK_OPS_DATABRICKS_CONN_ID``).
        adls_conn_id: Airflow connection of the landing storage account (``FEEDBACK_OPS_ADLS_CONN_ID``).
        landing_account / landing_container / landing_prefix: the ADLS Gen2 landing area
            (``FEEDBACK_OPS_ADLS_ACCOUNT``, ``FEEDBACK_OPS_ADLS_CONTAINER``, ``FEEDBACK_OPS_ADLS_PREFIX``).
        write_batch_rows: most rows in one parameterized write statement (the SQL warehouse also caps a
            statement at 256 parameters; the smaller limit wins).
    """

    host: str | None = None
    http_path: str | None = None
    token: str | None = field(default=None, repr=False)
    catalog: str = "feedback_ops"
    conn_id: str = "databricks_default"
    adls_conn_id: str = "feedback_ops_adls"
    landing_account: str = "replace-me"
    landing_container: str = "landing"
    landing_prefix: str = "feedback/"
    write_batch_rows: int = 200

    @property
    def landing_url(self) -> str:
        """The landing folder as an ``abfss://`` URL (what ``COPY INTO`` reads)."""
        prefix = self.landing_prefix.strip("/")
        base = f"abfss://{self.landing_container}@{self.landing_account}.dfs.core.windows.net"
        return f"{base}/{prefix}/" if prefix else f"{base}/"

    @classmethod
    def from_env(cls) -> DatabricksSettings:
        """Read ``DATABRICKS_*`` and ``FEEDBACK_OPS_DATABRICKS_*`` / ``FEEDBACK_OPS_ADLS_*`` variables."""
        defaults = cls()
        return cls(
            host=os.environ.get("DATABRICKS_HOST") or None,
            http_path=os.environ.get("DATABRICKS_HTTP_PATH") or None,
            token=os.environ.get("DATABRICKS_TOKEN") or None,
            catalog=os.environ.get("DATABRICKS_CATALOG") or defaults.catalog,
            conn_id=os.environ.get("FEEDBACK_OPS_DATABRICKS_CONN_ID") or defaults.conn_id,
            adls_conn_id=os.environ.get("FEEDBACK_OPS_ADLS_CONN_ID") or defaults.adls_conn_id,
            landing_account=os.environ.get("FEEDBACK_OPS_ADLS_ACCOUNT") or defaults.landing_account,
            landing_container=os.environ.get("FEEDBACK_OPS_ADLS_CONTAINER") or defaults.landing_container,
            landing_prefix=os.environ.get("FEEDBACK_OPS_ADLS_PREFIX") or defaults.landing_prefix,
            write_batch_rows=_env_int("FEEDBACK_OPS_DATABRICKS_WRITE_BATCH_ROWS", defaults.write_batch_rows),
        )


@dataclass(frozen=True)
class Settings:
    """Paths, runtime choices and thresholds for one process.

    Attributes:
        runtime: ``local`` (default) or ``databricks`` (RUNTIMES); picks the warehouse and the bronze
            ingestion.
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
        future_created_at_tolerance_hours: how far past its load (``ingested_at``) a record's ``created_at``
            may be before silver quarantines it as ``future_created_at`` (``FEEDBACK_OPS_FUTURE_TOLERANCE_HOURS``).
        enrichment_backend: ``local`` (default), ``azure_openai`` or ``openai_compatible`` (ENRICHMENT_BACKENDS).
        llm: the cloud language-model settings (``LanguageModelSettings``).
        embedding_backend: ``local`` (default), ``azure_openai`` or ``openai_compatible`` (EMBEDDING_BACKENDS).
        local_embedder: ``torch`` (default) or ``onnx-int8`` (LOCAL_EMBEDDERS): the runtime of the local
            MiniLM, for the embed stage and the local enrichment models alike.
        embedding: the cloud embeddings settings (``EmbeddingSettings``).
        search_backend: ``embedded`` (default) or ``azure_ai_search`` (SEARCH_BACKENDS).
        azure_search: the Azure AI Search settings (``AzureSearchSettings``).
        databricks: the Databricks workspace and ADLS landing settings (``DatabricksSettings``).
        retention_path: the retention policy per layer (``include/retention.yaml``).
        lanes: the lanes' cost controls, claim lease and urgent-lane trigger (``LanesSettings``).
        duckdb_memory_limit: the most memory each local DuckDB database (the warehouse, the embedded index)
            keeps in its buffer pool before evicting cached blocks and spilling to disk
            (``FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT``, default ``DUCKDB_MEMORY_LIMIT``).
        file_park_quarantine_share: a landing file with more than this share of its rows quarantined breaks its
            contract and is parked (``feedback_ops.ingest.parked_files``); the silver gate's ``quarantine_by_file``
            contract holds the same bound (``FEEDBACK_OPS_FILE_PARK_QUARANTINE_SHARE``, default 0.5).
        file_park_min_rows: a file is parked only when at least this many of its rows are quarantined: one or two
            bad records are evidence about those records, not about the file (a single-record drop of the urgent
            lane is quarantined, not parked) (``FEEDBACK_OPS_FILE_PARK_MIN_ROWS``, default 3).
        max_parked_file_share: the silver gate stops the run when more than this share of the latest load's files
            (and at least two of them) is parked: a systematic breakage (``FEEDBACK_OPS_MAX_PARKED_FILE_SHARE``,
            default 0.5).
        duckdb_threads: worker threads of each local DuckDB database (``FEEDBACK_OPS_DUCKDB_THREADS``; 0, the
            default, keeps DuckDB's own: one per core).
        max_text_chars: the most characters of a record's text enrichment reads (``FEEDBACK_OPS_MAX_TEXT_CHARS``,
            default 20,000): a longer text is cut, flagged ``text_truncated`` in ``enrichment_notes``, and the
            cut redacted text is what units, embeddings, the index and any model see; bronze and silver keep
            the whole text.
        max_units_per_message: the most analysis units of one message, the whole-message unit included
            (``FEEDBACK_OPS_MAX_UNITS_PER_MESSAGE``, default 64); repeated identical claims count once.
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
    fct_feedback_lookback_minutes: int = 60
    future_created_at_tolerance_hours: int = 24
    file_park_quarantine_share: float = 0.5
    file_park_min_rows: int = 3
    max_parked_file_share: float = 0.5
    enrichment_backend: str = "local"
    llm: LanguageModelSettings = field(default_factory=LanguageModelSettings)
    embedding_backend: str = "local"
    local_embedder: str = "torch"
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    search_backend: str = "embedded"
    azure_search: AzureSearchSettings = field(default_factory=AzureSearchSettings)
    databricks: DatabricksSettings = field(default_factory=DatabricksSettings)
    retention_path: Path = PROJECT_ROOT / "include" / "retention.yaml"
    lanes: LanesSettings = field(default_factory=LanesSettings)
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT
    duckdb_threads: int = 0
    max_text_chars: int = 20_000
    max_units_per_message: int = 64
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
            # dbt follows the runtime unless told otherwise
            dbt_target=os.environ.get("FEEDBACK_OPS_DBT_TARGET")
            or ("databricks" if os.environ.get("FEEDBACK_OPS_RUNTIME") == "databricks" else "local"),
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
            fct_feedback_lookback_minutes=int(
                os.environ.get("FEEDBACK_OPS_FCT_FEEDBACK_LOOKBACK_MINUTES", "60")
            ),
            future_created_at_tolerance_hours=_env_int("FEEDBACK_OPS_FUTURE_TOLERANCE_HOURS", 24),
            file_park_quarantine_share=_env_float("FEEDBACK_OPS_FILE_PARK_QUARANTINE_SHARE", 0.5),
            file_park_min_rows=_env_int("FEEDBACK_OPS_FILE_PARK_MIN_ROWS", 3),
            max_parked_file_share=_env_float("FEEDBACK_OPS_MAX_PARKED_FILE_SHARE", 0.5),
            enrichment_backend=os.environ.get("FEEDBACK_OPS_ENRICHMENT_BACKEND", "local"),
            llm=LanguageModelSettings.from_env(),
            embedding_backend=os.environ.get("FEEDBACK_OPS_EMBEDDING_BACKEND", "local"),
            local_embedder=os.environ.get("FEEDBACK_OPS_LOCAL_EMBEDDER", "torch"),
            embedding=EmbeddingSettings.from_env(),
            search_backend=os.environ.get("FEEDBACK_OPS_SEARCH_BACKEND", "embedded"),
            azure_search=AzureSearchSettings.from_env(),
            databricks=DatabricksSettings.from_env(),
            retention_path=_env_path("FEEDBACK_OPS_RETENTION", PROJECT_ROOT / "include" / "retention.yaml"),
            lanes=LanesSettings.from_env(),
            duckdb_memory_limit=duckdb_size(
                "FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT",
                os.environ.get("FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT,
            ),
            duckdb_threads=_env_int("FEEDBACK_OPS_DUCKDB_THREADS", 0),
            max_text_chars=_env_int("FEEDBACK_OPS_MAX_TEXT_CHARS", 20_000),
            max_units_per_message=_env_int("FEEDBACK_OPS_MAX_UNITS_PER_MESSAGE", 64),
        )

    def for_lane(self, name: str) -> Settings:
        """These settings with lane ``name``'s cost controls applied: its batch size, its budget as the run
        budget, and no degradation to the cheap deployment when the lane pays for the strong tier."""
        import dataclasses

        lane = self.lanes.lane(name)
        llm = dataclasses.replace(
            self.llm,
            run_budget_usd=lane.budget_usd,
            degrade_at_share=1.0 if lane.strong_tier_only else self.llm.degrade_at_share,
        )
        return dataclasses.replace(self, batch_size=lane.batch_size, llm=llm)

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
