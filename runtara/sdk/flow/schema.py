"""Checking the instance input against the workflow's ``inputSchema`` before any step.

The schema is the DSL's small field map (``{field: {type, required, default, enum,
items}}``), not JSON Schema, so a few lines of standard library cover it. Missing
optional fields with a ``default`` get it; every problem is reported in one message.
"""

from __future__ import annotations

from typing import Any

from runtara.sdk.flow.errors import InputValidationError

_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "file": (dict, str),
}


def validate_input(data: Any, schema: dict[str, dict[str, Any]]) -> Any:
    """Return ``data`` with defaults filled in, or raise naming every bad field."""
    if not schema:
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputValidationError(f"input must be a JSON object, got {_kind(data)}")
    problems: list[str] = []
    result = _fields(data, schema, "", problems)
    if problems:
        raise InputValidationError("input does not match inputSchema: " + "; ".join(problems))
    return result


def _fields(
    data: dict[str, Any], schema: dict[str, dict[str, Any]], where: str, problems: list[str]
) -> dict[str, Any]:
    """``data`` with defaults filled in; problems of its fields appended to ``problems``."""
    result = dict(data)
    for name, field in schema.items():
        path = f"{where}{name}"
        if result.get(name) is None:
            if "default" in field:
                result[name] = field["default"]
            elif field.get("required", False):
                problems.append(f"{path}: required field is missing")
            continue
        problems.extend(_check(path, result[name], field))
        properties = field.get("properties")
        if isinstance(result[name], dict) and isinstance(properties, dict):
            result[name] = _fields(result[name], properties, f"{path}.", problems)
    return result


def _check(where: str, value: Any, field: dict[str, Any]) -> list[str]:
    expected = field.get("type")
    allowed = _CHECKS.get(expected) if isinstance(expected, str) else None
    if allowed is not None:
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if expected == "integer" and isinstance(value, float) and value.is_integer():
            ok = True
        if not ok:
            return [f"{where}: expected {expected}, got {_kind(value)}"]
    enum = field.get("enum")
    if enum is not None and value not in enum:
        return [f"{where}: {value!r} is not one of {enum!r}"]
    items = field.get("items")
    if expected == "array" and isinstance(items, dict):
        problems: list[str] = []
        for index, item in enumerate(value):
            problems.extend(_check(f"{where}[{index}]", item, items))
        return problems
    return []


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)
