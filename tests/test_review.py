"""The human review queue: gold marts, decisions that override without overwriting, the terminal and web
front ends, golden candidates, and corrections that teach the local enricher."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from feedback_ops import pipeline
from feedback_ops.evaluation.golden import parse_records
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.review.decisions import ReviewedLabels, ReviewError, record_decision
from feedback_ops.review.golden_export import export_golden_candidates
from feedback_ops.review.queue import list_queue
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse

CHROMIUM = Path("/usr/bin/chromium")
DELIVERY_TEXT = "My delivery is three days late and nobody answers"


FOREIGN_RECORDS = (
    '{"source_record_id": "R-DE", "channel": "chat", "created_at": "2026-11-18T09:00:00Z", "locale": "de-DE", '
    '"text": "Die Lieferung ist seit einer Woche überfällig und niemand antwortet auf meine E-Mails."}\n'
    '{"source_record_id": "R-ES", "channel": "review", "created_at": "2026-11-18T09:30:00Z", "locale": "es-ES", '
    '"text": "La aplicación se cierra cada vez que intento pagar con mi tarjeta."}\n'
)
"""Records the English local models do not handle: always sent to review, whatever the models' confidence."""


def build_through_gold(settings) -> None:
    """Fixture landing (plus two non-English records) -> bronze -> silver -> enrichment -> gold."""
    (settings.landing_dir / "foreign_chats.jsonl").write_text(FOREIGN_RECORDS, encoding="utf-8")
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")
    pipeline.enrich(settings)
    pipeline.build_gold(settings)


@pytest.fixture
def gold(settings):
    """Settings over the fixture landing area with bronze, silver, enrichment and gold built."""
    build_through_gold(settings)
    return settings


def item_id(settings, text: str) -> str:
    with open_warehouse(settings) as warehouse:
        return warehouse.scalar(
            "select feedback_id from silver.int_feedback_deduplicated where feedback_text = ?", [text]
        )


def test_page_escapes_text_and_says_when_gold_is_missing(settings, monkeypatch, capsys):
    from feedback_ops import cli
    from feedback_ops.review import terminal
    from feedback_ops.review.web import make_server, queue_page

    item = {
        "feedback_id": "f'1",
        "enrichment_version": "v1",
        "review_reason": "needs_review",
        "channel": "chat",
        "redacted_text": "<img src=x onerror=alert(1)> & 'quotes'",
        "category": "bug",
        "sentiment_label": "negative",
        "urgency": "high",
        "model_category": "bug",
        "model_sentiment_label": "negative",
        "model_urgency": "high",
        "confidence": 0.3,
        "enrichment_notes": "<b>note</b>",
    }
    page = queue_page([item], ("bug", "billing")).decode()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt; &amp; &#x27;quotes&#x27;" in page
    assert "&lt;b&gt;note&lt;/b&gt;" in page and "value='f&#x27;1'" in page and "href='/item/f%271'" in page

    monkeypatch.setattr(terminal, "get_settings", lambda: settings)
    assert cli.main(["review", "list"]) == 2 and "build_gold" in capsys.readouterr().err
    server = make_server(settings, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=30)
        assert error.value.code == 503
    finally:
        server.shutdown()
        server.server_close()


def test_queue_decisions_override_in_gold_and_agreement(gold):
    with open_warehouse(gold) as warehouse:
        queue = list_queue(warehouse, limit=100)
        fct = warehouse.query_df("select * from gold.fct_feedback where is_enriched")
    assert queue, "the fixture has items the models do not handle: the queue must not be empty"
    assert {q["review_reason"] for q in queue} <= {"needs_review", "low_confidence", "sampled"}
    flagged = fct[(fct["needs_review"]) | (fct["confidence"] < 0.5)]
    assert set(flagged["feedback_id"]) <= {q["feedback_id"] for q in queue}
    assert (fct["category"] == fct["model_category"]).all() and not fct["is_reviewed"].any()

    target = queue[0]
    new_category = "billing" if target["model_category"] != "billing" else "bug"
    with open_warehouse(gold) as warehouse:
        with pytest.raises(ReviewError, match="not one of"):
            record_decision(
                warehouse, gold, target["feedback_id"], "correct", "ann", ReviewedLabels(category="nope")
            )
        with pytest.raises(ReviewError, match="reviewer"):
            record_decision(warehouse, gold, target["feedback_id"], "accept", " ")
        decision = record_decision(
            warehouse,
            gold,
            target["feedback_id"],
            "correct",
            "ann",
            ReviewedLabels(category=new_category, urgency="critical"),
            note="misrouted",
        )
        other = next(q for q in queue[1:]) if len(queue) > 1 else None
        if other:
            record_decision(warehouse, gold, other["feedback_id"], "accept", "bob")
        assert target["feedback_id"] not in {q["feedback_id"] for q in list_queue(warehouse, limit=100)}
        model_row = warehouse.query_df(
            "select category, urgency from enrichment.feedback_enrichment where feedback_id = ?",
            [target["feedback_id"]],
        )
    assert decision.model_category == target["model_category"] and decision.category == new_category
    assert model_row["category"].tolist() == [target["model_category"]], (
        "model output must not be overwritten"
    )

    pipeline.build_gold(gold)
    with open_warehouse(gold) as warehouse:
        row = warehouse.query_df(
            "select * from gold.fct_feedback where feedback_id = ?", [target["feedback_id"]]
        ).iloc[0]
        queued = set(warehouse.query_df("select feedback_id from gold.rpt_review_queue")["feedback_id"])
        agreement = warehouse.query_df("select * from gold.rpt_review_agreement")
    assert (row["category"], row["urgency"], row["model_category"]) == (
        new_category,
        "critical",
        target["model_category"],
    )
    assert row["is_reviewed"] and row["reviewed_category"] == new_category and row["reviewed_by"] == "ann"
    assert target["feedback_id"] not in queued
    assert agreement["reviewed_items"].sum() == (2 if other else 1)
    assert agreement["agreements"].sum() == (1 if other else 0)


