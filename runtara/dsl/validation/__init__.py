"""The validator: every structural and semantic problem of a workflow, in one run.

    >>> result = validate("examples/hello.json")
    >>> result.ok, [d.format(result.filename) for d in result.diagnostics]

Structure first (the JSON Schema, S001); when the document has the right shape, the
semantic checks run on the model (codes of DSL.md). Codegen and ``runtara run`` call
``validate`` and refuse a document with errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtara.dsl.collection import collection_paused
from runtara.dsl.diagnostics import Diagnostic
from runtara.dsl.graph import Workflow
from runtara.dsl.loader import DocumentError, JsonDocument, build_workflow, parse_json, read_text
from runtara.dsl.source_map import SourceMap
from runtara.dsl.steps import AgentStep, AiAgentStep, ConnectionStep, EmbedWorkflowStep
from runtara.dsl.validation.agents import (
    check_agent_step,
    check_connection_step,
    check_unused_connections,
)
from runtara.dsl.validation.ai import check_ai_agent_step, tool_targets
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.validation.flow import check_flow
from runtara.dsl.validation.partial import checks_around_broken_steps
from runtara.dsl.validation.references import Namespace, check_references, scope_variables
from runtara.dsl.validation.secrets import check_step_secrets, check_variable_secrets
from runtara.dsl.validation.settings import (
    check_child,
    check_child_inputs,
    check_limits,
    check_names,
    check_step_values,
    check_variables,
)
from runtara.dsl.validation.unknown import check_unknown_fields
from runtara.dsl.walk import GraphScope, iter_graphs

__all__ = ["ValidationResult", "find_child_workflows", "validate", "validate_text"]


@dataclass
class ValidationResult:
    """The outcome for one file."""

    filename: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    workflow: Workflow | None = None
    """The model, when the document has a valid structure."""
    source_map: SourceMap | None = None
    readable: bool = True
    """False when the file could not be read or is not JSON."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        """Readable and without errors (warnings allowed)."""
        return self.readable and not self.errors


def validate(
    path: str | os.PathLike[str],
    *,
    children: Collection[str] | None = None,
    child_files: Mapping[str, Path] | None = None,
) -> ValidationResult:
    """Validate a workflow file.

    ``children``: ids of all the child workflows there are (E051 for any other; None:
    not checked, as Runtara does not). ``child_files``: child id -> file, whose
    ``inputSchema`` the step's ``inputMapping`` must fill (E055, W054).
    """
    filename = os.fspath(path)
    try:
        text = read_text(path)
    except DocumentError as exc:
        return ValidationResult(filename, exc.diagnostics, readable=False)
    return validate_text(text, filename, children=children, child_files=child_files)


def validate_text(
    text: str | bytes,
    filename: str = "<string>",
    *,
    children: Collection[str] | None = None,
    child_files: Mapping[str, Path] | None = None,
) -> ValidationResult:
    """Validate a workflow given as text (see ``validate``)."""
    with collection_paused():
        try:
            document = parse_json(text, filename)
        except DocumentError as exc:
            return ValidationResult(filename, exc.diagnostics, readable=False)
    return validate_document(document, children=children, child_files=child_files)


def validate_document(
    document: JsonDocument,
    *,
    children: Collection[str] | None = None,
    child_files: Mapping[str, Path] | None = None,
) -> ValidationResult:
    """Validate parsed JSON: structure, then (when the structure is sound) semantics.

    The model parse is the fast structural check; only when it fails does the (slower)
    JSON Schema run, because its errors explain the problem better. (The language
    server calls this on each edit; the collector is paused here for both.)
    """
    with collection_paused():
        return _validate_document(document, children, child_files)


def _validate_document(
    document: JsonDocument,
    children: Collection[str] | None,
    child_files: Mapping[str, Path] | None,
) -> ValidationResult:
    result = ValidationResult(document.filename, source_map=document.source_map)
    try:
        result.workflow = build_workflow(document)
    except DocumentError as exc:
        # Imported here: jsonschema is only needed for documents with structural errors.
        from runtara.dsl.validation.structural import structural_diagnostics

        near = [d.path for d in exc.diagnostics]
        try:
            result.diagnostics = structural_diagnostics(document, near) or exc.diagnostics
        except RecursionError:
            result.diagnostics = exc.diagnostics
        result.diagnostics += checks_around_broken_steps(
            document, near, semantic_diagnostics, children=children, child_files=child_files
        )
    if result.workflow is not None:
        result.diagnostics = semantic_diagnostics(
            result.workflow, document.source_map, children=children, child_files=child_files
        )
    if document.has_duplicate_keys:
        result.diagnostics += duplicate_key_diagnostics(document.source_map)
    result.diagnostics.sort(key=lambda d: (d.line, d.column, d.code))
    return result


def semantic_diagnostics(
    workflow: Workflow,
    source_map: SourceMap,
    *,
    children: Collection[str] | None = None,
    child_files: Mapping[str, Path] | None = None,
) -> list[Diagnostic]:
    """The checks of DSL.md on a structurally valid model."""
    from runtara.agents.catalog import catalog

    ctx = CheckContext(workflow, source_map, catalog(), children, dict(child_files or {}))
    top_variables = set(workflow.graph.variables)
    # What each graph sees, by its path of owning steps: a subgraph inherits the variables
    # of its parents (not their steps, but knowing them gives a better E010 message).
    variables_of: dict[tuple[str, ...], set[str]] = {}
    steps_of: dict[tuple[str, ...], set[str]] = {}
    for scope in iter_graphs(workflow):
        parent = scope.parent.path if scope.parent is not None else None
        inherited_variables = variables_of[parent] if parent is not None else set()
        outer_steps = steps_of[parent] if parent is not None else set()
        variables = scope_variables(scope, inherited_variables)
        variables_of[scope.path] = variables
        steps_of[scope.path] = outer_steps | set(scope.graph.steps)
        _check_scope(ctx, scope, variables, top_variables, outer_steps)
    check_names(ctx, workflow)
    check_unknown_fields(ctx, workflow)
    return ctx.diagnostics


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_scope(
    ctx: CheckContext,
    scope: GraphScope,
    variables: set[str],
    top_variables: set[str],
    ancestors_steps: set[str],
) -> None:
    flow = check_flow(ctx, scope)
    namespace = Namespace(scope, flow, variables, top_variables, ancestors_steps)
    check_references(ctx, namespace)
    check_variables(ctx, scope)
    check_variable_secrets(ctx, scope)
    tools = tool_targets(scope)
    for step_id, step in scope.graph.steps.items():
        ptr = scope.step_pointer(step_id)
        if not step_id:
            ctx.report("S001", "a step id must not be empty", ptr)
        elif _CONTROL.search(step_id):
            ctx.report(
                "S001",
                f"step id {step_id!r} contains a control character (NUL, newline, tab...):"
                " it would garble every log line, event and diagnostic that names it",
                ptr,
            )
        if step.id != step_id:
            ctx.report(
                "S001",
                f"step key '{step_id}' does not match its id '{step.id}'",
                f"{ptr}/id",
            )
        if isinstance(step, AgentStep):
            check_agent_step(ctx, step, ptr, tool=step_id in tools)
        elif isinstance(step, AiAgentStep):
            check_ai_agent_step(ctx, scope, step, ptr)
        elif isinstance(step, ConnectionStep):
            check_connection_step(ctx, step, ptr)
        elif isinstance(step, EmbedWorkflowStep):
            check_child(ctx, step, ptr)
            check_child_inputs(ctx, step, ptr)
        check_limits(ctx, step, ptr)
        check_step_values(ctx, step, ptr)
        check_step_secrets(ctx, step, ptr)
    check_unused_connections(ctx, scope, namespace.used_connections)


def duplicate_key_diagnostics(source_map: SourceMap) -> list[Diagnostic]:
    """S001 for a key repeated in one object: JSON silently keeps only the last."""
    out = []
    for ptr, where in source_map.duplicate_keys():
        parent, _, key = ptr.rpartition("/")
        key = key.replace("~1", "/").replace("~0", "~")
        message = f"duplicate key '{key}' in {parent or '/'}: only the last one counts"
        out.append(Diagnostic("S001", message, ptr, where.line, where.column))
    return out


def find_child_workflows(paths: Iterable[str | os.PathLike[str]]) -> dict[str, Path]:
    """Child workflow id -> file: each ``*.json`` file (directories searched recursively)
    is available as a child under its file name without ``.json``."""
    found: dict[str, Path] = {}
    for entry in paths:
        path = Path(entry)
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in files:
            found.setdefault(file.stem, file)
    return found
