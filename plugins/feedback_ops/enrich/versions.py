"""The versions the configured enrichment backends stamp on their rows, resolved without building a backend.

An enrichment row is keyed by (``feedback_id``, ``enrichment_version``) and an insight row also by
``rich_version``: the gates, the index sync, emerging themes, dbt's gold vars and alert payloads all select
rows by them. ``current_enrichment_version`` computes the configured backend's version from the settings and
the files they name (taxonomy, prompts, redaction config, training data) with the formulas the backends'
own ``enrichment_version`` properties call (``schemas.enrichment_version_of``, ``local.local_model_version``,
``azure_openai.cloud_model_version``): no client, price table or output schema is built and no model is
loaded. ``tests/test_enrichment_versions.py`` holds it equal to what each built backend stamps.
"""

from __future__ import annotations

from feedback_ops.config import Settings, enrichment_backend_name


def current_enrichment_version(settings: Settings, backend: str | None = None) -> str:
    """The enrichment version ``backend`` (default: ``settings.enrichment_backend``) stamps on its outputs.

    Raises:
        ValueError: an unknown backend name.
    """
    name = enrichment_backend_name(settings, backend)
    if name == "local":
        return _local_enrichment_version(settings)
    return _cloud_enrichment_version(settings, name)


def current_rich_version(settings: Settings) -> str:
    """The rich pass's version (routing rules and the rich pass's own rules)."""
    from feedback_ops.enrich.rich import LocalRichEnricher

    return LocalRichEnricher(settings).rich_version


def current_versions(settings: Settings) -> dict[str, str]:
    """``enrichment_version`` and ``rich_version`` of the configured backends: what alerts carry."""
    return {
        "enrichment_version": current_enrichment_version(settings),
        "rich_version": current_rich_version(settings),
    }


def _local_enrichment_version(settings: Settings) -> str:
    """``LocalEnricher(settings).enrichment_version``: the configured local embedder's version, the training
    fingerprints, the redaction config of ``settings``, the prompt set and the taxonomy."""
    from feedback_ops.embed.factory import make_local_embedder
    from feedback_ops.enrich import category, sentiment
    from feedback_ops.enrich.local import local_model_version
    from feedback_ops.enrich.prompts import prompt_version
    from feedback_ops.enrich.redact import Redactor, load_redaction_config
    from feedback_ops.enrich.schemas import enrichment_version_of
    from feedback_ops.enrich.taxonomy import load_taxonomy

    embedder_version = make_local_embedder(settings).version  # loads no model
    redactor_version = Redactor(None, load_redaction_config(settings.redaction_config_path)).version
    taxonomy = load_taxonomy(settings.taxonomy_path)
    model_version = local_model_version(
        embedder_version,
        sentiment.training_fingerprint(settings.training_dir, embedder_version),
        category.training_fingerprint(settings.training_dir, taxonomy, embedder_version, redactor_version),
        redactor_version,
        settings.max_text_chars,
    )
    return enrichment_version_of(model_version, prompt_version(settings.prompts_dir), taxonomy.version)


def _cloud_enrichment_version(settings: Settings, backend: str) -> str:
    """``AzureOpenAIEnricher(settings, backend=backend).enrichment_version``: backend, deployments, API version,
    the default redaction patterns, the classify prompt and the taxonomy."""
    from feedback_ops.enrich.azure_openai import CLASSIFY_TASK, cloud_model_version, cloud_prompt_version
    from feedback_ops.enrich.prompts import load_prompts
    from feedback_ops.enrich.redact import Redactor
    from feedback_ops.enrich.schemas import enrichment_version_of
    from feedback_ops.enrich.taxonomy import load_taxonomy

    model_version = cloud_model_version(backend, settings.llm, Redactor().version, settings.max_text_chars)
    prompt = cloud_prompt_version(load_prompts(settings.prompts_dir)[CLASSIFY_TASK].version)
    return enrichment_version_of(model_version, prompt, load_taxonomy(settings.taxonomy_path).version)
