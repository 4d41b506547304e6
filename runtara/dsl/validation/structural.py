"""S001: the document against the structural JSON Schema, every mismatch reported.

jsonschema's raw messages are rewritten where a plainer one helps ("unknown field
'agentID'. Did you mean 'agentId'?"), and each error points at the offending key or
value. The compiled validator is built once per process. Given the places where the
model parse failed, only the top-level steps containing them are checked (a large
document with one typo is not re-validated whole); anything else checks everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from runtara.agents.catalog import closest
from runtara.dsl.diagnostics import Diagnostic, did_you_mean
from runtara.dsl.loader import JsonDocument
from runtara.dsl.schema import structural_schema
from runtara.dsl.source_map import json_path, pointer, unescape_pointer
from runtara.dsl.validation.json_types import json_type


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(structural_schema())


_STEP_SCHEMA = {"$ref": "#/$defs/ExecutionGraph/properties/steps/additionalProperties"}


def structural_diagnostics(
    document: JsonDocument, near: Sequence[str] | None = None
) -> list[Diagnostic]:
    """S001 diagnostics; ``near``: JSON pointers of known problems, to narrow the check."""
    validator = _validator()
    steps = _failing_steps(document.value, near) if near else None
    if not steps:
        return [d for e in validator.iter_errors(document.value) for d in _diagnostics(e, document)]
    step_validator = validator.evolve(schema=_STEP_SCHEMA)
    out: list[Diagnostic] = []
    for tokens, step in steps:
        for error in step_validator.iter_errors(step):
            error.path.extendleft(reversed(tokens))
            out.extend(_diagnostics(error, document))
    return out


def _failing_steps(value: Any, near: Sequence[str]) -> list[tuple[list[str], Any]] | None:
    """The top-level steps holding every pointer in ``near``, or None if one is elsewhere."""
    wrapped = isinstance(value, dict) and "executionGraph" in value
    graph = value.get("executionGraph") if wrapped else value
    if not isinstance(graph, dict) or not isinstance(graph.get("steps"), dict):
        return None
    prefix = ["executionGraph", "steps"] if wrapped else ["steps"]
    found: dict[str, tuple[list[str], Any]] = {}
    for ptr in near:
        tokens = unescape_pointer(ptr)
        if tokens[: len(prefix)] != prefix or len(tokens) <= len(prefix):
            return None
        step_id = tokens[len(prefix)]
        found[step_id] = ([*prefix, step_id], graph["steps"].get(step_id))
    return list(found.values())


def _diagnostics(error: ValidationError, document: JsonDocument) -> list[Diagnostic]:
    ptr = pointer(*error.absolute_path)
    where = json_path(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties", {}))
        return [
            _at(
                document,
                f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}",
                f"unknown field '{key}' at {where}" + _sentence(did_you_mean(key, known)),
                at="key",
            )
            for key in instance
            if key not in known
        ]
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        # An unknown key is only a warning (W001), so a misspelt required one shows here.
        typo = closest(missing, [str(k) for k in instance]) if isinstance(instance, dict) else None
        found = f" (found '{typo}')" if typo else ""
        return [
            _at(document, ptr, f"missing required field '{missing}' at {where}{found}", at="key")
        ]
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        shown = ", ".join(_json_text(v) for v in allowed)
        hint = (
            did_you_mean(instance, [str(v) for v in allowed]) if isinstance(instance, str) else ""
        )
        return [
            _at(
                document,
                ptr,
                f"invalid value {_short(instance)} at {where}: expected {shown}.{hint}",
            )
        ]
    if keyword == "type":
        return [
            _at(
                document,
                ptr,
                f"expected {_type_names(error.validator_value)} at {where}, got {json_type(instance)}",
            )
        ]
    if keyword == "anyOf" and error.context:
        if _is_condition_union(error) and not ({"op", "valueType"} & set(instance)):
            detail = "expected a condition expression (op) or a mapping value (valueType)"
            return [_at(document, ptr, f"{detail} at {where}")]
        # Branches that want another JSON type (e.g. null) say least about the mistake.
        relevant = [e for e in error.context if e.validator != "type"] or error.context
        return _diagnostics(best_match(relevant), document)
    if keyword == "oneOf" and error.context:
        if (
            isinstance(instance, dict)
            and "childWorkflowId" in instance
            and "childScenarioId" in instance
        ):
            return [
                _at(document, ptr, f"give childWorkflowId or childScenarioId, not both, at {where}")
            ]
        if isinstance(instance, dict) and {"childWorkflowId", "childScenarioId"}.isdisjoint(
            instance
        ):
            return [
                _at(document, ptr, f"missing required field 'childWorkflowId' at {where}", at="key")
            ]
    return [_at(document, ptr, f"{error.message} at {where}")]


def _sentence(hint: str) -> str:
    """``. Did you mean 'x'?`` after a message, or nothing."""
    return f".{hint}" if hint else ""


def _is_condition_union(error: ValidationError) -> bool:
    """The untagged condition-argument union (see ``TaggedUnionSchema``)."""
    return isinstance(error.instance, dict) and "allOf" in error.schema


def _at(document: JsonDocument, ptr: str, message: str, *, at: str = "value") -> Diagnostic:
    position = document.source_map.locate(ptr, prefer=at)
    return Diagnostic("S001", message, ptr, position.line, position.column)


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _json_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _type_names(expected: Any) -> str:
    return " or ".join(expected) if isinstance(expected, list) else str(expected)
