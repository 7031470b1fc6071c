"""Enrichment (stage 4): PII redaction, language, sentiment, category, urgency, confidence, versions.

Modules: ``redact`` (PII), ``language``, ``taxonomy``, ``prompts``, ``schemas`` (pydantic records),
``sentiment`` / ``category`` / ``urgency`` (the local models and rules), ``local`` (``LocalEnricher``, the
local backend) and ``train`` (``python -m feedback_ops.enrich.train``). Import from the modules: importing
this package loads nothing heavy.
"""
