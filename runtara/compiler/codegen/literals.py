"""Python source for JSON values and safe identifiers for step ids."""

from __future__ import annotations

import json
import keyword
import math
import re
from typing import Any

_NOT_IDENT = re.compile(r"[^0-9a-zA-Z_]+")


def py_literal(value: Any) -> str:
    """Python source that evaluates to the JSON ``value`` (double-quoted strings)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{py_literal(str(k))}: {py_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"{type(value).__name__} is not a JSON value")


def identifier(text: str) -> str:
    """A lowercase Python identifier derived from a step id (``fetch-orders`` -> ``fetch_orders``)."""
    name = _NOT_IDENT.sub("_", text).strip("_").lower() or "step"
    if name[0].isdigit():
        name = "s_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


class Names:
    """Hands out unique identifiers, suffixing ``_2``, ``_3`` ... on a clash."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self._taken: set[str] = set(reserved or ())

    def claim(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self._taken:
            n += 1
            name = f"{wanted}_{n}"
        self._taken.add(name)
        return name
