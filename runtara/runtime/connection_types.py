"""Check connection parameters against the agent catalog's connection types.

A connection is stored only if its ``integration_id`` is a known type and its
parameters are the ones that type declares (required present, no strangers, right
JSON types); messages name the parameter, never a value.
"""

from __future__ import annotations

from typing import Any

from runtara.agents.catalog import catalog
from runtara.agents.framework import ConnectionTypeSpec
from runtara.runtime.errors import InvalidInput

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def spec(integration_id: str) -> ConnectionTypeSpec:
    types = catalog().connection_types
    if integration_id not in types:
        raise InvalidInput(
            f"unknown integration_id {integration_id!r}; known: {', '.join(sorted(types))}"
        )
    return types[integration_id]


def validate(integration_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in, or InvalidInput naming what is wrong."""
    declared = spec(integration_id)
    known = {p.name: p for p in declared.parameters}
    strangers = sorted(set(parameters) - set(known))
    if strangers:
        raise InvalidInput(
            f"{integration_id}: unknown parameter(s) {', '.join(strangers)}; "
            f"expected {', '.join(known)}"
        )
    result: dict[str, Any] = {}
    for name, param in known.items():
        if name not in parameters or parameters[name] is None:
            if param.required:
                raise InvalidInput(f"{integration_id}: parameter {name!r} is required")
            if param.has_default:
                result[name] = param.default
            continue
        value = parameters[name]
        allowed = _JSON_TYPES.get(param.type)
        wrong_bool = isinstance(value, bool) and param.type in ("integer", "number")
        if allowed is not None and (not isinstance(value, allowed) or wrong_bool):
            raise InvalidInput(f"{integration_id}: parameter {name!r} must be a {param.type}")
        result[name] = value
    return result


def secret_names(integration_id: str) -> list[str]:
    """Parameters whose values must never appear in logs, events or errors."""
    try:
        return list(spec(integration_id).secret_parameters)
    except InvalidInput:
        return []
