"""Reports of an evaluation run: Markdown, self-contained HTML, JSON and per-record predictions.

Both the Markdown and the HTML render the same sections (``report_sections``): summary, headline figures,
the comparison with the baseline, per-category precision / recall / F1, confusion matrices (rows = gold,
columns = predicted), sentiment and urgency, figures per source data set and language, the urgent items the
backend missed and misclassified examples. The HTML has its style inline, loads nothing from the network and
escapes every text it shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback_ops.evaluation.golden import URGENT_LEVELS
from feedback_ops.evaluation.metrics import ClassScores, ConfusionMatrix, GroupScores
from feedback_ops.evaluation.types import EvaluationRun

TEXT_CHARS = 160
MAX_EXAMPLES = 40


@dataclass
class Table:
    """A table: header, rows of cells; ``heat`` marks a confusion matrix (numeric cells shaded in HTML)."""

    header: list[str]
    rows: list[list[str]]
    heat: bool = False


@dataclass
class Section:
    """A titled part of the report: paragraphs, then tables."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def _class_table(scores: Sequence[ClassScores]) -> Table:
    return Table(
        ["label", "precision", "recall", "F1", "support", "predicted"],
        [
            [s.label, _num(s.precision), _num(s.recall), _num(s.f1), str(s.support), str(s.predicted)]
            for s in scores
        ],
    )


def _confusion_table(matrix: ConfusionMatrix) -> Table:
    rows = [
        [f"{label} ({sum(counts)})", *map(str, counts)]
        for label, counts in zip(matrix.rows, matrix.counts, strict=True)
    ]
    return Table(["gold ↓ / predicted →", *matrix.columns], rows, heat=True)


def _group_table(groups: Sequence[GroupScores]) -> Table:
    return Table(
        ["group", "rows", "category accuracy", "category macro-F1", "sentiment macro-F1", "urgent recall"],
        [
            [
                g.group,
                str(g.rows),
                _num(g.category_accuracy),
                _num(g.category_macro_f1),
                _num(g.sentiment_macro_f1),
                _num(g.urgent_recall),
            ]
            for g in groups
        ],
    )


def _summary(run: EvaluationRun) -> Section:
    golden, metrics = run.golden, run.metrics
    rows = [
        ["golden set", f"version {golden.version}, {len(golden)} records, sha256 {golden.sha256[:16]}…"],
        ["backend", run.backend],
        *([name.replace("_", " "), value] for name, value in run.versions.items()),
        ["started (UTC)", run.started_at],
        ["model load", f"{run.load_seconds:.1f} s"],
        ["enrichment", f"{run.run_seconds:.1f} s for {len(golden)} records, batches of {run.batch_size}"],
        ["answered", f"{metrics.answered} of {metrics.rows} (the rest count as wrong)"],
    ]
    return Section("Run", [*run.notes], [Table(["", "value"], [list(r) for r in rows])])


def _headline(run: EvaluationRun) -> Section:
    m = run.metrics
    rows = [
        ["category accuracy", _num(m.category_accuracy)],
        ["category macro-F1", _num(m.category_macro_f1)],
        ["sentiment macro-F1", _num(m.sentiment_macro_f1)],
        ["urgent recall (gold high/critical predicted high/critical)", _num(m.urgency.recall)],
        [
            "urgent false-positive rate (gold low/medium predicted high/critical)",
            _num(m.urgency.false_positive_rate),
        ],
        ["urgent precision", _num(m.urgency.precision)],
        ["critical items flagged urgent", _num(m.urgency.critical_recall)],
        [
            "latency per record, median / p95 (ms)",
            f"{_num(m.latency_ms_median, 1)} / {_num(m.latency_ms_p95, 1)}",
        ],
        ["cost per 1,000 messages (USD)", f"{m.cost_per_1000_usd:.4f}"],
        ["PII leaks (rows with PII left after redaction)", f"{m.pii_leaks} of {m.pii_rows}"],
    ]
    note = (
        "Latency per record is what the backend stamps on each result: the local backend's batch wall time "
        "divided by the batch size, a cloud backend's call time."
    )
    return Section("Headline", [note], [Table(["figure", "value"], rows)])


