"""AiAgent checks: its connection and the edges that give it tools, memory and MCP.

Codes as in Runtara: E110 duplicate tool label, E111 invalid tool label, E112 no
connection, E113 several memory edges, E114 memory edge not to a memory provider, E115
memory config without a memory edge, E116 memory edge without config, E120 mcp edge not
to an Agent step, E121 mcp edge to another agent than ``mcp``, E122 empty toolset name,
E123 duplicate toolset name; and E128 (new) a tool edge to a step that cannot be a tool.
"""

from __future__ import annotations

from runtara.dsl.ai import MEMORY_LABEL, TOOL_NAME, ai_edges, toolset
from runtara.dsl.graph import Edge
from runtara.dsl.steps import AgentStep, AiAgentStep, EmbedWorkflowStep, WaitForSignalStep
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.walk import GraphScope

#: Step types a tool edge may lead to.
TOOL_STEPS = (AgentStep, EmbedWorkflowStep, WaitForSignalStep)
MEMORY_CAPABILITIES = ("load-memory", "save-memory")


def tool_targets(scope: GraphScope) -> set[str]:
    """Steps of the graph that are an AiAgent's tools (their inputs come from the model)."""
    out: set[str] = set()
    for step_id, step in scope.graph.steps.items():
        if isinstance(step, AiAgentStep):
            out |= {edge.to_step for _, edge in ai_edges(scope.graph, step_id).tools}
    return out


def check_ai_agent_step(ctx: CheckContext, scope: GraphScope, step: AiAgentStep, ptr: str) -> None:
    graph = scope.graph
    plan = f"{scope.pointer}/executionPlan"
    if not step.connection_id:
        ctx.report(
            "E112",
            f"AI Agent step '{step.id}' has no connectionId: a model connection (type "
            "openai) is required",
            ptr,
            at="key",
        )
    edges = ai_edges(graph, step.id)
    seen: set[str] = set()
    for index, edge in edges.tools:
        label = edge.label or ""
        where = f"{plan}/{index}/label"
        if not TOOL_NAME.match(label):
            ctx.report(
                "E111",
                f"AI Agent step '{step.id}' has invalid tool edge label '{label}': a tool name "
                "is 1 to 64 letters, digits, '_' or '-'",
                where,
            )
        if label in seen:
            ctx.report(
                "E110", f"AI Agent step '{step.id}' has duplicate tool edge label '{label}'", where
            )
        seen.add(label)
        target = graph.steps.get(edge.to_step)
        if target is not None and not isinstance(target, TOOL_STEPS):
            ctx.report(
                "E128",
                f"AI Agent step '{step.id}': tool '{label}' leads to {target.step_type} step "
                f"'{edge.to_step}'; a tool is an Agent, EmbedWorkflow or WaitForSignal step",
                f"{plan}/{index}/toStep",
            )
    _check_memory(ctx, scope, step, ptr, edges.memory)
    toolsets: set[str] = set()
    for index, edge in edges.mcp:
        name = toolset(edge)
        where = f"{plan}/{index}/label"
        if not name:
            ctx.report(
                "E122",
                f"AI Agent step '{step.id}' has an MCP edge with an empty toolset name "
                f"('{edge.label}'; write mcp.<toolset>)",
                where,
            )
        elif not TOOL_NAME.match(f"{name}_search"):
            ctx.report(
                "E111",
                f"AI Agent step '{step.id}': toolset '{name}' gives invalid tool names "
                f"({name}_search, {name}_invoke)",
                where,
            )
        if name in toolsets:
            ctx.report(
                "E123",
                f"AI Agent step '{step.id}' has several MCP edges with toolset '{name}'",
                where,
            )
        toolsets.add(name)
        if {f"{name}_search", f"{name}_invoke"} & seen:
            ctx.report(
                "E110",
                f"AI Agent step '{step.id}': a tool label collides with toolset '{name}'",
                where,
            )
        target = graph.steps.get(edge.to_step)
        if target is None:
            continue
        if not isinstance(target, AgentStep):
            ctx.report(
                "E120",
                f"AI Agent step '{step.id}' has an '{edge.label}' edge to '{edge.to_step}', "
                f"a {target.step_type} step; it must lead to an Agent step of agent 'mcp'",
                f"{plan}/{index}/toStep",
            )
        elif target.agent_id != "mcp":
            ctx.report(
                "E121",
                f"AI Agent step '{step.id}' has an '{edge.label}' edge to Agent step "
                f"'{edge.to_step}' of agent '{target.agent_id}'; it must use agent 'mcp'",
                f"{plan}/{index}/toStep",
            )


def _check_memory(
    ctx: CheckContext,
    scope: GraphScope,
    step: AiAgentStep,
    ptr: str,
    memory: list[tuple[int, Edge]],
) -> None:
    plan = f"{scope.pointer}/executionPlan"
    configured = step.config.memory is not None
    if len(memory) > 1:
        ctx.report(
            "E113",
            f"AI Agent step '{step.id}' has {len(memory)} '{MEMORY_LABEL}' edges; at most one "
            "is allowed",
            f"{plan}/{memory[1][0]}/label",
        )
    if configured and not memory:
        ctx.report(
            "E115",
            f"AI Agent step '{step.id}' has memory config but no '{MEMORY_LABEL}' edge to a "
            "memory provider Agent step",
            f"{ptr}/config/memory",
            at="key",
        )
    if memory and not configured:
        ctx.report(
            "E116",
            f"AI Agent step '{step.id}' has a '{MEMORY_LABEL}' edge but no config.memory "
            "(conversationId)",
            f"{plan}/{memory[0][0]}/label",
        )
    for index, edge in memory:
        target_id = edge.to_step
        target = scope.graph.steps.get(target_id)
        if target is None:
            continue
        if not isinstance(target, AgentStep):
            ctx.report(
                "E114",
                f"AI Agent step '{step.id}' has a '{MEMORY_LABEL}' edge to '{target_id}', a "
                f"{target.step_type} step; it must lead to an Agent step of a memory provider",
                f"{plan}/{index}/toStep",
            )
            continue
        provider = ctx.catalog.agent(target.agent_id)
        if provider is None:
            continue  # E020 on the step itself
        missing = [c for c in MEMORY_CAPABILITIES if c not in provider.capabilities]
        if missing:
            ctx.report(
                "E114",
                f"AI Agent step '{step.id}': memory provider '{target_id}' uses agent "
                f"'{provider.id}', which has no {' / '.join(missing)} capability",
                f"{plan}/{index}/toStep",
            )
