"""The base of every DSL model: camelCase JSON keys, snake_case attributes, no stray keys.

Unknown keys are rejected (``extra="forbid"``) so a typo such as ``agentID`` is reported
instead of silently ignored; attribute docstrings become JSON Schema descriptions, which
is what an IDE shows on hover.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class DslModel(BaseModel):
    """Base model for workflow documents."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )
