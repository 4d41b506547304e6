"""W001: a field the language does not know, ignored (as Runtara ignores it).

Runtara documents carry fields this project does not model (``trackEvents``,
``connectionRef``, editor state); refusing them would refuse Runtara's own documents, so
each is a warning, with "Did you mean" for what is likely a typo (``agentID``). The
models keep unknown keys in ``model_extra``; this walks the model tree beside the JSON
pointers of the document. ``inputMapping`` keys are not model fields: W020 covers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from runtara.dsl.diagnostics import did_you_mean
from runtara.dsl.graph import Workflow
from runtara.dsl.source_map import escape_pointer_token
from runtara.dsl.validation.context import CheckContext


def check_unknown_fields(ctx: CheckContext, workflow: Workflow) -> None:
    """One W001 per unknown key, anywhere in the document."""
    # A bare graph: the graph's own keys are at the top of the document.
    found = _unknown(workflow, "") if workflow.wrapped else _unknown(workflow.graph, "")
    for ptr, key, known in found:
        hint = did_you_mean(key, known)
        ctx.report("W001", f"unknown field '{key}', ignored.{hint}".rstrip("."), ptr, at="key")


def _unknown(model: BaseModel, ptr: str) -> Iterator[tuple[str, str, list[str]]]:
    """(pointer, key, known keys) of each unknown key under ``model``."""
    fields = type(model).model_fields
    if model.model_extra:
        known = [info.alias or name for name, info in fields.items()]
        for key in model.model_extra:
            yield f"{ptr}/{escape_pointer_token(key)}", key, known
    for name, info in fields.items():
        if name not in model.model_fields_set:
            continue
        yield from _walk(getattr(model, name), f"{ptr}/{escape_pointer_token(info.alias or name)}")


def _walk(value: Any, ptr: str) -> Iterator[tuple[str, str, list[str]]]:
    if isinstance(value, BaseModel):
        yield from _unknown(value, ptr)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{ptr}/{escape_pointer_token(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{ptr}/{index}")
