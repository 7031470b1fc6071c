"""Evaluation: run any enrichment backend on the frozen golden set and measure it against human labels.

Modules: ``golden`` (the versioned golden set and its sha256-checked loader), ``metrics`` (per-category
precision / recall / F1, sentiment macro-F1, urgent recall and false-positive rate, latency, cost), ``runner``
(runs a backend over the golden set: what ``feedback-ops eval`` and the ``prompt_evaluation`` DAG call),
``baseline`` (the committed figures of a backend and the regression gate) and ``reports`` (Markdown, HTML and
JSON). Importing this package loads nothing heavy.
"""
