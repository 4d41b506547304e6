"""Parsing of user-supplied JSON arguments (``--input``, ``--parameters``...), one rule for all.

A value is JSON text, or ``@FILE`` naming a file that holds it (which keeps secrets out
of shell history). Errors name the option and, for a file, its path and line:col.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtara.errors import Error


class ArgumentError(Error, ValueError):
    """A JSON argument could not be read or parsed; the message is for the user."""


def json_argument(text: str, option: str) -> Any:
    """Parse ``text`` (JSON, or ``@FILE``) given with ``option``."""
    source = option
    if text.startswith("@"):
        source = f"{option} {text}"
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ArgumentError(f"{source}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ArgumentError(f"{source}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArgumentError(
            f"{source}: invalid JSON at {exc.lineno}:{exc.colno}: {exc.msg}"
        ) from None
