"""Schema fields: the shape of a workflow's input and output (and of a signal's payload).

Runtara's editors also keep form hints on a field (``label``, ``format``, ``min`` /
``max``, ``pattern``, ``visibleWhen``); they are accepted and, apart from ``pattern``,
``min``/``max`` and ``nullable``, only shown to people.
"""

from __future__ import annotations

from typing import Any, Literal

from runtara.dsl._base import DslModel

FieldType = Literal[
    "string", "number", "integer", "boolean", "array", "object", "file", "connection"
]
"""``connection``: the id of a stored connection (a string)."""


class SchemaField(DslModel):
    """One field of an input or output schema."""

    type: FieldType
    description: str | None = None
    required: bool = False
    default: Any = None
    example: Any = None
    items: SchemaField | None = None
    """Element schema of an array."""
    enum: list[Any] | None = None
    properties: dict[str, SchemaField] | None = None
    """Fields of an object."""
    nullable: bool = False
    """Null is a valid value."""
    label: str | None = None
    """Name shown in forms."""
    format: str | None = None
    """Display or string format hint (``email``, ``date``, ``textarea``...)."""
    min: float | None = None
    """Least number (or string length)."""
    max: float | None = None
    """Greatest number (or string length)."""
    pattern: str | None = None
    """Regular expression a string must match."""
    visible_when: Any = None
    """Form hint: show the field only when this holds (not checked here)."""
