"""PII redaction: every type is replaced by its placeholder and counted; dates, amounts and masks are not."""

from __future__ import annotations

import pytest

from feedback_ops.enrich.redact import Redactor, iban_valid, luhn_valid, redact


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
