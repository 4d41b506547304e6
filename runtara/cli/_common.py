"""Conventions shared by every CLI command: output format, errors, JSON printing.

Commands print results on stdout (text for people, ``--format json`` for scripts)
and progress or errors on stderr, so that ``runtara ... --format json | jq`` works.
"""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from runtara.errors import Error
from runtara.sdk.terminal import terminal_safe


class _TerminalConsole(Console):
    """A rich console that shows control characters in the text it prints as escapes.

    Instance ids, names, messages and errors may come from data a stranger wrote (an
    HTTP response, a webhook body): printed raw, an escape sequence in them could
    recolour, clear or retitle the terminal. Newlines and tabs stay (messages may span
    lines); rich's own styling is added after this and is unaffected.
    """

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(terminal_safe(text, lines=True), **options)


stdout = _TerminalConsole(highlight=False, soft_wrap=True)
stderr = _TerminalConsole(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


Format = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output format: text for people, json for scripts."),
]

Limit = Annotated[
    int, typer.Option("--limit", min=1, max=1000, help="Show at most this many (one page).")
]
Offset = Annotated[
    int, typer.Option("--offset", min=0, max=10_000_000, help="Skip this many (the next pages).")
]


def print_table(table: Table) -> None:
    """Print ``table`` on stdout without cutting a cell: at 80 columns or piped, a row
    wider than the terminal is printed whole (ids are for copying, never shortened)."""
    for column in table.columns:
        column.no_wrap = column.no_wrap or column.overflow != "fold"
    needed = Measurement.get(stdout, stdout.options.update_width(100_000), table).minimum
    width = stdout.width
    stdout.width = max(width, needed)
    try:
        stdout.print(table)
    finally:
        stdout.width = width


class CliError(Error):
    """A user-facing error: printed as one line on stderr, never as a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def fail(message: str, exit_code: int = 1) -> NoReturn:
    raise CliError(message, exit_code)


def print_json(value: Any) -> None:
    """Write one JSON document to stdout (no colour, no wrapping)."""
    from runtara.sdk.payload import encode  # bytes as {"$bytes": base64}, as the API has them

    text = json.dumps(encode(value), indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_json_escape_controls(text) + "\n")
    sys.stdout.flush()


def as_json(value: Any, **options: Any) -> str:
    """``value`` as JSON text for a person to read; bytes shown as ``{"$bytes": ...}``."""
    from runtara.sdk.payload import encode

    return _json_escape_controls(json.dumps(encode(value), ensure_ascii=False, **options))


_C1_AND_SEPARATORS = re.compile("[\x7f-\x9f\u2028\u2029]")


def _json_escape_controls(text: str) -> str:
    """JSON text with the control characters ``json.dumps`` leaves raw when it keeps
    non-ASCII (DEL, C1, line and paragraph separators) written as ``\\uXXXX`` too: still
    the same JSON, and nothing a terminal would act on."""
    return _C1_AND_SEPARATORS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_option(text: str, option: str) -> Any:
    """A JSON option value (JSON text or ``@FILE``); a bad one is a one-line error, exit 2."""
    from runtara.arguments import ArgumentError, json_argument

    try:
        return json_argument(text, option)
    except ArgumentError as exc:
        fail(str(exc), 2)
