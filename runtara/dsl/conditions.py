"""Condition expressions: used by Conditional, While, Filter and conditional edges.

An expression is an operation (``{"type": "operation", "op": ..., "arguments": [...]}``)
or a value tested for truthiness (``{"type": "value", "valueType": ..., "value": ...}``).
Arguments are nested expressions or plain mapping values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Tag
from typing_extensions import TypeAliasType

from runtara.dsl._base import DslModel
from runtara.dsl._union_schema import TaggedUnionSchema
from runtara.dsl.mapping import (
    CompositeValue,
    ImmediateValue,
    MappingValue,
    ReferenceValue,
    TemplateValue,
    parse_mapping_value,
)

ConditionOp = Literal[
    "AND",
    "OR",
    "NOT",
    "EQ",
    "NE",
    "GT",
    "GTE",
    "LT",
    "LTE",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "IN",
    "NOT_IN",
    "LENGTH",
    "IS_DEFINED",
    "IS_EMPTY",
    "IS_NOT_EMPTY",
    "MATCH",
]
"""``MATCH`` is Runtara's query-only operator: parsed, and refused in a workflow (E027)."""
#: Operators a query may use but a workflow condition may not.
QUERY_ONLY_OPS = ("MATCH",)
CONDITION_OPS: tuple[str, ...] = get_args(ConditionOp)


class OperationCondition(DslModel):
    """An operator applied to arguments, e.g. ``GT(data.amount, 100)``."""

    type: Literal["operation"] = "operation"
    op: ConditionOp
    """AND, OR, NOT, comparisons (EQ, NE, GT, GTE, LT, LTE), string/array tests, emptiness tests."""
    arguments: list[ConditionArgument] = []
    """Nested expressions or mapping values."""


class ValueCondition(DslModel):
    """A mapping value tested for truthiness (null, false, 0, "", [], {} are false)."""

    type: Literal["value"]
    value_type: Literal["immediate", "reference", "template", "composite"]
    value: Any
    default: Any = None
    """Used when a reference reads as null."""

    def as_mapping(self) -> ImmediateValue | ReferenceValue | TemplateValue | CompositeValue:
        """The same value as a mapping value (what code generation evaluates)."""
        raw: dict[str, Any] = {"valueType": self.value_type, "value": self.value}
        if self.value_type == "reference" and "default" in self.model_fields_set:
            raw["default"] = self.default
        return parse_mapping_value(raw)


def _argument_kind(raw: Any) -> str | None:
    """Tell an argument's kind: an expression has ``op`` or a ``type`` of its own."""
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind == "value":
            return "value"
        if kind == "operation" or "op" in raw:
            return "operation"
        if "valueType" in raw or "value_type" in raw:
            return "mapping"
        return None
    if isinstance(raw, OperationCondition):
        return "operation"
    if isinstance(raw, ValueCondition):
        return "value"
    return "mapping"


def _is_mapping_argument() -> dict[str, Any]:
    return {
        "required": ["valueType"],
        "not": {"required": ["type"], "properties": {"type": {"enum": ["operation", "value"]}}},
    }


def _is_value_condition() -> dict[str, Any]:
    return {"required": ["type"], "properties": {"type": {"const": "value"}}}


def _is_operation() -> dict[str, Any]:
    return {
        "anyOf": [
            {"required": ["op"]},
            {"required": ["type"], "properties": {"type": {"const": "operation"}}},
        ]
    }


ConditionArgument = TypeAliasType(
    "ConditionArgument",
    Annotated[
        Annotated[OperationCondition, Tag("operation")]
        | Annotated[ValueCondition, Tag("value")]
        | Annotated[MappingValue, Tag("mapping")],
        Discriminator(
            _argument_kind,
            custom_error_type="condition_argument",
            custom_error_message="expected a condition expression (op) or a mapping value (valueType)",
        ),
        TaggedUnionSchema(
            "type",
            branch_conditions=(
                ("operation", _is_operation),
                ("value", _is_value_condition),
                ("mapping", _is_mapping_argument),
            ),
        ),
    ],
)
"""A nested expression or a mapping value."""


def _condition_kind(raw: Any) -> str | None:
    kind = _argument_kind(raw)
    return None if kind == "mapping" else kind


Condition = TypeAliasType(
    "Condition",
    Annotated[
        Annotated[OperationCondition, Tag("operation")] | Annotated[ValueCondition, Tag("value")],
        Discriminator(
            _condition_kind,
            custom_error_type="condition",
            custom_error_message='expected {"type": "operation", "op": ...} or {"type": "value", ...}',
        ),
        TaggedUnionSchema(
            "type", branch_conditions=(("operation", _is_operation), ("value", _is_value_condition))
        ),
    ],
)
"""A condition expression: an operation or a value tested for truthiness."""

__all__ = [
    "CONDITION_OPS",
    "CompositeValue",
    "Condition",
    "ConditionArgument",
    "ConditionOp",
    "OperationCondition",
    "ReferenceValue",
    "TemplateValue",
    "ValueCondition",
]
