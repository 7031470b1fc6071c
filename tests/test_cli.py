"""The ``feedback-ops`` command as a user meets it: bad input is one ``error:`` line on stderr with exit 2,
and customer text reaches the terminal without its escape sequences (``feedback_ops.console``)."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_ops import cli
from feedback_ops.console import terminal_text
from feedback_ops.search.base import IndexDocument
from feedback_ops.search.embedded import open_active_index

HOSTILE = (
    "Checkout \x1b[2J\x1b[31mfails\x1b[0m \x1b]0;pwned\x07again \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ "
    "\x9b31mred\r\x1bc\x00\x7f\u202eoverride\u202c\tend"
)


@pytest.fixture
def cli_settings(settings, monkeypatch):
    """The CLI (and everything it calls through ``get_settings``) reads the test's settings."""
    monkeypatch.setattr("feedback_ops.config.get_settings", lambda: settings)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("feedback_ops.review.terminal.get_settings", lambda: settings)
    return settings


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ask", "complaints since 2026-13-45"], "'2026-13-45' in the question is not a date"),
        (["ask", "complaints this week", "--now", "not-a-date"], "argument --now: not an ISO date"),
        (["ask", "issues in the last 99999999999 days"], "reaches before the year 1"),
        (["review", "list", "--limit", "-1"], "argument --limit: must be 0 or more, not -1"),
        (["search", "refund", "--top", "0"], "argument --top: must be 1 or more, not 0"),
        (["review", "list", "--limit", "lots"], "argument --limit: invalid non_negative_int value"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
    ],
)
def test_bad_input_is_one_error_line_on_stderr_and_exit_2(cli_settings, capsys, argv, says):
    assert cli.main(argv) == 2
    assert says in _one_error_line(capsys)


def test_a_command_error_keeps_its_exit_code_and_goes_to_stderr(cli_settings, capsys):
    assert cli.main(["review", "show", "nope"]) == 2  # the review queue is not built yet
    assert "build_gold" in _one_error_line(capsys)


def test_an_unexpected_error_is_one_line_with_exit_1_and_traceback_on_request(
    cli_settings, monkeypatch, capsys
):
    def broken() -> str:
        raise KeyError("boom")

    monkeypatch.setattr(cli.pipeline, "summarize", broken)
    assert cli.main(["summary"]) == 1
    assert (
        _one_error_line(capsys) == "error: unexpected KeyError: 'boom' (rerun with --traceback for details)"
    )
    with pytest.raises(KeyError):
        cli.main(["--traceback", "summary"])


def test_terminal_text_drops_escape_sequences_and_control_characters():
    assert terminal_text(HOSTILE) == "Checkout fails again here redoverride\tend"
    assert terminal_text("line one\nline two\ttab") == "line one\nline two\ttab"
    assert terminal_text("Café crème – 東京 🙂") == "Café crème – 東京 🙂"


def test_escape_sequences_in_a_record_text_never_reach_the_terminal(cli_settings, capsys):
    from feedback_ops.embed.local import LocalEmbedder

    embedder = LocalEmbedder()
    index = open_active_index(cli_settings, embedder.dimensions)
    try:
        vector = embedder.embed([HOSTILE])[0]
        index.upsert(
            [IndexDocument("f1:0", "f1", HOSTILE, vector.tolist(), "h1", {"channel": "chat\x1b[8m"})]
        )
    finally:
        index.close()
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)

    assert cli.main(["search", "checkout fails"]) == 0
    out = capsys.readouterr().out
    assert "f1" in out and "Checkout fails again here redoverride" in out
    assert not any(character in out for character in "\x1b\x9b\x07\x00\x7f\r\u202e")
