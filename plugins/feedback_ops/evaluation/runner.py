"""Run an enrichment backend over the golden set, measure it, compare it with its baseline, write reports.

``evaluate_golden`` is what ``feedback-ops eval`` and the ``prompt_evaluation`` DAG call: it builds the
configured backend (``feedback_ops.enrich.backends.make_enricher``), enriches every golden record in batches,
computes the metrics, compares them with ``include/golden/baseline_<backend>.json`` when it exists, writes
Markdown, HTML and JSON reports under ``.local/evaluation/<golden version>-<backend>-<UTC time>/`` and
returns a small JSON-serialisable summary. ``evaluate`` does the measuring for any enricher object.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.enrich.backends import Enricher
from feedback_ops.evaluation.baseline import (
    BaselineMismatchError,
    Comparison,
    RegressionError,
    baseline_path,
    compare,
    load_baseline,
    make_baseline,
    write_baseline,
)
from feedback_ops.evaluation.golden import GOLDEN_DIR, GoldenRecord, GoldenSet, load_golden
from feedback_ops.evaluation.metrics import Prediction, compute_metrics
from feedback_ops.evaluation.types import EvaluationRun

DEFAULT_BATCH_SIZE = 64
"""Records per backend call. Small enough that the local backend's per-record latency (batch time / size)
varies with what is in the batch; large enough to keep the golden run to seconds."""
VERSION_ATTRIBUTES = ("model_version", "prompt_version", "taxonomy_version", "enrichment_version")


def feedback_items(records: Sequence[GoldenRecord]) -> list[Any]:
    """The golden records as the enrichment input (``FeedbackItem``): id, text, channel and locale only."""
    from feedback_ops.enrich.schemas import FeedbackItem

    return [
        FeedbackItem(
            feedback_id=record.id,
            text_hash=hashlib.sha256(record.text.encode()).hexdigest(),
            text=record.text,
            channel=record.channel,
            locale=record.locale,
        )
        for record in records
    ]


def _prediction(result: Any) -> Prediction:
    return Prediction(
        id=result.feedback_id,
        category=result.category,
        sentiment=result.sentiment_label,
        urgency=result.urgency,
        latency_ms=float(result.latency_ms),
        cost_usd=float(result.cost_usd),
        redacted_text=result.redacted_text,
        language=result.language,
        confidence=float(result.confidence),
        needs_review=bool(result.needs_review),
    )


def predict(
    enricher: Enricher, records: Sequence[GoldenRecord], batch_size: int
) -> tuple[dict[str, Prediction], float]:
    """Enrich every record in batches; one prediction per record id, and what the run spent (USD).

    Items the backend quarantined or deferred get ``Prediction.missing`` and so count as wrong.
    """
    from feedback_ops.enrich.backends import begin_run, run_batch

    begin_run(enricher)
    items = feedback_items(records)
    predictions: dict[str, Prediction] = {}
    spent = 0.0
    for start in range(0, len(items), batch_size):
        batch = run_batch(enricher, items[start : start + batch_size])
        spent += batch.spent_usd
        predictions.update((r.feedback_id, _prediction(r)) for r in batch.results)
        predictions.update(
            (q.feedback_id, Prediction.missing(q.feedback_id, "quarantined")) for q in batch.quarantined
        )
        predictions.update(
            (d.feedback_id, Prediction.missing(d.feedback_id, "deferred")) for d in batch.deferred
        )
    for record in records:
        predictions.setdefault(record.id, Prediction.missing(record.id, "not returned"))
    return predictions, spent


def evaluate(
    enricher: Enricher,
    golden: GoldenSet,
    categories: Sequence[str],
    *,
    backend: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> EvaluationRun:
    """Measure ``enricher`` on ``golden``: models loaded first (timed apart), then every record enriched.

    Args:
        enricher: any enrichment backend (``enrich(items)``; ``run_batch`` also uses ``enrich_batch`` /
            ``enrich_with_embeddings`` when the backend has them).
        golden: the loaded golden set.
        categories: the taxonomy's category ids in display order.
        backend: the backend's name, for the reports.
        batch_size: records per backend call.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    load = getattr(enricher, "load", None)  # a backend with models to load first (the local one)
    if callable(load):
        load()
    load_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    predictions, spent = predict(enricher, golden.records, batch_size)
    run_seconds = time.perf_counter() - clock
    versions = {name: str(getattr(enricher, name)) for name in VERSION_ATTRIBUTES if hasattr(enricher, name)}
    return EvaluationRun(
        golden=golden,
        backend=backend,
        versions=versions,
        predictions=predictions,
        metrics=compute_metrics(golden.records, predictions, categories, spent_usd=spent),
        started_at=started_at,
        load_seconds=round(load_seconds, 3),
        run_seconds=round(run_seconds, 3),
        batch_size=batch_size,
    )


