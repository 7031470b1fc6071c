"""The model-free parts of local enrichment: taxonomy, prompts, language, sentiment mapping, urgency rules."""

from __future__ import annotations

import pytest

from feedback_ops.config import Settings
from feedback_ops.enrich.language import detect_language
from feedback_ops.enrich.prompts import load_prompts, parse_prompt
from feedback_ops.enrich.schemas import FeedbackItem, lane_for
from feedback_ops.enrich.sentiment import rating_score, sentiment_label, sentiment_score
from feedback_ops.enrich.taxonomy import REQUIRED_CATEGORIES, load_taxonomy, parse_taxonomy
from feedback_ops.enrich.urgency import UrgencyRules, severity_urgency

SETTINGS = Settings()
TAXONOMY = load_taxonomy(SETTINGS.taxonomy_path)


def test_project_taxonomy_is_complete_and_versioned() -> None:
    assert TAXONOMY.category_ids == REQUIRED_CATEGORIES
    assert TAXONOMY.version.startswith("1.0.0+")
    for category in TAXONOMY.categories:
        assert 4 <= len(category.examples) <= 8
        assert category.owner.team and category.owner.contact.startswith("#")
    assert TAXONOMY.get("praise").base_urgency == TAXONOMY.get("feature_request").base_urgency == "low"


def test_taxonomy_missing_a_category_is_rejected() -> None:
    raw = SETTINGS.taxonomy_path.read_bytes().replace(b"\n  pricing:\n", b"\n  pricey:\n")
    with pytest.raises(ValueError, match="pricing"):
        parse_taxonomy(raw)


def test_prompts_carry_versions() -> None:
    prompts = load_prompts(SETTINGS.prompts_dir)
    assert {"classify", "summarize"} <= set(prompts.prompts)
    assert prompts["classify"].version.startswith("1.0.0+")
    rendered = prompts["classify"].render(
        taxonomy_version="t", categories="bug, other", channel="chat", text="It broke."
    )
    assert "It broke." in rendered and "$" not in rendered
    with pytest.raises(ValueError, match="header"):
        parse_prompt(b"no header here")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The delivery was late again and nobody answered my emails.", "en"),
        ("VERY DISAPPOINTED WITH THE SERVICE, NOBODY EVER ANSWERS THE PHONE.", "en"),
        ("La aplicación no funciona desde la actualización y no puedo pagar.", "es"),
        ("Die Lieferung ist seit zwei Wochen überfällig und niemand antwortet.", "de"),
    ],
)
def test_language(text: str, language: str) -> None:
    code, probability = detect_language(text)
    assert code == language
    assert 0.5 < probability <= 1.0


@pytest.mark.parametrize("text", ["", "ok", "12345 !!!"])
def test_short_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == ("und", 0.0)


def test_sentiment_score_and_rating_blend() -> None:
    assert sentiment_score(0.9) == pytest.approx(0.8)
    assert sentiment_score(0.9, rating=1, channel="review") == pytest.approx(-0.1)
    assert sentiment_score(0.5, rating=3, channel="nps") == pytest.approx(-0.5)
    assert (
        rating_score(9, "nps") == 1.0
        and rating_score(7, "survey") == 0.0
        and rating_score(None, "nps") is None
    )
    assert [sentiment_label(s) for s in (-0.9, 0.0, 0.9)] == ["negative", "neutral", "positive"]


def test_severity_field() -> None:
    assert severity_urgency("Sev 1") == severity_urgency("P1") == "critical"
    assert severity_urgency("high") == "high"
    assert severity_urgency("whatever") is None and severity_urgency(None) is None


@pytest.mark.parametrize(
    ("text", "category", "sentiment", "severity", "expected"),
    [
        ("I cant log-in to my account", "account_access", ("negative", -0.6), None, "critical"),
        ("I can’t log in", "account_access", ("neutral", -0.2), None, "critical"),
        ("Possible fraud on my card", "customer_service", ("negative", -0.6), None, "high"),
        ("My lawyer will hear about these fees", "billing", ("negative", -0.6), None, "high"),
        ("Thanks for sorting out the double charge so fast!", "billing", ("positive", 0.8), None, "medium"),
        ("The export button does nothing", "bug", ("negative", -0.9), None, "high"),
        ("The export button does nothing", "bug", ("negative", -0.6), None, "medium"),
        ("Please add dark mode", "feature_request", ("neutral", 0.1), None, "low"),
        ("Please add dark mode", "feature_request", ("neutral", 0.1), "P2", "high"),
        ("Love it", "praise", ("positive", 0.9), None, "low"),
    ],
)
def test_urgency_rules(
    text: str, category: str, sentiment: tuple[str, float], severity: str | None, expected: str
) -> None:
    rules = UrgencyRules(TAXONOMY)
    assert rules.assess(text, TAXONOMY.get(category), sentiment, severity) == expected  # type: ignore[arg-type]
    assert lane_for(expected) == ("urgent" if expected in ("high", "critical") else "micro_batch")  # type: ignore[arg-type]


def test_feedback_item_rejects_unknown_channel() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        FeedbackItem(feedback_id="f", text_hash="h", text="t", channel="fax")
