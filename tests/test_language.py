"""Language identification (Lingua) and what the local backend makes of it: ``enrichment_notes``."""

from __future__ import annotations

import duckdb
import pytest

from feedback_ops.enrich.language import detect_language, detect_languages, latin_share
from feedback_ops.enrich.local import UNKNOWN_SCRIPT_NOTE, language_note
from feedback_ops.enrich.schemas import EnrichmentResult
from feedback_ops.warehouse.schema import DDL

# The sample data's Spanish, German and French NPS comments (project-written) and others like them.
FOREIGN = [
    ("La entrega llegó antes de lo previsto, muy contenta.", "es"),
    ("No encuentro nada con el buscador, siempre salen productos que no busco.", "es"),
    ("Precios justos y envío rápido, lo recomiendo.", "es"),
    ("Lieferung war pünktlich und gut verpackt.", "de"),
    ("Die App ist langsam und stürzt oft ab.", "de"),
    ("Ich kann meine E-Mail-Adresse im Konto nicht ändern.", "de"),
    ("Livraison rapide, rien à redire.", "fr"),
    ("Le service client ne répond jamais aux messages.", "fr"),
    ("Les frais de service sont trop élevés pour de petites commandes.", "fr"),
]
# Short English reviews (UCI Amazon sentences) that langdetect took for Catalan, Welsh, Afrikaans, ...
SHORT_ENGLISH = [
    "Great Value.",
    "Good case, Excellent value.",
    "I only hear garbage for audio.",
    "Doesn't hold charge.",
    "Unreliable - I'm giving up.",
    "Voice recognition is tremendous!",
    "So Far So Good!.",
    "Works great!",
    "Don't buy it.",
]
AMHARIC = "በጣም የሚያስጠላ አፕ በጣም የወረደ ዜሮ ነው"


@pytest.mark.parametrize(("text", "language"), FOREIGN)
def test_spanish_german_french_are_identified(text: str, language: str) -> None:
    code, confidence = detect_language(text)
    assert code == language
    assert 0.5 < confidence <= 1.0


@pytest.mark.parametrize("text", SHORT_ENGLISH)
def test_short_english_is_never_taken_for_another_language(text: str) -> None:
    code, confidence = detect_language(text)
    assert code in ("en", "und")
    assert language_note(code, text) is None
    assert 0.0 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "!!!", "12345 678", "ok", AMHARIC])
def test_featureless_ambiguous_or_unknown_script_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == ("und", 0.0)


def test_placeholders_are_not_read_as_words() -> None:
    # Read as is, the placeholders make this English (0.37 against 0.12 for Portuguese).
    assert detect_language("[PERSON] [EMAIL] [PHONE] [ADDRESS] gracias")[0] == "es"


def test_batch_answers_equal_single_answers() -> None:
    texts = [text for text, _ in FOREIGN] + SHORT_ENGLISH
    assert detect_languages(texts) == [detect_language(text) for text in texts]
    assert detect_languages(list(reversed(texts))) == list(reversed(detect_languages(texts)))
    assert detect_languages([]) == []


def test_latin_share() -> None:
    assert latin_share("Das ist gut") == 1.0
    assert latin_share(AMHARIC) == 0.0
    assert latin_share("12 !!") == 1.0


@pytest.mark.parametrize(
    ("language", "text", "note"),
    [
        ("en", "The parcel is late.", None),
        ("und", "ok", None),
        (
            "de",
            "Die App ist langsam.",
            "language de not supported by the local models: labels are low-confidence, sent to review",
        ),
        ("und", AMHARIC, UNKNOWN_SCRIPT_NOTE),
        (
            "en",
            f"{AMHARIC} It",
            "language en not supported by the local models: labels are low-confidence, sent to review",
        ),
    ],
)
def test_language_note(language: str, text: str, note: str | None) -> None:
    assert language_note(language, text) == note


def test_notes_default_to_none_and_round_trip() -> None:
    row = {
        "feedback_id": "f1",
        "enrichment_version": "v1",
        "text_hash": "h1",
        "redacted_text": "Die App ist langsam.",
        "redaction_counts": {},
        "language": "de",
        "language_confidence": 0.99,
        "category": "performance",
        "sentiment_label": "negative",
        "sentiment_score": -0.5,
        "urgency": "medium",
        "confidence": 0.3,
        "needs_review": True,
        "lane": "micro_batch",
        "model_name": "m",
        "model_version": "1",
        "prompt_version": "1",
        "taxonomy_version": "1",
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": 0.0,
        "latency_ms": 1.0,
    }
    assert EnrichmentResult.model_validate(row).enrichment_notes is None
    noted = EnrichmentResult.model_validate({**row, "enrichment_notes": "language de not supported"})
    assert noted.model_dump()["enrichment_notes"] == "language de not supported"


def test_an_enrichment_table_created_before_the_notes_column_gets_it() -> None:
    connection = duckdb.connect()
    connection.execute("create schema enrichment")
    connection.execute(
        "create table enrichment.feedback_enrichment (feedback_id varchar, enrichment_version varchar, "
        "enriched_at timestamp, primary key (feedback_id, enrichment_version))"
    )
    for statement in DDL:
        connection.execute(statement)
    columns = [row[0] for row in connection.execute("describe enrichment.feedback_enrichment").fetchall()]
    assert columns[-1] == "enrichment_notes"


def test_only_the_head_of_a_long_text_is_read() -> None:
    english = "The parcel never arrived and nobody answers my emails. " * 10
    spanish = "El paquete nunca llegó y nadie contesta mis correos electrónicos. " * 10
    assert detect_language(english + spanish)[0] == "en"
    assert detect_language(spanish + english)[0] == "es"
