"""What the edges leaving an AiAgent step mean: tools, memory, MCP toolsets, the way on.

An AiAgent's labelled edges are not control flow. ``next`` (or no label) is where the
workflow goes on after the agent answers, ``onError`` its handler, ``memory`` the memory
provider, ``mcp.<toolset>`` an MCP server's tools, and any other label a tool the model
may call, run inside the agent's loop. Validator, codegen and the graph view read the
edges through ``ai_edges`` so that the rule is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runtara.dsl.graph import Edge, ExecutionGraph
from runtara.dsl.steps import AiAgentStep

MEMORY_LABEL = "memory"
MCP_PREFIX = "mcp."
#: Labels that keep their plain meaning on an AiAgent's edges.
FLOW_LABELS = (None, "", "next", "onError")
#: A tool name as OpenAI-compatible servers accept it.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class AiEdges:
    """The edges of one AiAgent step, sorted by meaning (plan order kept)."""

    tools: list[tuple[int, Edge]] = field(default_factory=list)
    """(index in the executionPlan, edge) of each tool edge; the label is the tool name."""
    memory: list[tuple[int, Edge]] = field(default_factory=list)
    mcp: list[tuple[int, Edge]] = field(default_factory=list)
    """``mcp.<toolset>`` edges; ``toolset(edge)`` gives the suffix."""

    @property
    def targets(self) -> set[str]:
        """Steps run by the agent (tools, memory, MCP), not by the plan."""
        return {e.to_step for _, e in (*self.tools, *self.memory, *self.mcp)}


def is_loop_edge(edge: Edge) -> bool:
    """An AiAgent edge that does not continue the plan (a tool, memory or MCP)."""
    return edge.label not in FLOW_LABELS


def toolset(edge: Edge) -> str:
    return (edge.label or "").removeprefix(MCP_PREFIX)


def ai_edges(graph: ExecutionGraph, step_id: str) -> AiEdges:
    """The loop edges leaving ``step_id`` (an AiAgent step)."""
    out = AiEdges()
    for index, edge in enumerate(graph.execution_plan):
        if edge.from_step != step_id or not is_loop_edge(edge):
            continue
        label = edge.label or ""
        if label == MEMORY_LABEL:
            out.memory.append((index, edge))
        elif label.startswith(MCP_PREFIX):
            out.mcp.append((index, edge))
        else:
            out.tools.append((index, edge))
    return out


def agent_loop_targets(graph: ExecutionGraph) -> set[str]:
    """Every step of ``graph`` that some AiAgent runs inside its loop."""
    targets: set[str] = set()
    for step_id, step in graph.steps.items():
        if isinstance(step, AiAgentStep):
            targets |= ai_edges(graph, step_id).targets
    return targets


def is_agent_loop_edge(graph: ExecutionGraph, edge: Edge) -> bool:
    """True for an edge from an AiAgent step that leads into its loop, not onwards."""
    return isinstance(graph.steps.get(edge.from_step), AiAgentStep) and is_loop_edge(edge)
