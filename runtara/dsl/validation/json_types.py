"""JSON value types as the catalog and variables name them (``integer``, ``file``, ...)."""

from __future__ import annotations

from typing import Any

from runtara.agents.files import type_name as json_type

__all__ = ["json_type", "type_matches"]


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