def _baseline(run: EvaluationRun) -> Section:
    if run.comparison is None:
        return Section(
            "Against the baseline",
            [
                "Not compared: no comparable baseline (the notes under Run say why; `--update-baseline` writes one)."
            ],
        )
    verdict = (
        "PASSED: nothing moved the wrong way beyond its tolerance."
        if run.comparison.passed
        else (
            "FAILED: "
            + ", ".join(c.metric for c in run.comparison.regressions)
            + " moved the wrong way beyond tolerance."
        )
    )
    table = Table(list(run.comparison.HEADER), run.comparison.rows(moved_only=False))
    return Section("Against the baseline", [f"Baseline: {run.baseline_file}.", verdict], [table])


def _misses(run: EvaluationRun) -> Section:
    predictions = run.predictions
    missed = [r for r in run.golden.records if r.urgent and predictions[r.id].urgency not in URGENT_LEVELS]
    rows = [
        [
            r.id,
            r.channel,
            r.category,
            r.urgency,
            predictions[r.id].category,
            predictions[r.id].urgency,
            _short(r.text),
        ]
        for r in missed[:MAX_EXAMPLES]
    ]
    note = f"{len(missed)} urgent items predicted low or medium" + (
        f" (first {MAX_EXAMPLES} shown)." if len(missed) > MAX_EXAMPLES else "."
    )
    return Section(
        "Urgent items missed",
        [note],
        [
            Table(
                [
                    "id",
                    "channel",
                    "gold category",
                    "gold urgency",
                    "predicted category",
                    "predicted urgency",
                    "text",
                ],
                rows,
            )
        ],
    )


def _errors(run: EvaluationRun) -> Section:
    predictions = run.predictions
    wrong = [r for r in run.golden.records if predictions[r.id].category != r.category]
    wrong.sort(key=lambda r: (r.category, r.id))
    rows = [
        [
            r.id,
            r.category,
            predictions[r.id].category,
            r.sentiment,
            predictions[r.id].sentiment,
            _short(r.text),
        ]
        for r in wrong[:MAX_EXAMPLES]
    ]
    leaks = (
        [f"PII survived redaction in: {', '.join(run.metrics.pii_leaked_ids)}."]
        if run.metrics.pii_leaked_ids
        else []
    )
    note = f"{len(wrong)} records with the wrong category" + (
        f" (first {MAX_EXAMPLES} by gold category)." if len(wrong) > MAX_EXAMPLES else "."
    )
    return Section(
        "Misclassified examples",
        [note, *leaks],
        [Table(["id", "gold category", "predicted", "gold sentiment", "predicted sentiment", "text"], rows)],
    )


