"""The golden set, the evaluation metrics, the reports and ``feedback-ops eval``, without real models.

Metrics are checked against figures worked out by hand; the golden set against its manifest, its guideline's
promises and its licences; the command end to end with a fake backend that answers from the gold labels.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from feedback_ops.cli import build_parser, main
from feedback_ops.config import PROJECT_ROOT, Settings
from feedback_ops.enrich.taxonomy import load_taxonomy
from feedback_ops.evaluation.golden import (
    GOLDEN_DIR,
    GoldenRecord,
    GoldenSet,
    GoldenSetError,
    leaked_pii,
    load_golden,
    manifest_figures,
    read_manifest,
)
from feedback_ops.evaluation.metrics import (
    NO_OUTPUT,
    Prediction,
    class_scores,
    compute_metrics,
    confusion_matrix,
    macro_f1,
    percentile,
    urgency_scores,
)
from feedback_ops.evaluation.reports import write_reports
from feedback_ops.evaluation.runner import evaluate
from feedback_ops.evaluation.types import EvaluationRun

TAXONOMY = load_taxonomy(Settings().taxonomy_path)
CATEGORIES = [category.id for category in TAXONOMY.categories]
PERMITTED_SOURCES = {
    "cfpb-consumer-complaints",
    "bitext-customer-support",
    "banking77",
    "uci-sentiment-labelled-sentences",
    "project",
}


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden(categories=CATEGORIES)


# ---------------------------------------------------------------------------------------------- metrics


def test_class_scores_match_a_hand_count() -> None:
    gold = ["bug", "bug", "bug", "billing", "billing", "other"]
    predicted = ["bug", "bug", "billing", "billing", "bug", "bug"]
    scores = {s.label: s for s in class_scores(gold, predicted, ["bug", "billing", "other", "praise"])}
    # bug: tp 2, predicted 4, support 3 -> precision 0.5, recall 0.6667, F1 0.5714
    assert (scores["bug"].precision, scores["bug"].recall, scores["bug"].f1) == (0.5, 0.6667, 0.5714)
    assert (scores["bug"].support, scores["bug"].predicted) == (3, 4)
    # billing: tp 1, predicted 2, support 2 -> 0.5 / 0.5 / 0.5; other never predicted -> 0
    assert (scores["billing"].precision, scores["billing"].recall, scores["billing"].f1) == (0.5, 0.5, 0.5)
    assert (scores["other"].precision, scores["other"].f1) == (0.0, 0.0)
    # macro-F1 over the labels with support (praise has none): (0.5714 + 0.5 + 0) / 3
    assert macro_f1(list(scores.values())) == 0.3571


def test_urgency_scores_count_high_and_critical_as_urgent() -> None:
    gold = ["critical", "high", "high", "medium", "low", "low", "medium"]
    predicted = ["high", "medium", "critical", "high", "low", "medium", "medium"]
    scores = urgency_scores(gold, predicted)
    assert scores.recall == 0.6667  # 2 of 3 urgent caught (critical->high counts)
    assert scores.false_positive_rate == 0.25  # 1 of 4 non-urgent flagged
    assert scores.precision == 0.6667
    assert scores.critical_recall == 1.0
    assert (scores.urgent_gold, scores.urgent_predicted) == (3, 3)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile([], 0.5) is None


def test_confusion_matrix_rows_are_gold_and_missing_answers_get_a_column() -> None:
    matrix = confusion_matrix(["bug", "bug", "billing"], ["bug", NO_OUTPUT, "bug"], ["bug", "billing"])
    assert matrix.rows == ("bug", "billing")
    assert matrix.columns == ("bug", "billing", NO_OUTPUT)
    assert matrix.counts == ((1, 0, 1), (1, 0, 0))


def _record(number: int, **fields: Any) -> GoldenRecord:
    values = {
        "id": f"g9-{number:04d}",
        "channel": "chat",
        "locale": "en",
        "text": f"text {number}",
        "category": "bug",
        "sentiment": "negative",
        "urgency": "high",
        "source_dataset": "project",
        "source_ref": f"test#{number}",
        "label_source": "written",
    }
    return GoldenRecord(**{**values, **fields})


def test_compute_metrics_counts_missing_answers_as_wrong_and_finds_pii_leaks() -> None:
    records = [
        _record(
            1, text="card 4111 1111 1111 1111 charged twice", category="billing", pii=("4111 1111 1111 1111",)
        ),
        _record(2, text="mail me at ann@example.com", pii=("ann@example.com",)),
        _record(3),
    ]
    predictions = {
        "g9-0001": Prediction(
            "g9-0001", "billing", "negative", "high", 10.0, 0.002, "card [CARD]-1111 charged twice"
        ),
        "g9-0002": Prediction("g9-0002", "bug", "negative", "low", 30.0, 0.001, "mail me at [EMAIL]"),
        "g9-0003": Prediction.missing("g9-0003", "quarantined"),
    }
    metrics = compute_metrics(records, predictions, CATEGORIES)
    assert metrics.answered == 2
    assert metrics.category_accuracy == 0.6667
    assert metrics.urgency.recall == 0.3333
    assert (metrics.pii_rows, metrics.pii_leaks, metrics.pii_leaked_ids) == (2, 1, ["g9-0001"])
    assert metrics.cost_per_1000_usd == 1.0  # 0.003 USD over 3 messages
    assert (metrics.latency_ms_median, metrics.latency_ms_p95) == (10.0, 30.0)
    assert NO_OUTPUT in metrics.category_confusion.columns


def test_pii_leak_detection_catches_partial_redaction() -> None:
    record = _record(
        1, text="call +44 7700 900123 or j.doe@example.org", pii=("+44 7700 900123", "j.doe@example.org")
    )
    assert leaked_pii(record, "call [PHONE] or [EMAIL]") == []
    assert leaked_pii(record, "call +44 [PHONE] or j.doe@[EMAIL]") == ["j.doe@example.org"]
    assert leaked_pii(record, "call [PHONE]900123 or [EMAIL]") == ["+44 7700 900123"]
    named = _record(2, text="invoice from Ms. Hawkings", pii=("Ms. Hawkings",))
    assert leaked_pii(named, "invoice from [PERSON]") == []
    assert leaked_pii(named, "invoice from Ms. [PERSON] Hawkings") == ["Ms. Hawkings"]


# ---------------------------------------------------------------------------------------------- golden set


def test_golden_set_matches_its_manifest(golden: GoldenSet) -> None:
    manifest = read_manifest()
    figures = manifest_figures(golden.path, golden.records)
    assert {key: manifest[key] for key in figures} == figures
    assert manifest["version"] == golden.version == "1"
    assert {entry["source_dataset"] for entry in manifest["provenance"]} == PERMITTED_SOURCES


def test_an_edited_golden_file_is_refused(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN_DIR, tmp_path / "golden")
    path = tmp_path / "golden" / read_manifest()["file"]
    path.write_text(
        path.read_text(encoding="utf-8").replace('"urgency": "low"', '"urgency": "high"', 1), encoding="utf-8"
    )
    with pytest.raises(GoldenSetError, match="frozen"):
        load_golden(tmp_path / "golden")


def test_golden_records_break_no_rule_of_the_guideline(golden: GoldenSet) -> None:
    records = golden.records
    counts = read_manifest()["counts"]
    assert len(records) >= 400
    assert set(counts["category"]) == set(CATEGORIES), "every taxonomy category has gold examples"
    for critical in ("bug", "billing", "account_access"):
        assert counts["category"][critical] >= 40, (
            f"{critical} needs 40+ examples for its recall to mean something"
        )
    assert set(counts["source_dataset"]) <= PERMITTED_SOURCES, "evaluation-only data sets may not ship"
    assert (
        len(counts["channel"]) >= 6 and sum(n for lang, n in counts["language"].items() if lang != "en") >= 20
    )
    assert all(value in record.text for record in records for value in record.pii)
    assert sum(bool(record.pii) for record in records) >= 8
    assert len({record.text for record in records}) == len(records)
    assert all(
        re.fullmatch(
            r"(mapping:(reviewed|corrected:[a-z,]+)|manual|dataset-sentiment:reviewed|written)",
            r.label_source,
        )
        for r in records
    )


def test_golden_texts_are_not_training_data(golden: GoldenSet) -> None:
    """Nothing a local model learns from may be in the golden set; the one known exception is documented:
    the UCI sentences, every one of which the local sentiment model is trained on (include/golden/README.md)."""
    examples = {example for category in TAXONOMY.categories for example in category.examples}
    assert not examples & {record.text for record in golden.records}
    training = " ".join(
        path.read_text(encoding="utf-8", errors="ignore")
        for path in (PROJECT_ROOT / "include" / "training").rglob("*")
        if path.is_file()
    )
    in_training = {r.source_dataset for r in golden.records if r.text in training}
    assert in_training <= {"uci-sentiment-labelled-sentences"}


# ---------------------------------------------------------------------------------------------- reports + CLI


class OracleEnricher:
    """A fake backend answering from the gold labels; ``spoil`` maps a gold category to a wrong answer."""

    model_version = "oracle-1"

    def __init__(
        self, golden: GoldenSet, spoil: dict[str, str] | None = None, extra: tuple[GoldenRecord, ...] = ()
    ) -> None:
        self.gold = {record.id: record for record in (*golden.records, *extra)}
        self.spoil = spoil or {}

    def enrich(self, items: list[Any]) -> list[SimpleNamespace]:
        answers = []
        for item in items:
            gold = self.gold[item.feedback_id]
            answers.append(
                SimpleNamespace(
                    feedback_id=item.feedback_id,
                    category=self.spoil.get(gold.category, gold.category),
                    sentiment_label=gold.sentiment,
                    urgency=gold.urgency,
                    latency_ms=float(len(item.text) % 50),
                    cost_usd=0.0001,
                    redacted_text=item.text.replace("<", "&lt;"),
                    language="en",
                    confidence=0.9,
                    needs_review=False,
                )
            )
        return answers


def test_reports_are_self_contained_and_escape_text(golden: GoldenSet, tmp_path: Path) -> None:
    hostile = _record(1, text='<script>alert("x")</script> & <img src=http://evil.example/x.png>')
    small = GoldenSet(version="9", path=golden.path, sha256="f" * 64, records=(hostile, *golden.records[:20]))
    oracle = OracleEnricher(golden, spoil={"bug": "billing"}, extra=(hostile,))
    run = evaluate(oracle, small, CATEGORIES, backend="fake")
    files = write_reports(run, tmp_path)
    page = files["html"].read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page, "no scripts, no external style sheets"
    assert not re.search(r"<[^>]*\b(src|href)\s*=", page), "nothing is loaded from anywhere"
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=http://evil.example" in page
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert "| gold ↓ / predicted → | bug | feature_request |" in markdown
    assert "| bug (1) | 0 | 0 | 1 |" in markdown  # the hostile bug row was answered billing
    report = json.loads(files["json"].read_text(encoding="utf-8"))
    assert report["headline"]["category_f1"]["bug"] == 0.0
    assert len(files["predictions"].read_text(encoding="utf-8").splitlines()) == len(small)


def test_eval_subcommand_parses_without_disturbing_the_others() -> None:
    parser = build_parser()
    args = parser.parse_args(["eval", "--backend", "local", "--out", "x", "--update-baseline"])
    assert (args.command, args.backend, args.out, args.update_baseline, args.check) == (
        "eval",
        "local",
        "x",
        True,
        False,
    )
    assert parser.parse_args(["run", "--stage", "enrich"]).stage == "enrich"
    assert parser.parse_args(["search", "checkout"]).query == "checkout"


def test_eval_command_writes_reports_updates_the_baseline_and_fails_a_regression(
    golden: GoldenSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import feedback_ops.enrich.backends as backends

    baseline = tmp_path / "baseline_local.json"
    monkeypatch.setattr(backends, "make_enricher", lambda settings, backend=None: OracleEnricher(golden))
    assert (
        main(
            [
                "eval",
                "--backend",
                "local",
                "--out",
                str(tmp_path / "first"),
                "--baseline",
                str(baseline),
                "--update-baseline",
            ]
        )
        == 0
    )
    written = json.loads(baseline.read_text(encoding="utf-8"))
    assert written["metrics"]["category_f1"]["bug"] == 1.0 and written["golden_sha256"] == golden.sha256
    assert written["tolerances"]["category_f1"] == 0.03
    assert {p.name for p in (tmp_path / "first").iterdir()} == {
        "report.md",
        "report.html",
        "report.json",
        "predictions.jsonl",
    }

    monkeypatch.setattr(
        backends, "make_enricher", lambda settings, backend=None: OracleEnricher(golden, {"bug": "billing"})
    )
    capsys.readouterr()
    code = main(
        [
            "eval",
            "--backend",
            "local",
            "--out",
            str(tmp_path / "second"),
            "--baseline",
            str(baseline),
            "--check",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    verdict = next(line for line in printed.splitlines() if "REGRESSED in" in line)
    assert "category_f1[bug]" in verdict  # bug recall gone; billing precision fell with it
    assert "| category_f1[bug] | 1 | 0 | -1.0000 | 0.0300 | REGRESSED |" in printed
    assert json.loads(baseline.read_text(encoding="utf-8")) == written, "a check never rewrites the baseline"


def test_update_baseline_keeps_the_committed_tolerances(
    golden: GoldenSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedback_ops.enrich.backends as backends

    baseline = tmp_path / "baseline_local.json"
    monkeypatch.setattr(backends, "make_enricher", lambda settings, backend=None: OracleEnricher(golden))
    main(["eval", "--out", str(tmp_path / "a"), "--baseline", str(baseline), "--update-baseline"])
    document = json.loads(baseline.read_text(encoding="utf-8"))
    document["tolerances"]["category_f1"] = 0.05
    baseline.write_text(json.dumps(document), encoding="utf-8")
    main(["eval", "--out", str(tmp_path / "b"), "--baseline", str(baseline), "--update-baseline"])
    assert json.loads(baseline.read_text(encoding="utf-8"))["tolerances"]["category_f1"] == 0.05


def test_evaluate_batches_every_record_and_records_versions(golden: GoldenSet) -> None:
    small = GoldenSet(
        version=golden.version, path=golden.path, sha256=golden.sha256, records=golden.records[:10]
    )
    run = evaluate(OracleEnricher(golden), small, CATEGORIES, backend="fake", batch_size=3)
    assert isinstance(run, EvaluationRun)
    assert run.metrics.category_accuracy == 1.0 and run.metrics.answered == 10
    assert run.versions == {"model_version": "oracle-1"}


def test_a_baseline_of_another_golden_version_is_refused_unless_replaced(
    golden: GoldenSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import feedback_ops.enrich.backends as backends

    baseline = tmp_path / "baseline_local.json"
    monkeypatch.setattr(backends, "make_enricher", lambda settings, backend=None: OracleEnricher(golden))
    main(["eval", "--out", str(tmp_path / "a"), "--baseline", str(baseline), "--update-baseline"])
    stale = json.loads(baseline.read_text(encoding="utf-8"))
    baseline.write_text(
        json.dumps({**stale, "golden_sha256": "0" * 64, "golden_version": "0"}), encoding="utf-8"
    )
    capsys.readouterr()
    # refused: one line on stderr naming the mismatch, exit 2 (feedback_ops.cli), no traceback
    assert main(["eval", "--out", str(tmp_path / "b"), "--baseline", str(baseline)]) == 2
    refused = capsys.readouterr().err.strip().splitlines()
    assert len(refused) == 1 and refused[0].startswith("error:") and "golden" in refused[0], refused
    assert main(["eval", "--out", str(tmp_path / "c"), "--baseline", str(baseline), "--update-baseline"]) == 0
    assert json.loads(baseline.read_text(encoding="utf-8"))["golden_sha256"] == golden.sha256
