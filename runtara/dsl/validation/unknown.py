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
    found = _unknown(workflow if workflow.wrapped else workflow.graph, [])
    for ptr, key, known in found:
        hint = did_you_mean(key, known)
        ctx.report("W001", f"unknown field '{key}', ignored.{hint}".rstrip("."), ptr, at="key")


def _unknown(model: BaseModel, path: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(pointer, key, known keys) of each unknown key under ``model``.

    ``path`` holds the escaped tokens down to ``model`` and is joined only for an unknown
    key: building a pointer string for each value of a large document cost more than the
    rest of the check.
    """
    fields = type(model).model_fields
    if model.model_extra:
        known = [info.alias or name for name, info in fields.items()]
        prefix = "".join(f"/{token}" for token in path)
        for key in model.model_extra:
            yield f"{prefix}/{escape_pointer_token(key)}", key, known
    fields_set = model.model_fields_set
    for name, info in fields.items():
        if name not in fields_set:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel | dict | list):
            path.append(escape_pointer_token(info.alias or name))
            yield from _walk(value, path)
            path.pop()


def _walk(value: Any, path: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    if isinstance(value, BaseModel):
        yield from _unknown(value, path)
        return
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, BaseModel | dict | list):
            path.append(escape_pointer_token(key) if isinstance(key, str) else str(key))
            yield from _walk(item, path)
            path.pop()
