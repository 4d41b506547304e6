"""Run one capability: check and coerce its inputs, hand over the connection, classify errors.

This is the single entry point generated workflow code uses::

    invoke("http", "http-request", {"url": "..."}, connection=conn, step_id="fetch")

Input problems raise ``InputError`` naming the step, the capability and the field. Errors
raised by a capability keep their classification (transient ones are retried by the
generated code); unexpected exceptions become a ``TransientError`` (network/OS) or a
``PermanentError`` (anything else). Messages never contain connection secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtara.agents.catalog import catalog
from runtara.agents.errors import (
    AgentError,
    InputError,
    PermanentError,
    TransientError,
    UnknownCapabilityError,
)
from runtara.agents.files import type_name
from runtara.agents.framework import CapabilitySpec, InputSpec
from runtara.agents.numbers import as_number
from runtara.agents.redaction import redact, redact_text

CONNECTION_KEY = "_connection"

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def invoke(
    agent_id: str,
    capability_id: str,
    inputs: Mapping[str, Any] | None,
    *,
    connection: Mapping[str, Any] | None = None,
    step_id: str | None = None,
) -> Any:
    """Validate ``inputs`` against the capability's typed spec and run it."""
    spec = resolve(agent_id, capability_id, step_id=step_id)
    values = dict(inputs or {})
    mapped_connection = values.pop(CONNECTION_KEY, None)
    connection = connection if connection is not None else mapped_connection
    try:
        arguments = coerce_inputs(spec, values)
        if connection is not None and not spec.takes_connection:
            raise InputError(
                f"agent {agent_id!r} is not secure and cannot receive a connection",
                field=CONNECTION_KEY,
            )
        if not spec.takes_connection:
            return _call(spec, arguments)
        arguments[CONNECTION_KEY] = connection
        result = _call(spec, arguments)
        # A server may echo credentials back; they must not reach outputs or checkpoints.
        return redact(result, connection, mask_keys=False) if connection else result
    except AgentError as exc:
        raise _in_context(exc, spec, step_id, connection) from None


def resolve(agent_id: str, capability_id: str, *, step_id: str | None = None) -> CapabilitySpec:
    """The capability's spec, or an error with a "did you mean" hint."""
    try:
        spec = catalog().lookup(f"{agent_id}:{capability_id}")
    except LookupError as exc:
        where = f"step {step_id!r}: " if step_id else ""
        raise UnknownCapabilityError(f"{where}{exc.args[0]}") from None
    assert isinstance(spec, CapabilitySpec)
    return spec


def coerce_inputs(spec: CapabilitySpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Apply defaults and check/convert every declared input; unknown keys are dropped."""
    arguments: dict[str, Any] = {}
    for field in spec.inputs:
        value = values.get(field.name)
        if value is None:
            if field.has_default:
                arguments[field.name] = field.default
                continue
            # An explicit null is a value for "any" inputs (Runtara's serde_json::Value).
            explicit_null = field.name in values and field.type == "any"
            if field.required and not field.nullable and not explicit_null:
                raise InputError(f"input {field.name!r} is required", field=field.name)
            arguments[field.name] = None
            continue
        arguments[field.name] = coerce_value(field, value)
    return arguments


def coerce_value(field: InputSpec, value: Any) -> Any:
    """Convert ``value`` to the field's type when that loses nothing; else raise InputError."""
    converted = _coerce(field.type, value, field.name)
    if field.type == "array" and field.items not in (None, "any"):
        converted = [
            _coerce(str(field.items), item, f"{field.name}[{index}]")
            for index, item in enumerate(converted)
        ]
    if field.enum is not None and converted not in field.enum:
        allowed = ", ".join(repr(v) for v in field.enum)
        raise InputError(
            f"input {field.name!r} has invalid value {converted!r}; allowed: {allowed}",
            field=field.name,
        )
    return converted


def _coerce(kind: str, value: Any, name: str) -> Any:
    converter = _CONVERTERS.get(kind)
    if converter is None:
        return value
    converted = converter(value)
    if converted is _REJECTED:
        raise InputError(f"input {name!r} expects {kind} but got {type_name(value)}", field=name)
    return converted


_REJECTED: Any = object()


def _to_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _REJECTED


def _to_integer(value: Any) -> Any:
    number = as_number(value)
    return int(number) if number is not None and float(number).is_integer() else _REJECTED


def _to_number(value: Any) -> Any:
    number = as_number(value)
    return _REJECTED if number is None else number


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    return _REJECTED


_CONVERTERS: dict[str, Any] = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "array": lambda v: list(v) if isinstance(v, list | tuple) else _REJECTED,
    "object": lambda v: dict(v) if isinstance(v, Mapping) else _REJECTED,
}


def _call(spec: CapabilitySpec, arguments: dict[str, Any]) -> Any:
    try:
        return spec.func(**arguments)
    except AgentError:
        raise
    except (TimeoutError, ConnectionError) as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}", code="TRANSIENT_ERROR") from None
    except OSError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}", code="IO_ERROR") from None
    except NotImplementedError:
        raise PermanentError(
            f"capability {spec.qualified_id} is not implemented", code="NOT_IMPLEMENTED"
        ) from None
    except RecursionError:
        raise PermanentError("input is nested too deeply", code="INVALID_INPUT") from None
    except Exception as exc:
        raise PermanentError(
            f"unexpected {type(exc).__name__}: {exc}", code="INTERNAL_ERROR"
        ) from None


def _in_context(
    exc: AgentError, spec: CapabilitySpec, step_id: str | None, connection: Any
) -> AgentError:
    """Prefix the message with step and capability (once) and mask secrets."""
    exc.capability = spec.qualified_id
    exc.step_id = step_id
    where = f"step {step_id!r} ({spec.qualified_id})" if step_id else spec.qualified_id
    message = exc.message if exc.message.startswith(where) else f"{where}: {exc.message}"
    exc.message = redact_text(message, connection if isinstance(connection, Mapping) else None)
    exc.args = (exc.message,)
    return exc
