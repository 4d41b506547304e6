"""Strict type coercion for references with a ``type`` hint (DSL.md, "Mapping values").

Rules, applied after ``default`` has replaced a null:

* null stays null for every type (a missing value is not invented; use ``default``).
* ``string``: strings as they are; booleans ``"true"``/``"false"``; numbers as JSON writes
  them; arrays and objects as compact JSON text.
* ``integer``: integers; integral floats; booleans 1/0; strings holding an integer
  (``" 42 "``, ``"4.0"``). A fraction, non-numeric text, an array or object fails.
* ``number``: integers and floats; booleans 1/0; numeric strings (``"1e3"``); NaN,
  infinity and everything else fail.
* ``boolean``: booleans; numbers (non-zero is true); strings ``true/1/yes`` and
  ``false/0/no/""`` (any case, trimmed); arrays and objects by emptiness; other text fails.
* ``json``: a string is parsed as JSON text (invalid JSON fails); other values pass.
* ``file``: an object with a base64 ``content`` passes; a string is taken as base64
  content (``{"content": s}``); invalid base64 or anything else fails.

A failure raises ``CoercionError`` with the value and the target type; the executor
turns it into a permanent failure of the step.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from typing import Any

from runtara.agents.numbers import parse_number
from runtara.sdk.flow.errors import CoercionError

_TRUE_WORDS = frozenset({"true", "1", "yes"})
_FALSE_WORDS = frozenset({"false", "0", "no", ""})


def _fail(value: Any, target: str, why: str = "") -> CoercionError:
    shown = json.dumps(value, default=str)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return CoercionError(f"cannot convert {shown} to {target}" + (f": {why}" if why else ""))


def to_string(value: Any) -> str | None:
    return None if value is None else as_text(value)


def as_text(value: Any) -> str:
    """A value as text: strings as they are, everything else as compact JSON (shared
    with templates, which write null as "")."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_integer(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _fail(value, "integer", "it has a fractional part")
    if isinstance(value, str):
        number = parse_number(value)
        if isinstance(number, int):
            return number
        if number is not None and number.is_integer():
            return int(number)
    raise _fail(value, "integer")


def to_number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise _fail(value, "number", "not finite")
    if isinstance(value, str):
        number = parse_number(value)
        if number is not None:
            return number
    raise _fail(value, "number")


def to_boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise _fail(value, "boolean", "expected true/false, yes/no or 1/0")
    if isinstance(value, list | dict):
        return bool(value)
    raise _fail(value, "boolean")


def to_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _fail(value, "json", f"invalid JSON text ({exc.msg} at {exc.pos})") from None


def to_file(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        _check_base64(value)
        return {"content": value}
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        _check_base64(value["content"])
        return value
    raise _fail(value, "file", "expected {content: base64, filename?, mimeType?}")


def _check_base64(text: str) -> None:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(text, "file", "content is not valid base64") from None


#: type hint -> converter, as codegen names them (``flow.COERCE["integer"]``).
COERCE: dict[str, Callable[[Any], Any]] = {
    "string": to_string,
    "integer": to_integer,
    "number": to_number,
    "boolean": to_boolean,
    "json": to_json,
    "file": to_file,
}
