"""Mapping values: how a step's inputs are computed from data, variables and step outputs.

Four kinds, tagged by ``valueType``: ``immediate`` (a literal), ``reference`` (a path
such as ``steps.fetch.outputs.body``), ``template`` (a string with ``{{ path }}``
placeholders) and ``composite`` (an object or array whose leaves are mapping values).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter
from typing_extensions import TypeAliasType

from runtara.dsl._base import DslModel
from runtara.dsl._union_schema import TaggedUnionSchema

#: Type hints a reference may ask for; conversion is strict (a failure fails the step).
ReferenceType = Literal["string", "integer", "number", "boolean", "json", "file"]


class ImmediateValue(DslModel):
    """A literal JSON value, taken as is (strings are never interpreted)."""

    value_type: Literal["immediate"]
    value: Any
    """Any JSON value."""


class ReferenceValue(DslModel):
    """The value at a path, e.g. ``data.user.name`` or ``steps['fetch'].outputs.body``."""

    value_type: Literal["reference"]
    value: str
    """Path from the root: data, variables, steps, workflow.inputs (loop.*, item.* where allowed)."""
    type: ReferenceType | None = None
    """Convert the value to this type; a value that cannot be converted fails the step."""
    default: Any = None
    """Used when the path reads as null (missing)."""

    @property
    def has_default(self) -> bool:
        """True when the document sets ``default`` (even to null)."""
        return "default" in self.model_fields_set


class TemplateValue(DslModel):
    """A string with ``{{ path }}`` placeholders (and simple ``| filter`` s) rendered in place."""

    value_type: Literal["template"]
    value: str
    """Text such as ``Hello {{ data.name }}``."""


class CompositeValue(DslModel):
    """An object or array whose leaves are mapping values."""

    value_type: Literal["composite"]
    value: dict[str, MappingValue] | list[MappingValue]
    """Object of key -> mapping value, or array of mapping values."""


MappingValue = TypeAliasType(
    "MappingValue",
    Annotated[
        ImmediateValue | ReferenceValue | TemplateValue | CompositeValue,
        Field(discriminator="value_type"),
        TaggedUnionSchema("valueType"),
    ],
)
"""One of the four mapping value kinds, told apart by ``valueType``."""

#: destination key -> value; a dotted key (``"a.b"``) builds nested objects.
InputMapping = dict[str, MappingValue]

MAPPING_VALUE_TYPES: tuple[str, ...] = ("immediate", "reference", "template", "composite")

_MAPPING_ADAPTER: TypeAdapter[Any] = TypeAdapter(MappingValue)


def parse_mapping_value(
    raw: Any,
) -> ImmediateValue | ReferenceValue | TemplateValue | CompositeValue:
    """Validate one mapping value from plain JSON (raises ``pydantic.ValidationError``)."""
    result: ImmediateValue | ReferenceValue | TemplateValue | CompositeValue = (
        _MAPPING_ADAPTER.validate_python(raw)
    )
    return result


class FileValue(DslModel):
    """A file carried in JSON: base64 content plus optional name and media type."""

    content: str
    """The file's bytes, base64-encoded."""
    filename: str | None = None
    mime_type: str | None = None
