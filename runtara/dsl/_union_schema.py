"""JSON Schema for tagged unions as ``if``/``then`` chains instead of ``oneOf``.

pydantic renders a discriminated union as ``oneOf`` plus an OpenAPI ``discriminator``.
Standard validators ignore the discriminator and try every branch, which is slow (a
step is checked against all 13 step types) and gives useless errors ("not valid under
any of the given schemas"). An ``if``/``then`` per tag checks only the matching branch,
so an error names the field that is wrong, and IDEs complete the branch's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


@dataclass(frozen=True)
class TaggedUnionSchema:
    """Annotated metadata: render the union tagged by ``tag`` (a JSON key) as if/then.

    ``branch_condition`` optionally replaces the ``if`` schema per tag (used by the
    untagged condition-argument union, whose branches are told apart by key presence).
    """

    tag: str
    branch_conditions: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = ()

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if core_schema.get("type") != "tagged-union":
            raise TypeError("TaggedUnionSchema annotates a discriminated union")
        choices: dict[Any, CoreSchema] = core_schema["choices"]
        refs = {str(tag): handler(choice) for tag, choice in choices.items()}
        custom = {tag: make() for tag, make in self.branch_conditions}
        branches = [
            {
                "if": custom.get(tag)
                or {"properties": {self.tag: {"const": tag}}, "required": [self.tag]},
                "then": ref,
            }
            for tag, ref in refs.items()
        ]
        schema: dict[str, Any] = {"type": "object", "allOf": branches}
        if custom:
            # Untagged: an object that matches no branch's condition is an error too.
            schema["anyOf"] = [custom[tag] for tag in refs if tag in custom]
        else:
            schema["required"] = [self.tag]
            schema["properties"] = {self.tag: {"enum": list(refs)}}
        return schema
