"""The only ways document text becomes source text: literals, escaped text, identifiers.

Generated code is built from ``Code``: Python source that codegen made itself. Document
text (names, ids, messages, values, keys ...) enters it through exactly one escaping
function, ``_escape``, behind three doors:

* ``py_literal(value)``: a Python literal of a JSON value (strings double-quoted);
* ``text(value)``: the same escaped characters without the quotes, for a triple-quoted
  docstring or a comment, where no quote, backslash, line break or non-printable character remains, so
  it can neither close the string nor start a new line;
* ``identifier(value)``: only ``[0-9a-z_]`` survives.

The templates print nothing but ``Code`` (``render.py`` refuses anything else), so text
that skipped these doors fails generation instead of reaching the module.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

from runtara.compiler.codegen.errors import CodegenError

_NOT_IDENT = re.compile(r"[^0-9a-zA-Z_]+")
_SAFE = re.compile(r'[^\\"]*')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class Code(str):
    """Python source text made by codegen (never document text as is)."""

    __slots__ = ()

    def __html__(self) -> str:  # printed as is by the autoescaping template environment
        return self


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():  # False for controls, line/paragraph separators, surrogates
        return char
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _escape(value: str) -> str:
    """``value`` as the inside of a double-quoted Python string literal, one line."""
    if value.isprintable() and _SAFE.fullmatch(value):
        return value
    return "".join(map(_escape_char, value))


def text(value: str) -> Code:
    """Document text for inside a triple-quoted docstring or a comment (escaped as in a literal)."""
    return Code(_escape(str(value)))


def py_literal(value: Any) -> Code:
    """Python source that evaluates to the JSON ``value`` (double-quoted strings)."""
    return Code(_literal(value))


def _literal(value: Any) -> str:
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CodegenError(f"{value!r} is not a JSON number")
        return repr(value)
    if isinstance(value, str):
        return f'"{_escape(value)}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise CodegenError(f"{type(value).__name__} {value!r} is not a JSON value")


def identifier(value: str) -> Code:
    """A lowercase Python identifier derived from a step id (``fetch-orders`` -> ``fetch_orders``)."""
    name = _NOT_IDENT.sub("_", value).strip("_").lower() or "step"
    if name[0].isdigit():
        name = "s_" + name
    if keyword.iskeyword(name):
        name += "_"
    return Code(name)


class Names:
    """Hands out unique identifiers, suffixing ``_2``, ``_3`` ... on a clash."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self._taken: set[str] = set(reserved or ())

    def claim(self, wanted: str) -> Code:
        if not wanted.isidentifier() or not wanted.isascii():
            raise CodegenError(f"{wanted!r} is not an identifier (a codegen bug)")
        name, n = wanted, 1
        while name in self._taken:
            n += 1
            name = f"{wanted}_{n}"
        self._taken.add(name)
        return Code(name)