def report_sections(run: EvaluationRun) -> list[Section]:
    """Every section of the report, in order (rendered by both the Markdown and the HTML writer)."""
    m = run.metrics
    return [
        _summary(run),
        _headline(run),
        _baseline(run),
        Section("Category: precision, recall, F1", [], [_class_table(m.category)]),
        Section(
            "Category confusion matrix",
            ["Rows are the gold labels (with their count), columns the predictions."],
            [_confusion_table(m.category_confusion)],
        ),
        Section(
            "Sentiment",
            [f"macro-F1 {_num(m.sentiment_macro_f1)}, accuracy {_num(m.sentiment_accuracy)}."],
            [_class_table(m.sentiment), _confusion_table(m.sentiment_confusion)],
        ),
        Section(
            "Urgency",
            [f"exact-level accuracy {_num(m.urgency_accuracy)}; urgent = high or critical."],
            [_confusion_table(m.urgency_confusion)],
        ),
        Section(
            "By source and language",
            [
                "UCI sentences are the local sentiment model's training data: its sentiment figures on them are optimistic."
            ],
            [_group_table(m.by_source), _group_table(m.by_language)],
        ),
        _misses(run),
        _errors(run),
    ]


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def render_markdown(sections: Sequence[Section], title: str) -> str:
    """The sections as Markdown (pipes in cells escaped)."""
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            lines.append("| " + " | ".join(_md_cell(h) for h in table.header) + " |")
            lines.append("|" + "---|" * len(table.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2433;max-width:75rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dde6;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #d8dde6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}td.diag{outline:2px solid #2f6f3e}
"""


def _html_cell(value: str, table: Table, row: int, column: int, peak: int) -> str:
    text = html.escape(value, quote=True)
    if not (table.heat and column > 0 and value.isdigit()):
        return f"<td>{text}</td>"
    count = int(value)
    shade = round(255 - 150 * count / peak) if peak else 255
    diagonal = " diag" if table.header[column] == table.rows[row][0].rsplit(" (", 1)[0] else ""
    return f'<td class="n{diagonal}" style="background:rgb({shade},{shade},255)">{text}</td>'


def _html_table(table: Table) -> str:
    peak = max((int(c) for r in table.rows for c in r[1:] if c.isdigit()), default=0) if table.heat else 0
    head = "".join(f"<th>{html.escape(h, quote=True)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(_html_cell(c, table, i, j, peak) for j, c in enumerate(row)) + "</tr>"
        for i, row in enumerate(table.rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(sections: Sequence[Section], title: str) -> str:
    """The sections as one self-contained HTML page: inline style, no scripts, every text escaped."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        parts += [_html_table(t) for t in section.tables]
    parts.append("</body></html>")
    return "\n".join(parts)


def report_document(run: EvaluationRun) -> dict[str, Any]:
    """The JSON report: run metadata, every metric, the comparison with the baseline."""
    return {
        "golden": {
            "version": run.golden.version,
            "file": run.golden.path.name,
            "sha256": run.golden.sha256,
            "rows": len(run.golden),
        },
        "backend": run.backend,
        "versions": run.versions,
        "started_at": run.started_at,
        "load_seconds": run.load_seconds,
        "run_seconds": run.run_seconds,
        "batch_size": run.batch_size,
        "headline": run.metrics.headline(),
        "metrics": run.metrics.as_dict(),
        "baseline_file": run.baseline_file,
        "comparison": run.comparison.as_dict() if run.comparison else None,
        "notes": run.notes,
    }


def _prediction_lines(run: EvaluationRun) -> str:
    lines = []
    for record in run.golden.records:
        p = run.predictions[record.id]
        lines.append(
            json.dumps(
                {
                    "id": record.id,
                    "status": p.status,
                    "gold": {
                        "category": record.category,
                        "sentiment": record.sentiment,
                        "urgency": record.urgency,
                    },
                    "predicted": {"category": p.category, "sentiment": p.sentiment, "urgency": p.urgency},
                    "confidence": p.confidence,
                    "needs_review": p.needs_review,
                    "language": p.language,
                    "latency_ms": p.latency_ms,
                    "cost_usd": p.cost_usd,
                    "redacted_text": p.redacted_text,
                },
                ensure_ascii=False,
            )
        )
    return "\n".join(lines) + "\n"


def write_reports(run: EvaluationRun, out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``report.json`` and ``predictions.jsonl`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"Golden set v{run.golden.version}: backend {run.backend}"
    sections = report_sections(run)
    files = {
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
        "json": out_dir / "report.json",
        "predictions": out_dir / "predictions.jsonl",
    }
    files["markdown"].write_text(render_markdown(sections, title), encoding="utf-8")
    files["html"].write_text(render_html(sections, title), encoding="utf-8")
    files["json"].write_text(
        json.dumps(report_document(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    files["predictions"].write_text(_prediction_lines(run), encoding="utf-8")
    return files
