"""Configuration checks: limits (W030-W034), child workflows (E050, E051, E055), names (E060),
literal values of the wrong type (E023) and GroupBy key paths (E011)."""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pydantic

from runtara.dsl.diagnostics import available, did_you_mean
from runtara.dsl.graph import Workflow
from runtara.dsl.mapping import FileValue, ImmediateValue
from runtara.dsl.references import ReferenceSyntaxError, parse_reference
from runtara.dsl.source_map import escape_pointer_token
from runtara.dsl.steps import (
    AgentStep,
    DelayStep,
    EmbedWorkflowStep,
    FilterStep,
    GroupByStep,
    SplitStep,
    StepBase,
    WhileStep,
)
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.validation.json_types import json_type, type_matches
from runtara.dsl.walk import GraphScope, iter_steps

HOUR_MS = 3_600_000
MAX_RETRIES = 50
MAX_PARALLELISM = 100
MAX_ITERATIONS = 10_000


def check_limits(ctx: CheckContext, step: StepBase, ptr: str) -> None:
    """W030 maxRetries > 50, W031 retryDelay > 1 h, W032 parallelism > 100,
    W033 maxIterations > 10,000, W034 timeout > 1 h."""
    if isinstance(step, AgentStep | EmbedWorkflowStep):
        _limits(ctx, step.id, ptr, step.max_retries, step.retry_delay, step.timeout)
    elif isinstance(step, SplitStep):
        config = step.config
        _limits(
            ctx, step.id, f"{ptr}/config", config.max_retries, config.retry_delay, config.timeout
        )
        if config.parallelism > MAX_PARALLELISM:
            ctx.report(
                "W032",
                f"Step '{step.id}': parallelism {config.parallelism} is above {MAX_PARALLELISM}",
                f"{ptr}/config/parallelism",
            )
    elif isinstance(step, WhileStep):
        loop = step.config
        if loop.max_iterations > MAX_ITERATIONS:
            ctx.report(
                "W033",
                f"Step '{step.id}': maxIterations {loop.max_iterations} is above "
                f"{MAX_ITERATIONS:,}",
                f"{ptr}/config/maxIterations",
            )
        _limits(ctx, step.id, f"{ptr}/config", None, None, loop.timeout)


def _limits(
    ctx: CheckContext,
    step_id: str,
    ptr: str,
    max_retries: int | None,
    retry_delay: int | None,
    timeout: int | None,
) -> None:
    if max_retries is not None and max_retries > MAX_RETRIES:
        ctx.report(
            "W030",
            f"Step '{step_id}': maxRetries {max_retries} is above {MAX_RETRIES}",
            f"{ptr}/maxRetries",
        )
    if retry_delay is not None and retry_delay > HOUR_MS:
        ctx.report(
            "W031",
            f"Step '{step_id}': retryDelay {retry_delay} ms is longer than 1 hour",
            f"{ptr}/retryDelay",
        )
    if timeout is not None and timeout > HOUR_MS:
        ctx.report(
            "W034",
            f"Step '{step_id}': timeout {timeout} ms is longer than 1 hour",
            f"{ptr}/timeout",
        )


def check_child(ctx: CheckContext, step: EmbedWorkflowStep, ptr: str) -> None:
    """E050 invalid childVersion, E051 child workflow not among the known ones."""
    version = step.child_version
    reason = None
    if isinstance(version, bool):
        reason = "must be 'latest', 'current' or an integer >= 1"
    elif isinstance(version, int) and version < 1:
        reason = "version numbers start at 1"
    elif isinstance(version, str) and version.lower() not in ("latest", "current"):
        reason = "must be 'latest', 'current' or an integer >= 1"
    if reason:
        ctx.report(
            "E050",
            f"Step '{step.id}': child workflow '{step.child_workflow_id}' has invalid version "
            f"'{version}': {reason}",
            f"{ptr}/childVersion",
        )
    if ctx.children is not None and step.child_workflow_id not in ctx.children:
        key = "childWorkflowId" if f"{ptr}/childWorkflowId" in ctx.source_map else "childScenarioId"
        ctx.report(
            "E051",
            f"Step '{step.id}': unknown child workflow '{step.child_workflow_id}'."
            + (did_you_mean(step.child_workflow_id, ctx.children) or available(ctx.children)),
            f"{ptr}/{key}",
        )