def test_terminal_commands(gold, monkeypatch, capsys):
    from feedback_ops import cli
    from feedback_ops.review import terminal

    monkeypatch.setattr(terminal, "get_settings", lambda: gold)
    assert cli.main(["review", "list", "--limit", "5"]) == 0
    listed = capsys.readouterr().out
    first = listed.splitlines()[1].split()[0]
    assert cli.main(["review", "show", first]) == 0
    assert "redacted_text" in capsys.readouterr().out
    assert cli.main(["review", "correct", first, "--category", "shipping", "--reviewer", "ann"]) == 2
    assert "not one of" in capsys.readouterr().err
    sentiment = listed.splitlines()[1].split("[", 1)[1].split(" / ")[1]
    other_sentiment = "neutral" if sentiment != "neutral" else "positive"
    assert cli.main(["review", "correct", first, "--reviewer", "ann"]) == 2
    assert "changes no label" in capsys.readouterr().err
    command = [
        "review",
        "correct",
        first,
        "--sentiment",
        other_sentiment,
        "--reviewer",
        "ann",
        "--note",
        "tone",
    ]
    assert cli.main(command) == 0
    assert f"correct {first} by ann" in capsys.readouterr().out
    with open_warehouse(gold) as warehouse:
        assert (
            warehouse.scalar(
                "select count(*) from enrichment.review_decisions where feedback_id = ?", [first]
            )
            == 1
        )

    out_file = gold.local_dir / "golden_candidates.jsonl"
    assert cli.main(["review", "export-golden", "--out", str(out_file)]) == 0
    records = parse_records(out_file.read_text(encoding="utf-8").splitlines())
    assert len(records) == 1 and records[0].label_source == "review:ann"
    assert records[0].id.startswith("g2-") and first in records[0].source_ref
    assert records[0].sentiment == other_sentiment and records[0].source_dataset == "review-queue"


def test_golden_candidates_are_redacted(gold):
    checkout = item_id(
        gold, "Checkout fails with error 500 when I pay by card, my email is jane.doe@example.com"
    )
    with open_warehouse(gold) as warehouse:
        record_decision(warehouse, gold, checkout, "correct", "ann", ReviewedLabels(urgency="critical"))
        path, count = export_golden_candidates(warehouse, gold)
    assert path == gold.local_dir / "golden_candidates.jsonl" and count == 1
    (record,) = parse_records(path.read_text(encoding="utf-8").splitlines())
    assert "[EMAIL]" in record.text and "jane.doe" not in record.text
    assert (record.urgency, record.channel, record.locale) == ("critical", "support_ticket", "en-US")


