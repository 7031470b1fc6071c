"""The terminal side of the ``feedback-ops`` command: customer text is shown, never obeyed by the terminal,
and a failure is one line.

Feedback text reaches the terminal in many commands (``review list``, ``search``, ``ask``, ``alerts list``, …).
A record can carry terminal escape sequences - CSI (``ESC [ … m`` colours, cursor moves, screen clears), OSC
(``ESC ] … BEL``: window titles, hyperlinks, clipboard writes) - that would act on the analyst's terminal.
``terminal_text`` removes them: whole escape sequences first, then every remaining C0 and C1 control
character (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``) except ``\\n`` and ``\\t``, and the Unicode bidirectional
overrides and isolates that reorder what is shown. ``safe_terminal`` puts a ``TerminalStream`` in front of
``sys.stdout`` and ``sys.stderr`` for the whole command, so every printer of the CLI goes through this one
helper.

``CommandError`` is a failure to report to the user (bad input, missing state): the CLI prints it as one
``error: …`` line on stderr and exits with its ``exit_code`` (2 unless said otherwise).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

_ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: ESC [ parameters intermediates final
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI, 8-bit
    r"|(?:\x1b[\]P^_X]|[\x9d\x90\x9e\x9f\x98])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, PM, APC, SOS
    r"|\x1b[ -/]*[0-~]?"  # any other escape (ESC c resets the terminal, ESC ( B charsets, …)
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` without terminal escape sequences, C0/C1 control characters (``\\n`` and ``\\t`` kept) or
    bidirectional overrides: safe to write to a terminal."""
    return _CONTROL_CHARACTERS.sub("", _ESCAPE_SEQUENCES.sub("", text))


class TerminalStream:
    """A text stream that writes through ``terminal_text`` to the stream it wraps (everything else is the
    wrapped stream's)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` cleaned; returns the length of ``text`` (what the caller handed over)."""
        self.stream.write(terminal_text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Write each line cleaned."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def safe_terminal() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` write through ``terminal_text``."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(stdout), TerminalStream(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


class CommandError(Exception):
    """A failure the user can act on, printed as one ``error: …`` line on stderr; ``exit_code`` 2 (bad
    input or state, as argparse) unless said otherwise."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(message: object) -> str:
    """``message`` on one line: line breaks and runs of spaces become one space."""
    return " ".join(str(message).split())


def non_negative_int(value: str) -> int:
    """An argparse type: an integer of 0 or more."""
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return number


def positive_int(value: str) -> int:
    """An argparse type: an integer of 1 or more."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return number


def iso_datetime(value: str) -> datetime:
    """An argparse type: an ISO 8601 date or date-time (``2026-11-20``, ``2026-11-20T12:00``)."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or date-time (YYYY-MM-DD[THH:MM]): {value!r}"
        ) from None