def check_child_inputs(ctx: CheckContext, step: EmbedWorkflowStep, ptr: str) -> None:
    """E055 a required input of the child not mapped; W054 a mapped one it does not declare.

    The child's ``inputSchema`` is read from its file; a child that cannot be read is
    left to its own validation.
    """
    file = ctx.child_files.get(step.child_workflow_id)
    schema = _input_schema_of(file) if file is not None else None
    if schema is None:
        return
    mapped = {key.split(".")[0] for key in step.input_mapping or {}}
    for name, spec in schema.items():
        if isinstance(spec, dict) and spec.get("required") is True and name not in mapped:
            ctx.report(
                "E055",
                f"Step '{step.id}': child workflow '{step.child_workflow_id}' requires input "
                f"'{name}' but the inputMapping does not provide it",
                f"{ptr}/inputMapping" if step.input_mapping is not None else ptr,
                at="key",
            )
    for key in sorted(mapped - set(schema)):
        ctx.report(
            "W054",
            f"Step '{step.id}': input '{key}' is not declared in the inputSchema of child "
            f"workflow '{step.child_workflow_id}'."
            + (did_you_mean(key, schema) or available(schema)),
            f"{ptr}/inputMapping/{escape_pointer_token(key)}",
            at="key",
        )


def _input_schema_of(file: Path) -> dict[str, Any] | None:
    """A child document's ``inputSchema`` as plain JSON ({} when it has none)."""
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(value, dict) and isinstance(value.get("executionGraph"), dict):
        value = value["executionGraph"]
    if not isinstance(value, dict):
        return None
    schema = value.get("inputSchema")
    return schema if isinstance(schema, dict) else {}


def check_names(ctx: CheckContext, workflow: Workflow) -> None:
    """E060: step names are unique in the whole document (subgraphs included)."""
    by_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _scope, ptr, step in iter_steps(workflow):
        if step.name is not None:
            by_name[step.name].append((step.id, ptr))
    for name, holders in by_name.items():
        if len(holders) > 1:
            ids = ", ".join(step_id for step_id, _ in holders)
            for _step_id, ptr in holders:
                ctx.report(
                    "E060", f"Multiple steps have the same name '{name}': {ids}", f"{ptr}/name"
                )


def check_step_values(ctx: CheckContext, step: StepBase, ptr: str) -> None:
    """E023: literal arrays to iterate and durations of the right type; E011: GroupBy key."""
    if isinstance(step, SplitStep | FilterStep | GroupByStep):
        value = step.config.value
        if isinstance(value, ImmediateValue) and not isinstance(value.value, list):
            ctx.report(
                "E023",
                f"Step '{step.id}': config.value expects type 'array' but got "
                f"'{json_type(value.value)}'",
                f"{ptr}/config/value/value",
            )
    if isinstance(step, DelayStep) and isinstance(step.duration_ms, ImmediateValue):
        duration = step.duration_ms.value
        if not type_matches("integer", duration) or duration < 0:
            ctx.report(
                "E023",
                f"Step '{step.id}': durationMs expects a non-negative 'integer' but got "
                f"{json_type(duration)} {duration!r}",
                f"{ptr}/durationMs/value",
            )
    if isinstance(step, GroupByStep):
        try:
            parse_reference(step.config.key)
        except ReferenceSyntaxError as exc:
            ctx.report(
                "E011",
                f"Step '{step.id}' has invalid key path '{step.config.key}': {exc.message}",
                f"{ptr}/config/key",
            )


def file_value_problem(value: Any) -> str | None:
    """Why ``value`` is not a file value ``{content: base64, filename?, mimeType?}``."""
    try:
        file = FileValue.model_validate(value)
    except pydantic.ValidationError:
        return "its value is not {content: <base64>, filename?, mimeType?}"
    try:
        base64.b64decode(file.content, validate=True)
    except binascii.Error:
        return "its content is not valid base64"
    return None


def check_variables(ctx: CheckContext, scope: GraphScope) -> None:
    """E023: a variable's value must fit its declared type."""
    for name, variable in scope.graph.variables.items():
        if variable.type == "file" and variable.value is not None:
            problem = file_value_problem(variable.value)
            if problem:
                ctx.report(
                    "E023",
                    f"Variable '{name}' is declared 'file' but {problem}",
                    f"{scope.pointer}/variables/{escape_pointer_token(name)}/value",
                )
        elif variable.value is not None and not type_matches(variable.type, variable.value):
            ctx.report(
                "E023",
                f"Variable '{name}' is declared '{variable.type}' but its value is "
                f"'{json_type(variable.value)}'",
                f"{scope.pointer}/variables/{escape_pointer_token(name)}/value",
            )
