"""Agent and connection checks against the catalog.

E020 unknown agent, E021 unknown capability, E022 missing required input, W020 unknown
input, E023 immediate value of the wrong type, E024 value outside the enum, E030
unknown integration, E040 ``connectionId`` on a non-secure agent, W040 unused
Connection step.
"""

from __future__ import annotations

from typing import Any

from runtara.agents.framework import CapabilitySpec, InputSpec
from runtara.dsl.diagnostics import available, did_you_mean
from runtara.dsl.mapping import CompositeValue, ImmediateValue
from runtara.dsl.source_map import escape_pointer_token
from runtara.dsl.steps import AgentStep, ConnectionStep
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.validation.json_types import json_type, type_matches
from runtara.dsl.walk import GraphScope


def check_agent_step(ctx: CheckContext, step: AgentStep, ptr: str, *, tool: bool = False) -> None:
    """``tool``: an AiAgent's tool, whose unmapped inputs the model supplies (no E022)."""
    catalog = ctx.catalog
    agent = catalog.agent(step.agent_id)
    if agent is None:
        ctx.report(
            "E020",
            f"Step '{step.id}' uses unknown agent '{step.agent_id}'."
            + (did_you_mean(step.agent_id, catalog.agents) or available(catalog.agents)),
            f"{ptr}/agentId",
        )
        return
    if step.connection_id is not None and not agent.secure:
        ctx.report(
            "E040",
            f"Security violation: step '{step.id}' gives connection '{step.connection_id}' to "
            f"agent '{agent.id}'; connections can only be passed to secure agents "
            f"({', '.join(catalog.secure_agents())})",
            f"{ptr}/connectionId",
        )
    capability = agent.capabilities.get(step.capability_id)
    if capability is None:
        ctx.report(
            "E021",
            f"Step '{step.id}': agent '{agent.id}' has no capability '{step.capability_id}'."
            + (
                did_you_mean(step.capability_id, agent.capabilities)
                or available(agent.capabilities)
            ),
            f"{ptr}/capabilityId",
        )
        return
    _check_inputs(ctx, step, ptr, capability, tool=tool)


def _check_inputs(
    ctx: CheckContext, step: AgentStep, ptr: str, capability: CapabilitySpec, *, tool: bool
) -> None:
    mapping = step.input_mapping or {}
    mapping_ptr = f"{ptr}/inputMapping"
    provided = {key.split(".")[0] for key in mapping}
    for required in capability.inputs:
        if required.required and required.name not in provided and not tool:
            ctx.report(
                "E022",
                f"Step '{step.id}': capability '{capability.qualified_id}' requires input "
                f"'{required.name}' but it is not provided",
                mapping_ptr if step.input_mapping is not None else ptr,
                at="key",
            )
    for key, value in mapping.items():
        name = key.split(".")[0]
        key_ptr = f"{mapping_ptr}/{escape_pointer_token(key)}"
        spec = capability.input(name)
        if spec is None:
            if not name.startswith("_"):
                ctx.report(
                    "W020",
                    f"Step '{step.id}': capability '{capability.qualified_id}' has no input "
                    f"'{name}'."
                    + (
                        did_you_mean(name, capability.input_names)
                        or available(capability.input_names)
                    ),
                    key_ptr,
                    at="key",
                )
            continue
        if name != key:
            continue  # a dotted key sets part of the field; its type is not the field's
        if isinstance(value, ImmediateValue):
            _check_immediate(ctx, step, spec, value.value, f"{key_ptr}/value")
        elif isinstance(value, CompositeValue):
            shape = "object" if isinstance(value.value, dict) else "array"
            if not type_matches(spec.type, {} if shape == "object" else []):
                ctx.report(
                    "E023",
                    f"Step '{step.id}': field '{spec.name}' expects type '{spec.type}' but got "
                    f"a composite {shape}",
                    f"{key_ptr}/value",
                )


def _check_immediate(
    ctx: CheckContext, step: AgentStep, spec: InputSpec, value: Any, ptr: str
) -> None:
    if value is None:
        if spec.required and not spec.nullable:
            ctx.report(
                "E023",
                f"Step '{step.id}': field '{spec.name}' expects type '{spec.type}' but got 'null'",
                ptr,
            )
        return
    if not type_matches(spec.type, value):
        ctx.report(
            "E023",
            f"Step '{step.id}': field '{spec.name}' expects type '{spec.type}' but got "
            f"'{json_type(value)}'",
            ptr,
        )
        return
    if spec.enum is not None and value not in spec.enum:
        allowed = ", ".join(str(v) for v in spec.enum)
        hint = did_you_mean(value, [str(v) for v in spec.enum]) if isinstance(value, str) else ""
        ctx.report(
            "E024",
            f"Step '{step.id}': field '{spec.name}' has invalid value '{value}'. "
            f"Allowed values: {allowed}.{hint}",
            ptr,
        )


def check_connection_step(ctx: CheckContext, step: ConnectionStep, ptr: str) -> None:
    types = ctx.catalog.connection_types
    if step.integration_id not in types:
        ctx.report(
            "E030",
            f"Connection step '{step.id}' uses unknown integration '{step.integration_id}'."
            + (did_you_mean(step.integration_id, types) or available(types)),
            f"{ptr}/integrationId",
        )


def check_unused_connections(ctx: CheckContext, scope: GraphScope, used: set[str]) -> None:
    """W040: a Connection step nobody reads (by ``steps.<id>`` or the same connectionId)."""
    graph = scope.graph
    agent_connections = {
        step.connection_id for step in graph.steps.values() if isinstance(step, AgentStep)
    }
    for step_id, step in graph.steps.items():
        if (
            isinstance(step, ConnectionStep)
            and step_id not in used
            and step.connection_id not in agent_connections
        ):
            ctx.report(
                "W040",
                f"Connection step '{step_id}' is never used: no step reads "
                f"'steps.{step_id}.outputs'",
                scope.step_pointer(step_id),
                at="key",
            )
