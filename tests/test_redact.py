"""PII redaction: every type is replaced by its placeholder and counted; dates, amounts and masks are not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from feedback_ops.config import Settings
from feedback_ops.enrich.pii_view import normalized_view
from feedback_ops.enrich.redact import (
    Redactor,
    find_structured_pii,
    iban_valid,
    load_redaction_config,
    luhn_valid,
    redact,
)
from feedback_ops.quality.suites import FEEDBACK_ENRICHMENT, PII_FOUND_COLUMN


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("Write to jane.doe+orders@example.co.uk please", "jane.doe+orders@example.co.uk", "EMAIL"),
        ("Call me on +44 20 7946 0958 after six", "+44 20 7946 0958", "PHONE"),
        ("My number is (555) 123-4567.", "(555) 123-4567", "PHONE"),
        ("Reach me at 555.123.4567 today", "555.123.4567", "PHONE"),
        ("Mobile: +33 1 23 45 67 89", "+33 1 23 45 67 89", "PHONE"),
        ("Ring 0049 30 1234 5678 tomorrow", "0049 30 1234 5678", "PHONE"),
        ("card 4111 1111 1111 1111 was declined", "4111 1111 1111 1111", "CARD"),
        ("card 5500-0000-0000-0004 was declined", "5500-0000-0000-0004", "CARD"),
        ("Refund to GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32", "IBAN"),
        ("Refund to DE89370400440532013000 please", "DE89370400440532013000", "IBAN"),
        ("Blocked from 192.168.10.254 again", "192.168.10.254", "IP"),
        ("Blocked from 2001:db8::8a2e:370:7334 again", "2001:db8::8a2e:370:7334", "IP"),
        ("Where is ORD-123456?", "ORD-123456", "ORDER_ID"),
    ],
)
def test_each_type_is_replaced_by_its_placeholder(text: str, secret: str, placeholder: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert f"[{placeholder}]" in result.text
    assert result.counts == {placeholder: 1}


def test_counts_every_value_of_every_type() -> None:
    text = (
        "I am a@example.com, also b@example.org; call +1 415 555 0100 or +1 415 555 0199. "
        "Card 4111111111111111, order ORD-654321."
    )
    result = redact(text)
    assert result.counts == {"EMAIL": 2, "PHONE": 2, "CARD": 1, "ORDER_ID": 1}
    assert result.text == (
        "I am [EMAIL], also [EMAIL]; call [PHONE] or [PHONE]. Card [CARD], order [ORDER_ID]."
    )


@pytest.mark.parametrize("number", ["4111 1111 1111 1112", "1234567812345678", "4111-1111-1111-1113"])
def test_luhn_invalid_digits_are_not_cards(number: str) -> None:
    result = redact(f"reference {number} on the letter")
    assert "[CARD]" not in result.text
    assert "CARD" not in result.counts


def test_iban_with_a_bad_check_digit_is_not_an_iban() -> None:
    assert "IBAN" not in redact("account GB82 WEST 1234 5698 7654 33").counts


@pytest.mark.parametrize(
    "text",
    [
        "On XX/XX/XXXX I paid {$123.00} to account XXXX XXXX XXXX 1234 and XXXX called me.",
        "Payment of {$1500.00} was due XX/XX/2023; account ending XXXX.",
    ],
)
def test_cfpb_masks_are_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert redact(text).counts == {}


@pytest.mark.parametrize(
    "text",
    [
        "Ordered on 2023-05-01 12:30 and again on 05/01/2023 and 01.05.2023.",
        "I paid $1,234.56, then 1.234.567,00 EUR, then £45.99.",
        "A customer since 2019, every year from 2019-2023, and in 2021 2022 2023 2024.",
        "Version 2.3.1 broke it; it took 45 minutes and 3 calls.",
        "Meeting at 12:30:45 was moved.",
    ],
)
def test_dates_amounts_and_years_are_left_alone(text: str) -> None:
    assert redact(text).text == text


def test_id_patterns_are_configurable() -> None:
    redactor = Redactor({"TICKET_ID": r"\bTCK-\d{5}\b"})
    result = redactor.redact("Ticket TCK-12345 about ORD-123456")
    assert result.text == "Ticket [TICKET_ID] about ORD-123456"
    assert result.counts == {"TICKET_ID": 1}


def test_an_opening_bracket_before_a_phone_is_kept() -> None:
    assert redact("(555-123-4567)").text == "([PHONE])"


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")


# --- issue 3: every placeholder type, international formats, look-alikes, configuration -------------------


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("E.164: +14155550123 is my cell", "+14155550123", "PHONE"),
        ("Call +1 (415) 555-0123 today", "+1 (415) 555-0123", "PHONE"),
        ("Call (415) 555-0123 today", "(415) 555-0123", "PHONE"),
        ("Call 415.555.0123 today", "415.555.0123", "PHONE"),
        ("Call 1-800-555-0199 today", "1-800-555-0199", "PHONE"),
        ("Berlin office +49 30 1234567 please", "+49 30 1234567", "PHONE"),
        ("My mobile is 07911 123456.", "07911 123456", "PHONE"),
        ("Festnetz 030 12345678 bitte", "030 12345678", "PHONE"),
        ("Paris +33 (0)1 23 45 67 89 merci", "+33 (0)1 23 45 67 89", "PHONE"),
        ("India +91 98765 43210 ok", "+91 98765 43210", "PHONE"),
        ("Amex 3782 822463 10005 was declined", "3782 822463 10005", "CARD"),
        ("IBAN fr14 2004 1010 0505 0001 3m02 606 please", "fr14 2004 1010 0505 0001 3m02 606", "IBAN"),
        ("IBAN NL91ABNA0417164300 please", "NL91ABNA0417164300", "IBAN"),
        ("from ::ffff:c000:280 and", "::ffff:c000:280", "IP"),
        ("from 2001:0db8:85a3:0000:0000:8a2e:0370:7334 and", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "IP"),
        ("from 8.8.8.8.", "8.8.8.8", "IP"),
        (
            "Ship to 42 Wallaby Way, Apt 3B, Sydney, NS 20001 now",
            "42 Wallaby Way, Apt 3B, Sydney, NS 20001",
            "ADDRESS",
        ),
        ("Ship to 1600 Pennsylvania Avenue NW please", "1600 Pennsylvania Avenue NW", "ADDRESS"),
        ("I live at 221B Baker Street, London NW1 6XE now", "221B Baker Street, London NW1 6XE", "ADDRESS"),
        ("Ship to 5 W 42nd St instead", "5 W 42nd St", "ADDRESS"),
        ("Send it to PO Box 4521 instead", "PO Box 4521", "ADDRESS"),
        ("Send it to P.O. Box 77 instead", "P.O. Box 77", "ADDRESS"),
        ("Lieferung an Hauptstraße 5 bitte", "Hauptstraße 5", "ADDRESS"),
        ("cancel order 732201349959 please", "732201349959", "ORDER_ID"),
        ("problems with cancelling purchase 00123842", "00123842", "ORDER_ID"),
        ("I cannot find invoice #12588", "#12588", "ORDER_ID"),
        ("my order number is 370795561790.", "370795561790", "ORDER_ID"),
        ("tracking number 1Z999AA10123456784 shows nothing", "1Z999AA10123456784", "ORDER_ID"),
        ("My account number is 1234 5678.", "1234 5678", "ACCOUNT_ID"),
        ("customer id: 884422 here", "884422", "ACCOUNT_ID"),
        ("Account ACCT#9912345 is locked", "ACCT#9912345", "ACCOUNT_ID"),
    ],
)
def test_international_and_structured_values(text: str, secret: str, placeholder: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert result.counts == {placeholder: 1}
    (span,) = result.spans
    assert (text[span.start : span.end], span.kind) == (secret, placeholder)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Priya Raman and I want a refund.", "Priya Raman"),
        ("my name is john smith, please call", "john smith"),
        ("see bill from Mr. Smith", "Mr. Smith"),
        ("how to locate the inovice from Ms. Hawkings ?", "Ms. Hawkings"),
        ("Please ask Dr Okonkwo to call me.", "Dr Okonkwo"),
        ("I need to check my bill from Anna Freeman", "Anna Freeman"),
        ("Still no refund.\n\nRegards,\nTom Baker", "Tom Baker"),
        ("Still no refund. Thanks,\nLinda", "Linda"),
        ("Hi Sarah, the parcel is late.", "Sarah"),
        ("I spoke to Kevin twice and nothing happened.", "Kevin"),
        ("An agent named Quigley hung up on me.", "Quigley"),
        ("Dear Hawkings, I am writing again.", "Hawkings"),
        ("Kind regards, Kofi Mensah", "Kofi Mensah"),
        ("Michael O'Connor told me it would be fixed.", "Michael O'Connor"),
        ("I spoke to Niamh Okonkwo twice.", "Niamh Okonkwo"),
        ("Bjorn Kim told me it would be fixed.", "Bjorn Kim"),
    ],
)
def test_person_names_with_cues_or_known_first_names(text: str, name: str) -> None:
    result = redact(text)
    assert name not in result.text
    assert result.counts == {"PERSON": 1}
    (span,) = result.spans
    assert text[span.start : span.end] == name


@pytest.mark.parametrize(
    "text",
    [
        "Will you fix it? May I ask why? Grant me a refund. Chase Bank charged me twice.",
        "The mortgage servicer Mr. Cooper will not spread the payments; Mr Cooper again.",
        "My Amazon Alexa and the Echo Dot stopped working; I called Verizon.",
        "Cherry Technologies and Navy Federal Credit Union keep calling. Dear Obligo Team,",
        "Customer Service said the Premium Plan includes Express Delivery.",
        "I paid my Sallie Mae loan and my Wells Fargo card in June and August.",
        "Thank you Amazon! Hello Team, hi everyone.",
        "On XXXX XXXX, Mr. XXXX from XXXX called me.",
    ],
)
def test_capitalized_words_that_are_not_people_are_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text, result.counts
    assert "PERSON" not in result.counts


@pytest.mark.parametrize(
    "text",
    [
        "App version 5.13.0 crashes, and so did build 10.0.19041 and version 1.2.3.4.",
        "Prices rose 12.5% and then 3.75 % in 2024; 100% disappointed.",
        "The order total was 45.99 and the order of 3 items arrived on 2023-11-05 at 14:05.",
        "Refund of 1499 for order placed 12/05/2023, invoice total 1,250.00 USD.",
        "I waited 2 weeks, 3 days and 45 minutes; call at 10:30 or 17:45:00.",
        "Balance 12 345 678,90 EUR after 20 000 points.",
        "Ticket opened 2019-2023 for 2021 2022 2023 2024 renewals.",
        "My card ending in XXXX XXXX XXXX 1234 was charged {$25.00} on XX/XX/XXXX.",
    ],
)
def test_pii_look_alikes_are_left_alone(text: str) -> None:
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("DE89 3704 0044 0532 0130 00", True),
        ("de89370400440532013000", True),
        ("DE89 3704 0044 0532 0130 01", False),  # check digits no longer match (mod 97 != 1)
        ("DE89 3704 0044 0532 0130 0", False),  # one character short of Germany's 22
        ("GB82 WEST 1234 5698 7654 3", False),
        ("XX00 0000 0000 0000", False),
    ],
)
def test_iban_mod97_and_country_length(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid
    assert ("IBAN" in redact(f"refund to {iban} please").counts) is valid


def test_spans_and_counts_of_a_message_with_every_type() -> None:
    text = (
        "Hi, my name is Priya Raman (priya.raman@example.com, +44 20 7946 0958). I live at 12 Oak Lane, "
        "Springfield, IL 62704. Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, "
        "order ORD-654321, account number 55501234, logged in from 203.0.113.7."
    )
    result = redact(text)
    assert result.counts == {
        "PERSON": 1,
        "EMAIL": 1,
        "PHONE": 1,
        "ADDRESS": 1,
        "CARD": 1,
        "IBAN": 1,
        "ORDER_ID": 1,
        "ACCOUNT_ID": 1,
        "IP": 1,
    }
    assert result.text == (
        "Hi, my name is [PERSON] ([EMAIL], [PHONE]). I live at [ADDRESS]. Card [CARD], IBAN [IBAN], "
        "order [ORDER_ID], account number [ACCOUNT_ID], logged in from [IP]."
    )
    assert [span.kind for span in result.spans] == [
        "PERSON",
        "EMAIL",
        "PHONE",
        "ADDRESS",
        "CARD",
        "IBAN",
        "ORDER_ID",
        "ACCOUNT_ID",
        "IP",
    ]


def _config_copy(tmp_path: Path) -> Path:
    source = Settings().redaction_config_path
    shutil.copytree(source.parent / "redaction", tmp_path / "redaction")
    target = tmp_path / "redaction.yaml"
    target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_id_patterns_can_be_added_in_the_yaml_and_change_the_version(tmp_path: Path) -> None:
    path = _config_copy(tmp_path)
    before = Redactor(config=load_redaction_config(path))
    assert "TICKET_ID" not in before.redact("ticket TCK-12345 again").counts
    text = path.read_text(encoding="utf-8").replace(
        "id_patterns:\n", "id_patterns:\n  TICKET_ID:\n    - '\\bTCK-\\d{5}\\b'\n", 1
    )
    path.write_text(text, encoding="utf-8")
    load_redaction_config.cache_clear()
    after = Redactor(config=load_redaction_config(path))
    assert after.redact("ticket TCK-12345 again").text == "ticket [TICKET_ID] again"
    assert after.version != before.version


def test_name_lists_are_part_of_the_version(tmp_path: Path) -> None:
    path = _config_copy(tmp_path)
    before = Redactor(config=load_redaction_config(path))
    assert before.redact("Zorblat Quux told me so.").counts == {}
    with (tmp_path / "redaction" / "first_names.txt").open("a", encoding="utf-8") as handle:
        handle.write("Zorblat\n")
    load_redaction_config.cache_clear()
    after = Redactor(config=load_redaction_config(path))
    assert after.redact("Zorblat Quux told me so.").text == "[PERSON] told me so."
    assert after.version != before.version


def test_the_default_config_is_the_project_yaml() -> None:
    assert (
        Redactor().version == Redactor(config=load_redaction_config(Settings().redaction_config_path)).version
    )
    assert Redactor().version != Redactor({"ORDER_ID": r"\bORD-\d+\b"}).version


# --- PII written a little differently (issue 16 §5) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "placeholder", "kept"),
    [
        ("Mail jane.doe\u200b@example.com today", "jane.doe\u200b@example.com", "EMAIL", ("Mail ", " today")),
        ("Mail jane.doe&#64;example.com today", "jane.doe&#64;example.com", "EMAIL", ("Mail ", " today")),
        (
            "Card ４１１１ １１１１ １１１１ １１１１ was charged",
            "４１１１ １１１１ １１１１ １１１１",
            "CARD",
            ("Card ", " was charged"),
        ),
        ("Card 4111.1111.1111.1111. Thanks", "4111.1111.1111.1111", "CARD", ("Card ", ". Thanks")),
        (
            "THIS IS MARGARET THOMPSON CALLING AGAIN",
            "MARGARET THOMPSON",
            "PERSON",
            ("THIS IS ", " CALLING AGAIN"),
        ),
    ],
)
def test_the_five_obfuscated_values_of_the_issue_are_redacted_in_place(
    text: str, secret: str, placeholder: str, kept: tuple[str, str]
) -> None:
    result = redact(text)
    assert result.text == f"{kept[0]}[{placeholder}]{kept[1]}"
    assert result.counts == {placeholder: 1}
    (span,) = result.spans
    assert text[span.start : span.end] == secret


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("write jane.doe&commat;example.com", "jane.doe&commat;example.com", "EMAIL"),
        ("write jane.doe&#x40;example&#46;com", "jane.doe&#x40;example&#46;com", "EMAIL"),
        ("write jane.doe&amp;#64;example.com", "jane.doe&amp;#64;example.com", "EMAIL"),
        ("write j\u00adane.doe@exam\u2060ple.com", "j\u00adane.doe@exam\u2060ple.com", "EMAIL"),
        ("write ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "EMAIL"),
        ("write jane.doe(at)example(dot)com", "jane.doe(at)example(dot)com", "EMAIL"),
        ("write jane.doe [at] example [dot] co [dot] uk", "jane.doe [at] example [dot] co [dot] uk", "EMAIL"),
        ("write jane dot doe at example dot com", "jane dot doe at example dot com", "EMAIL"),
        (
            "write o'connor9262 at mail dot example dot co dot uk",
            "o'connor9262 at mail dot example dot co dot uk",
            "EMAIL",
        ),
        ("write jane.doe @ example.com", "jane.doe @ example.com", "EMAIL"),
        ("card 4111/1111/1111/1111 x", "4111/1111/1111/1111", "CARD"),
        ("card 4111_1111_1111_1111 x", "4111_1111_1111_1111", "CARD"),
        ("card 4111 - 1111.1111/1111 x", "4111 - 1111.1111/1111", "CARD"),
        ("card 4111\u00a01111\u00a01111\u00a01111 x", "4111\u00a01111\u00a01111\u00a01111", "CARD"),
        ("card 4111\u200b1111\u200b1111\u200b1111 x", "4111\u200b1111\u200b1111\u200b1111", "CARD"),
        ("card 3782.822463.10005 x", "3782.822463.10005", "CARD"),
        ("iban DE 89 3704 0044 0532 0130 00 x", "DE 89 3704 0044 0532 0130 00", "IBAN"),
        ("iban DE8937 040044 053201 3000 x", "DE8937 040044 053201 3000", "IBAN"),
        ("iban GB8 2WE ST1 234 569 876 543 2 x", "GB8 2WE ST1 234 569 876 543 2", "IBAN"),
        (
            "iban ＤＥ８９３７０４００４４０５３２０１３０００ x",
            "ＤＥ８９３７０４００４４０５３２０１３０００",
            "IBAN",
        ),
        ("call +44.20.7946.0958 x", "+44.20.7946.0958", "PHONE"),
        ("call ４１５－５５５－０１２３ x", "４１５－５５５－０１２３", "PHONE"),
        ("call 415&#45;555&#45;0123 x", "415&#45;555&#45;0123", "PHONE"),
        ("from １９２．１６８．１０．２５４ x", "１９２．１６８．１０．２５４", "IP"),
        ("from 192&#46;168&#46;10&#46;254 x", "192&#46;168&#46;10&#46;254", "IP"),
        ("I SPOKE TO AISHA FERNANDES TWICE", "AISHA FERNANDES", "PERSON"),
        ("MR. THOMPSON WAS RUDE", "MR. THOMPSON", "PERSON"),
    ],
)
def test_obfuscated_values_are_found_and_the_rest_is_kept(text: str, secret: str, placeholder: str) -> None:
    result = redact(text)
    before, _, after = text.partition(secret)
    assert result.text == f"{before}[{placeholder}]{after}"
    assert result.counts == {placeholder: 1}


@pytest.mark.parametrize(
    "text",
    [
        "I bought it at amazon.com last week",
        "we looked at the dot com bubble",
        "at 2023 I went to the branch and waited 45 minutes",
        "It happened on 2023.05.01 and again on 2023.05.02 at 10:30.",
        "Version 10.0.19041.1288 and build 2004.1111.2222.3333 crash",
        "AT&T charged me &amp; then Wells Fargo &lt;did&gt; nothing",
        "Café crème brûlée… was “great” – 5★",
        "I CALLED CHASE AND WELLS FARGO ABOUT MY BILL IN MAY",
        "XXXX XXXX CALLED ME ON XX/XX/XXXX",
    ],
)
def test_look_alikes_of_obfuscated_values_are_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.counts == {}


def test_text_outside_the_values_keeps_its_exact_form() -> None:
    text = "Caf\u00e9 &amp; \u201cthanks\u201d\u2026 jane&#64;example.com \uff08note\uff09 \u200b end"
    result = redact(text)
    assert result.text == "Caf\u00e9 &amp; \u201cthanks\u201d\u2026 [EMAIL] \uff08note\uff09 \u200b end"


def test_the_normalized_view_maps_back_to_the_original() -> None:
    text = "a\u200bb &#64; ｃ"
    view = normalized_view(text)
    assert view.text == "ab @ c"
    assert view.original_span(0, 2) == (0, 3)
    assert text[slice(*view.original_span(3, 4))] == "&#64;"
    assert text[slice(*view.original_span(5, 6))] == "ｃ"
    plain = normalized_view("plain ascii text")
    assert plain.is_identity and plain.original_span(2, 5) == (2, 5)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("mail jane.doe\u200b@example.com", ["EMAIL"]),
        ("mail jane.doe&#64;example.com", ["EMAIL"]),
        ("mail jane(at)example(dot)com", ["EMAIL"]),
        ("card ４１１１ １１１１ １１１１ １１１１", ["CARD"]),
        ("card 4111.1111.1111.1111 and iban DE89 3704 0044 0532 0130 00", ["CARD", "IBAN"]),
        ("Write to [EMAIL] about card [CARD] and order [ORDER_ID]", []),
        ("order 4111111111111112 on 2023.05.01", []),
        ("", []),
    ],
)
def test_the_gate_check_reads_the_same_normalized_view(text: str, found: list[str]) -> None:
    assert find_structured_pii(text) == found
    frame = pd.DataFrame({"feedback_id": ["f0"], "redacted_text": [text]})
    prepared = FEEDBACK_ENRICHMENT.prepare(frame)
    assert list(prepared[PII_FOUND_COLUMN]) == [",".join(found)]
    assert PII_FOUND_COLUMN not in frame.columns


def test_what_the_redactor_leaves_passes_the_gate_check() -> None:
    texts = [
        "Mail jane.doe\u200b@example.com, card ４１１１ １１１１ １１１１ １１１１, iban DE 89 3704 0044 0532 0130 00",
        "jane.doe&#64;example.com or 4111.1111.1111.1111 or jane(at)example(dot)com",
    ]
    for text in texts:
        assert find_structured_pii(text)
        assert find_structured_pii(redact(text).text) == []
