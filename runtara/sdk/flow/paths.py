"""Reading a value at a path: the run-time half of reference resolution.

Codegen parses every reference path at compile time (``steps['a'].outputs.items[0]``
becomes the key tuple ``("a", "outputs", "items", 0)`` over the ``steps`` dict), so all
that is left at run time is this walk, where anything missing reads as ``None``.
"""

from __future__ import annotations

from typing import Any


def get(root: Any, *keys: str | int) -> Any:
    """Walk ``keys`` from ``root``; a missing key, index or wrong container gives ``None``."""
    current = root
    for key in keys:
        if isinstance(current, dict):
            current = current.get(key if isinstance(key, str) else str(key))
        elif isinstance(current, list):
            index = key if isinstance(key, int) else _as_index(key)
            if index is None or not -len(current) <= index < len(current):
                return None
            current = current[index]
        else:
            return None
        if current is None:
            return None
    return current


def or_default(value: Any, fallback: Any) -> Any:
    """A reference's ``default``: replaces null (and so anything missing)."""
    return fallback if value is None else value


def _as_index(key: str) -> int | None:
    return int(key) if key.isdigit() else None
