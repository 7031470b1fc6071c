"""Enrichment (stage 4): PII redaction, language, sentiment, category, urgency, confidence, versions.

Modules: ``redact`` (PII; person names in ``person_names``), ``language``, ``taxonomy``, ``prompts``,
``schemas`` (pydantic records), ``sentiment`` / ``category`` / ``urgency`` (the local models and rules), ``local`` (``LocalEnricher``, the
local backend), ``train`` (``python -m feedback_ops.enrich.train``), ``azure_openai`` (``AzureOpenAIEnricher``,
the Azure OpenAI / OpenAI-compatible backend, with ``budget``, ``throttle`` and ``outcomes``), ``backends``
(``make_enricher``: the configured backend), ``runner`` and ``estimate``. Import from the modules: importing
this package loads nothing heavy.
"""
