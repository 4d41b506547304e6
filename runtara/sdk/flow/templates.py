"""Run-time half of template mapping values: turning values into text, and filters.

Codegen splits ``"Hi {{ data.name | upper }}!"`` at compile time into literal text and
expressions, and emits ``"".join(("Hi ", text(upper(get(data, "name"))), "!"))``, so no
template engine runs in the instance. Only ``{{ path }}`` with the filters below is
supported (a Jinja subset); anything else is rejected by codegen.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from runtara.agents.numbers import parse_number
from runtara.sdk.flow.coerce import as_text
from runtara.sdk.flow.conditions import length
from runtara.sdk.flow.errors import FlowError

#: The longest text a filter may build (a chain of ``replace`` grows geometrically:
#: 1 KB became 980 MB); about 10 MB of ASCII, under the 16 MiB checkpoint limit.
MAX_TEXT_CHARS = 10_000_000


class TextTooLong(FlowError):
    code = "TEMPLATE_TOO_LONG"


def _bounded(filter_name: str, size: int) -> None:
    if size > MAX_TEXT_CHARS:
        raise TextTooLong(
            f"template filter {filter_name}: the result would be {size:,} characters,"
            f" over the limit of {MAX_TEXT_CHARS:,}"
        )


def text(value: Any) -> str:
    """How a value is written into a template: null is empty, otherwise as the
    ``string`` coercion writes it (JSON for numbers, arrays and objects)."""
    return "" if value is None else as_text(value)


def upper(value: Any) -> str:
    return text(value).upper()


def lower(value: Any) -> str:
    return text(value).lower()


def title(value: Any) -> str:
    return text(value).title()


def capitalize(value: Any) -> str:
    return text(value).capitalize()


def trim(value: Any) -> str:
    return text(value).strip()


def default(value: Any, fallback: Any = "") -> Any:
    return fallback if value is None else value


def tojson(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(filter_name: str, value: Any) -> int | float:
    """A filter's operand as a number (text is parsed; an empty text is 0)."""
    written = text(value)
    number = parse_number(written) if written.strip() else 0
    if number is None:
        raise FlowError(f"template filter {filter_name}: {written!r} is not a number")
    return number


def to_int(value: Any) -> int:
    return int(_number("int", value))


def to_float(value: Any) -> float:
    return float(_number("float", value))


def round_(value: Any, digits: int = 0) -> float:
    return round(to_float(value), digits)


def join(value: Any, separator: Any = "") -> str:
    if isinstance(value, list):
        separator = text(separator)
        parts = [text(item) for item in value]
        _bounded("join", sum(map(len, parts)) + len(separator) * max(0, len(parts) - 1))
        return separator.join(parts)
    return text(value)


def first(value: Any) -> Any:
    if isinstance(value, list | str):
        return value[0] if value else None
    return None


def last(value: Any) -> Any:
    if isinstance(value, list | str):
        return value[-1] if value else None
    return None


def replace(value: Any, old: Any, new: Any) -> str:
    source, old, new = text(value), text(old), text(new)
    count = source.count(old) if old else len(source) + 1
    _bounded("replace", len(source) + count * (len(new) - len(old)))
    return source.replace(old, new)


def abs_(value: Any) -> float | int:
    number = to_float(value)
    return abs(int(number)) if number.is_integer() else abs(number)


def urlencode(value: Any) -> str:
    return urllib.parse.quote(text(value), safe="")


#: filter name (as written in templates) -> function. Codegen emits ``flow.tpl.<function
#: name>``, checking at import that this module exports each function under that name.
FILTERS: dict[str, Callable[..., Any]] = {
    "upper": upper,
    "lower": lower,
    "title": title,
    "capitalize": capitalize,
    "trim": trim,
    "default": default,
    "d": default,
    "tojson": tojson,
    "json": tojson,
    "string": text,
    "int": to_int,
    "float": to_float,
    "round": round_,
    "length": length,
    "count": length,
    "join": join,
    "first": first,
    "last": last,
    "replace": replace,
    "abs": abs_,
    "urlencode": urlencode,
}