def default_out_dir(settings: Settings, golden: GoldenSet, backend: str) -> Path:
    """``.local/evaluation/golden-v<version>-<backend>-<UTC timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.local_dir / "evaluation" / f"golden-v{golden.version}-{backend}-{stamp}"


def compare_with_baseline(run: EvaluationRun, path: Path, *, replacing: bool = False) -> Comparison | None:
    """Attach the comparison with the baseline at ``path`` to ``run`` (None when there is no baseline).

    Args:
        replacing: the baseline is about to be rewritten, so one computed on another golden set is noted
            instead of refused.

    Raises:
        BaselineMismatchError: the baseline belongs to another golden set and is not being replaced.
    """
    baseline = load_baseline(path)
    if baseline is None:
        run.notes.append(f"no baseline at {path}: nothing to compare with")
        return None
    try:
        run.comparison = compare(baseline, run.metrics.headline(), golden_sha256=run.golden.sha256)
    except BaselineMismatchError as error:
        if not replacing:
            raise
        run.notes.append(f"old baseline not comparable: {error}")
        return None
    run.baseline_file = str(path)
    return run.comparison


def update_baseline(run: EvaluationRun, path: Path) -> Path:
    """Rewrite the baseline at ``path`` with this run's figures (tolerances of the old file are kept)."""
    document = make_baseline(
        run.metrics.headline(),
        golden_version=run.golden.version,
        golden_sha256=run.golden.sha256,
        backend=run.backend,
        versions=run.versions,
    )
    return write_baseline(path, document)


def evaluate_golden(
    settings: Settings | None = None,
    *,
    backend: str | None = None,
    golden_dir: Path = GOLDEN_DIR,
    out_dir: Path | None = None,
    baseline: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    update: bool = False,
) -> dict[str, Any]:
    """Evaluate a backend on the golden set, compare with its baseline, write the reports; return a summary.

    Args:
        settings: process settings when None.
        backend: ``local``, ``azure_openai`` or ``openai_compatible`` (the settings' backend when None).
        golden_dir: folder of the golden set and its manifest.
        out_dir: where the reports go (``default_out_dir`` when None).
        baseline: the baseline file (``include/golden/baseline_<backend>.json`` when None).
        batch_size: records per backend call.
        update: rewrite the baseline with this run's figures (after comparing with the old one).

    Returns:
        golden version, backend, output folder and report files, headline figures, whether the run passed
        the gate (None without a baseline) and what regressed.
    """
    from feedback_ops.enrich.backends import make_enricher
    from feedback_ops.enrich.taxonomy import load_taxonomy
    from feedback_ops.evaluation.reports import write_reports

    settings = settings or get_settings()
    backend = backend or settings.enrichment_backend
    categories = [category.id for category in load_taxonomy(settings.taxonomy_path).categories]
    golden = load_golden(golden_dir, categories=categories)
    run = evaluate(
        make_enricher(settings, backend), golden, categories, backend=backend, batch_size=batch_size
    )
    path = baseline or baseline_path(backend, golden_dir)
    comparison = compare_with_baseline(run, path, replacing=update)
    if update:
        update_baseline(run, path)
        run.notes.append(f"baseline rewritten: {path}")
    out_dir = out_dir or default_out_dir(settings, golden, backend)
    files = write_reports(run, out_dir)
    return {
        "golden_version": golden.version,
        "backend": backend,
        "rows": len(golden),
        "out_dir": str(out_dir),
        "reports": {name: str(file) for name, file in files.items()},
        "headline": run.metrics.headline(),
        "latency_ms_median": run.metrics.latency_ms_median,
        "latency_ms_p95": run.metrics.latency_ms_p95,
        "cost_per_1000_usd": run.metrics.cost_per_1000_usd,
        "run_seconds": run.run_seconds,
        "baseline": str(path),
        "baseline_updated": update,
        "passed": comparison.passed if comparison else None,
        "regressions": [change.metric for change in comparison.regressions] if comparison else [],
        "comparison_table": comparison.table() if comparison else None,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """An ``evaluate_golden`` summary as the text ``feedback-ops eval`` prints."""
    headline = summary["headline"]
    lines = [
        f"golden set v{summary['golden_version']}: {summary['rows']} records, backend {summary['backend']}"
    ]
    for name in ("category_macro_f1", "sentiment_macro_f1", "urgent_recall", "urgent_false_positive_rate"):
        lines.append(f"  {name:28s} {headline[name]:.4f}")
    lines.append("  category F1: " + ", ".join(f"{k} {v:.3f}" for k, v in headline["category_f1"].items()))
    lines.append(
        f"  latency per record: median {summary['latency_ms_median']} ms, p95 {summary['latency_ms_p95']} ms; "
        f"cost per 1,000 messages {summary['cost_per_1000_usd']:.4f} USD; PII leaks {headline['pii_leaks']}"
    )
    if summary["comparison_table"]:
        verdict = "passed" if summary["passed"] else "REGRESSED in " + ", ".join(summary["regressions"])
        lines += ["", f"against {summary['baseline']}: {verdict}", summary["comparison_table"]]
    if summary["baseline_updated"]:
        lines += ["", f"baseline rewritten: {summary['baseline']}"]
    lines += ["", f"reports: {summary['out_dir']}"]
    return "\n".join(lines)


def check_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Fail (``RegressionError``) when an ``evaluate_golden`` summary says a figure regressed.

    A run without a baseline or that rewrote its baseline passes: there is nothing to hold it to.
    """
    if summary.get("passed") is False and not summary.get("baseline_updated"):
        raise RegressionError(
            summary["regressions"],
            f"{summary['comparison_table']}\n\nreports: {summary['out_dir']}",
            context=f" (backend {summary['backend']})",
        )
    return {"passed": summary.get("passed"), "out_dir": summary.get("out_dir")}


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "RegressionError",
    "check_summary",
    "evaluate",
    "evaluate_golden",
    "format_summary",
]
