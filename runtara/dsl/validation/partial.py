"""Semantic checks of a document whose structure is broken in some steps only.

Each step that does not match the schema stands in as a bare Finish step with the same
id, so the rest of the document (references, edges, agents, limits...) is still checked
in the same run. Problems found inside a stand-in are dropped: its S001 errors already
say what is wrong there; so are findings about what no step uses, since the broken
step may be the user.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from runtara.dsl.diagnostics import Diagnostic
from runtara.dsl.loader import DocumentError, JsonDocument, build_workflow
from runtara.dsl.source_map import pointer, unescape_pointer

#: Codes that need every step as written: a stand-in uses nothing (W040 unused connection).
_NEEDS_EVERY_STEP = frozenset({"W040"})


def checks_around_broken_steps(
    document: JsonDocument,
    broken_at: Sequence[str],
    check: Any,
    *,
    children: Collection[str] | None = None,
    child_files: Mapping[str, Path] | None = None,
) -> list[Diagnostic]:
    """``check(workflow, source_map, children=...)`` on the document with the steps holding
    ``broken_at`` (JSON pointers) replaced; [] when a problem lies outside top-level steps."""
    replaced = _with_stand_ins(document.value, broken_at)
    if replaced is None:
        return []
    value, stand_ins = replaced
    try:
        workflow = build_workflow(JsonDocument(document.filename, value, document.source_map))
    except DocumentError:
        return []
    found: list[Diagnostic] = check(
        workflow, document.source_map, children=children, child_files=child_files
    )
    return [
        d
        for d in found
        if d.code not in _NEEDS_EVERY_STEP and not any(_within(d.path, ptr) for ptr in stand_ins)
    ]


def _with_stand_ins(value: Any, broken_at: Sequence[str]) -> tuple[Any, list[str]] | None:
    wrapped = isinstance(value, dict) and "executionGraph" in value
    graph = value.get("executionGraph") if wrapped else value
    if not broken_at or not isinstance(graph, dict) or not isinstance(graph.get("steps"), dict):
        return None
    prefix = ["executionGraph", "steps"] if wrapped else ["steps"]
    broken: set[str] = set()
    for ptr in broken_at:
        tokens = unescape_pointer(ptr)
        if tokens[: len(prefix)] != prefix or len(tokens) <= len(prefix):
            return None
        broken.add(tokens[len(prefix)])
    steps = {
        key: {"stepType": "Finish", "id": key} if key in broken else step
        for key, step in graph["steps"].items()
    }
    new_graph = {**graph, "steps": steps}
    new_value = {**value, "executionGraph": new_graph} if wrapped else new_graph
    return new_value, [pointer(*prefix, key) for key in sorted(broken)]


def _within(path: str, ptr: str) -> bool:
    return path == ptr or path.startswith(ptr + "/")
