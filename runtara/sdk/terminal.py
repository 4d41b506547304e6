"""Text that is safe to put on a person's terminal.

A workflow's log message is a template over data a stranger may have written (an HTTP
response, a file on an SFTP server, a webhook body). Written to a terminal as it is, an
escape sequence in it can recolour, clear or retitle the window, or hide lines; a
newline or carriage return can forge a log line. So every line an instance writes for
people (``runtara run``'s stderr, ``runtara instances logs``) goes through
``terminal_safe``: control characters are shown as Python escapes, and everything
printable, non-ASCII included, stays as it is.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNSAFE_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def terminal_safe(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character (C0, DEL, C1, line and paragraph
    separators, lone surrogates) written as an escape such as ``\\x1b``.

    ``lines``: keep newlines and tabs (for a message that is meant to span lines);
    otherwise the result is always one line.
    """
    return (_UNSAFE_BUT_LINES if lines else _UNSAFE).sub(_escape, text)