def test_a_correction_teaches_the_next_similar_record(gold):
    delivery = item_id(gold, DELIVERY_TEXT)
    with open_warehouse(gold) as warehouse:
        before = warehouse.query_df(
            "select category, sentiment_label, urgency from enrichment.feedback_enrichment where feedback_id = ?",
            [delivery],
        ).iloc[0]
    corrected = "customer_service" if before["category"] != "customer_service" else "delivery"
    with open_warehouse(gold) as warehouse:
        decision = record_decision(
            warehouse, gold, delivery, "correct", "ann", ReviewedLabels(category=corrected, urgency="high")
        )
    new_records = [
        {"source_record_id": "N-1", "text": f"{DELIVERY_TEXT}!!", "created_at": "2026-11-20T10:00:00Z"},
        {
            "source_record_id": "N-2",
            "text": "Please add dark mode to the app",
            "created_at": "2026-11-20T11:00:00Z",
        },
    ]
    (gold.landing_dir / "new.jsonl").write_text(
        "".join(json.dumps({**r, "channel": "chat"}) + "\n" for r in new_records)
    )
    with open_warehouse(gold) as warehouse:
        load_landing_to_bronze(warehouse, gold)
    run_dbt("build", gold, select="tag:silver")
    result = pipeline.enrich(gold)
    assert result["enriched"] == 2
    with open_warehouse(gold) as warehouse:
        rows = warehouse.query_df(
            "select s.source_record_id, e.category, e.urgency, e.confidence, e.needs_review, e.enrichment_notes "
            "from enrichment.feedback_enrichment as e join silver.int_feedback_deduplicated as s using (feedback_id) "
            "where s.source_record_id in ('N-1', 'N-2') order by 1"
        ).set_index("source_record_id")
        untouched = warehouse.scalar(
            "select category from enrichment.feedback_enrichment where feedback_id = ?", [delivery]
        )
    assert (rows.loc["N-1", "category"], rows.loc["N-1", "urgency"]) == (corrected, "high")
    assert decision.decision_id in rows.loc["N-1", "enrichment_notes"] and not rows.loc["N-1", "needs_review"]
    assert rows.loc["N-1", "confidence"] >= 0.9
    assert "reviewed example" not in str(rows.loc["N-2", "enrichment_notes"])
    assert untouched == before["category"], "records enriched before keep their enrichment row"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (Debian package) not installed")
def test_review_page_in_headless_chromium(gold, tmp_path):
    from feedback_ops.review.web import make_server

    with open_warehouse(gold) as warehouse:
        queue = list_queue(warehouse, limit=200)
        # a note with markup: the item page must show it as text
        record_decision(warehouse, gold, queue[-1]["feedback_id"], "accept", "<script>alert(1)</script>")
    server = make_server(gold, port=0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        flags = [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
        ]  # fmt: skip
        dom = subprocess.run(
            [*flags, "--dump-dom", f"{base}/"], capture_output=True, text=True, timeout=90
        ).stdout
        screenshot = tmp_path / "review.png"
        subprocess.run(
            [*flags, "--window-size=1400,1000", f"--screenshot={screenshot}", f"{base}/"],
            capture_output=True,
            timeout=90,
        )
        assert "Review queue" in dom and f"{len(queue) - 1} item(s) awaiting review" in dom
        target = queue[0]
        assert f'value="{target["feedback_id"]}"' in dom and '<button name="action" value="correct"' in dom
        assert screenshot.exists() and screenshot.stat().st_size > 5_000

        reviewed = queue[-1]["feedback_id"]
        item_dom = subprocess.run(
            [*flags, "--dump-dom", f"{base}/item/{reviewed}"], capture_output=True, text=True, timeout=90
        ).stdout
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item_dom and "<script>alert" not in item_dom

        corrected = "pricing" if target["model_category"] != "pricing" else "billing"
        form = {
            "feedback_id": target["feedback_id"],
            "enrichment_version": target["enrichment_version"],
            "category": corrected,
            "sentiment_label": target["model_sentiment_label"],
            "urgency": target["model_urgency"],
            "reviewer": "carol",
            "note": "via the web page",
            "action": "correct",
        }
        request = urllib.request.Request(f"{base}/decisions", data=urllib.parse.urlencode(form).encode())
        with urllib.request.urlopen(request, timeout=30) as response:  # follows the 303 back to the queue
            page = response.read().decode()
        assert response.url.startswith(f"{base}/?done=") and "recorded:" in page
        bad = {**form, "category": "<b>nope</b>"}
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/decisions", data=urllib.parse.urlencode(bad).encode()),
                timeout=30,
            )
        assert error.value.code == 400 and "&lt;b&gt;nope&lt;/b&gt;" in error.value.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    with open_warehouse(gold) as warehouse:
        rows = warehouse.query_df(
            "select * from enrichment.review_decisions where reviewer = 'carol'"
        ).to_dict("records")
    assert len(rows) == 1
    assert (rows[0]["feedback_id"], rows[0]["action"], rows[0]["category"]) == (
        target["feedback_id"],
        "correct",
        corrected,
    )
    assert rows[0]["model_category"] == target["model_category"] and rows[0]["note"] == "via the web page"
    assert rows[0]["enrichment_version"] == target["enrichment_version"]
