"""The base of every DSL model: camelCase JSON keys, snake_case attributes.

Unknown keys are kept aside (``extra="allow"``, in ``model_extra``) and ignored, as
Runtara ignores them; the validator reports each as W001 ("Did you mean ...") so a
typo such as ``agentID`` is still caught (``runtara.dsl.validation.unknown``). Values are not coerced (``strict``: ``"3"`` is not an
integer), so the models accept exactly what the generated JSON Schema accepts. Attribute
docstrings become JSON Schema descriptions (``runtara.dsl.schema`` reads them), which is
what an IDE shows on hover.
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
        extra="allow",
        strict=True,
    )
