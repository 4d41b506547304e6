"""JSON value types as the catalog and variables name them (``integer``, ``file``, ...)."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """The JSON type name of a Python value from ``json.loads``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_ACCEPTS: dict[str, tuple[str, ...]] = {
    "string": ("string",),
    "integer": ("integer",),
    "number": ("integer", "number"),
    "boolean": ("boolean",),
    "array": ("array",),
    "object": ("object",),
    "file": ("string", "object", "array"),
}


def type_matches(field_type: str, value: Any) -> bool:
    """Whether a JSON value fits a catalog/variable type (``any`` and unknown types fit all)."""
    accepted = _ACCEPTS.get(field_type)
    if accepted is None:
        return True
    kind = json_type(value)
    if field_type == "integer" and isinstance(value, float):
        return value.is_integer()
    return kind in accepted
