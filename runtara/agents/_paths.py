"""Property paths for the transform agent: ``a.b.0.c``, ``$.a.b``, ``items[2].name``.

Reading a missing path gives None (as in Runtara). Writing creates objects on the way
and never mutates the caller's value.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_BRACKET = re.compile(r"\[(\d+)\]")


def split_path(path: str) -> list[str]:
    """``"$.items[2].name"`` -> ``["items", "2", "name"]`` (empty path -> ``[]``)."""
    text = path.strip()
    if text in ("", "$"):
        return []
    text = text.removeprefix("$.").removeprefix("$")
    text = _BRACKET.sub(r".\1", text)
    return [part for part in text.split(".") if part != ""]


def get_path(value: Any, path: str) -> Any:
    """The value at ``path`` inside ``value``, or None when any part is missing."""
    current = value
    for part in split_path(path):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else None
        else:
            return None
    return current


def set_path(target: Any, path: str, new_value: Any) -> Any:
    """A copy of ``target`` with ``path`` set to ``new_value``."""
    parts = split_path(path)
    if not parts:
        return copy.deepcopy(new_value)
    root = copy.deepcopy(target) if isinstance(target, dict | list) else {}
    current: Any = root
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(current, list) and part.isdigit():
            index = int(part)
            while len(current) <= index:
                current.append(None)
            if last:
                current[index] = new_value
            else:
                if not isinstance(current[index], dict | list):
                    current[index] = {}
                current = current[index]
        else:
            if not isinstance(current, dict):
                raise ValueError(f"cannot set {path!r}: {part!r} is inside a non-object")
            if last:
                current[part] = new_value
            else:
                if not isinstance(current.get(part), dict | list):
                    current[part] = {}
                current = current[part]
    return root
