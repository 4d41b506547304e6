"""Walking a workflow: its graphs (top graph and subgraphs), steps, and the values inside.

Shared by the validator and codegen so both see the same structure in the same order.
Every item carries its JSON pointer, which the source map turns into line:col.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pydantic

from runtara.dsl.conditions import OperationCondition, ValueCondition
from runtara.dsl.graph import ExecutionGraph, Workflow
from runtara.dsl.mapping import (
    MAPPING_VALUE_TYPES,
    CompositeValue,
    ImmediateValue,
    ReferenceValue,
    TemplateValue,
    parse_mapping_value,
)
from runtara.dsl.source_map import escape_pointer_token
from runtara.dsl.steps import (
    AgentStep,
    AiAgentStep,
    ConditionalStep,
    DelayStep,
    EmbedWorkflowStep,
    ErrorStep,
    FilterStep,
    FinishStep,
    GroupByStep,
    LogStep,
    SplitStep,
    StepBase,
    SwitchStep,
    WaitForSignalStep,
    WhileStep,
)

LeafValue = ImmediateValue | ReferenceValue | TemplateValue
AnyMappingValue = ImmediateValue | ReferenceValue | TemplateValue | CompositeValue
ScopeKind = Literal["workflow", "split", "while", "onWait"]


@dataclass(frozen=True)
class GraphScope:
    """A graph and its place: subgraphs are separate namespaces of step ids."""

    graph: ExecutionGraph
    pointer: str
    """JSON pointer of the graph in the document."""
    kind: ScopeKind
    owner: StepBase | None = None
    """The Split/While/WaitForSignal step that owns this subgraph."""
    parent: GraphScope | None = None

    def step_pointer(self, step_id: str) -> str:
        return f"{self.pointer}/steps/{escape_pointer_token(step_id)}"

    @property
    def path(self) -> tuple[str, ...]:
        """Ids of the owning steps from the top graph down (empty for the top graph)."""
        if self.parent is None or self.owner is None:
            return ()
        return (*self.parent.path, self.owner.id)


_SUBGRAPH_KINDS: dict[type[StepBase], tuple[str, str, ScopeKind]] = {
    SplitStep: ("subgraph", "subgraph", "split"),
    WhileStep: ("subgraph", "subgraph", "while"),
    WaitForSignalStep: ("on_wait", "onWait", "onWait"),
}


def subgraph_of(step: StepBase) -> ExecutionGraph | None:
    """The subgraph a Split, While or WaitForSignal (onWait) step owns, else None."""
    kind = _SUBGRAPH_KINDS.get(type(step))
    return getattr(step, kind[0]) if kind is not None else None


def iter_graphs(workflow: Workflow) -> Iterator[GraphScope]:
    """Every graph of the document, the top graph first, then subgraphs depth-first."""
    stack = [GraphScope(workflow.graph, workflow.graph_pointer, "workflow")]
    while stack:
        scope = stack.pop()
        yield scope
        children = []
        for step_id, step in scope.graph.steps.items():
            kind = _SUBGRAPH_KINDS.get(type(step))
            if kind is None:
                continue
            attribute, key, scope_kind = kind
            subgraph = getattr(step, attribute)
            if subgraph is not None:
                ptr = f"{scope.step_pointer(step_id)}/{key}"
                children.append(GraphScope(subgraph, ptr, scope_kind, step, scope))
        stack.extend(reversed(children))


def iter_steps(workflow: Workflow) -> Iterator[tuple[GraphScope, str, StepBase]]:
    """(scope, JSON pointer, step) for every step in every graph."""
    for scope in iter_graphs(workflow):
        for step_id, step in scope.graph.steps.items():
            yield scope, scope.step_pointer(step_id), step


# --------------------------------------------------------------------------- values

ValueRole = Literal[
    "input",  # Agent / EmbedWorkflow inputMapping
    "output",  # Finish inputMapping
    "log",  # Log / Error context
    "condition",  # Conditional, While, Filter, edge conditions
    "config",  # Split/Switch/Filter/GroupBy value, Delay duration, Split variables
    "case",  # Switch case outputs and default
]


@dataclass(frozen=True)
class ValueSite:
    """A mapping value or condition inside a step, with its role and place."""

    pointer: str
    value: AnyMappingValue | OperationCondition | ValueCondition
    role: ValueRole
    key: str | None = None
    """Destination key (inputMapping key, variable name), when there is one."""
    extra_roots: tuple[str, ...] = ()
    """Roots allowed here besides data/variables/steps/workflow (``loop``, ``item``)."""


def _mapping_sites(
    mapping: dict[str, AnyMappingValue] | None, ptr: str, role: ValueRole
) -> Iterator[ValueSite]:
    for key, value in (mapping or {}).items():
        yield ValueSite(f"{ptr}/{escape_pointer_token(key)}", value, role, key)


def step_values(step: StepBase, ptr: str) -> Iterator[ValueSite]:
    """Every mapping value and condition a step holds (not those of its subgraphs)."""
    if isinstance(step, AgentStep | EmbedWorkflowStep):
        yield from _mapping_sites(step.input_mapping, f"{ptr}/inputMapping", "input")
    elif isinstance(step, FinishStep):
        yield from _mapping_sites(step.input_mapping, f"{ptr}/inputMapping", "output")
    elif isinstance(step, LogStep | ErrorStep):
        yield from _mapping_sites(step.context, f"{ptr}/context", "log")
    elif isinstance(step, ConditionalStep):
        yield ValueSite(f"{ptr}/condition", step.condition, "condition")
    elif isinstance(step, WhileStep):
        yield ValueSite(f"{ptr}/condition", step.condition, "condition", extra_roots=("loop",))
        yield from _mapping_sites(step.config.variables, f"{ptr}/config/variables", "config")
    elif isinstance(step, SplitStep):
        yield ValueSite(f"{ptr}/config/value", step.config.value, "config")
        yield from _mapping_sites(step.config.variables, f"{ptr}/config/variables", "config")
    elif isinstance(step, SwitchStep):
        yield ValueSite(f"{ptr}/config/value", step.config.value, "config")
        for index, case in enumerate(step.config.cases):
            case_ptr = f"{ptr}/config/cases/{index}/output"
            for sub_ptr, value in embedded_mapping_values(case.output, case_ptr):
                yield ValueSite(sub_ptr, value, "case")
        for sub_ptr, value in embedded_mapping_values(step.config.default, f"{ptr}/config/default"):
            yield ValueSite(sub_ptr, value, "case")
    elif isinstance(step, FilterStep):
        yield ValueSite(f"{ptr}/config/value", step.config.value, "config")
        yield ValueSite(
            f"{ptr}/config/condition", step.config.condition, "condition", extra_roots=("item",)
        )
    elif isinstance(step, GroupByStep):
        yield ValueSite(f"{ptr}/config/value", step.config.value, "config")
    elif isinstance(step, DelayStep):
        yield ValueSite(f"{ptr}/durationMs", step.duration_ms, "config")
    elif isinstance(step, WaitForSignalStep):
        if isinstance(step.timeout_ms, ImmediateValue | ReferenceValue | TemplateValue):
            yield ValueSite(f"{ptr}/timeoutMs", step.timeout_ms, "config")
        if step.action is not None:
            action = f"{ptr}/action"
            yield from _mapping_sites(step.action.correlation, f"{action}/correlation", "config")
            yield from _mapping_sites(step.action.context, f"{action}/context", "config")
    elif isinstance(step, AiAgentStep):
        config, cptr = step.config, f"{ptr}/config"
        for key in ("system_prompt", "user_prompt", "provider", "model", "temperature"):
            value = getattr(config, key)
            if value is not None:
                yield ValueSite(f"{cptr}/{_camel(key)}", value, "config")
        if config.max_tokens is not None:
            yield ValueSite(f"{cptr}/maxTokens", config.max_tokens, "config")
        if config.memory is not None:
            yield ValueSite(
                f"{cptr}/memory/conversationId", config.memory.conversation_id, "config"
            )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def embedded_mapping_values(raw: Any, ptr: str) -> Iterator[tuple[str, AnyMappingValue]]:
    """Mapping values inside free JSON (Switch outputs): objects with a known ``valueType``."""
    if isinstance(raw, dict):
        if raw.get("valueType") in MAPPING_VALUE_TYPES:
            try:
                yield ptr, parse_mapping_value(raw)
                return
            except pydantic.ValidationError:
                pass  # not a mapping value after all: plain JSON
        for key, item in raw.items():
            yield from embedded_mapping_values(item, f"{ptr}/{escape_pointer_token(key)}")
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            yield from embedded_mapping_values(item, f"{ptr}/{index}")


def leaf_values(
    value: AnyMappingValue | OperationCondition | ValueCondition, ptr: str
) -> Iterator[tuple[str, LeafValue]]:
    """The immediate/reference/template values inside a value or condition, with pointers."""
    if isinstance(value, CompositeValue):
        items = value.value.items() if isinstance(value.value, dict) else enumerate(value.value)
        for key, item in items:
            yield from leaf_values(item, f"{ptr}/value/{escape_pointer_token(key)}")
    elif isinstance(value, OperationCondition):
        for index, argument in enumerate(value.arguments):
            yield from leaf_values(argument, f"{ptr}/arguments/{index}")
    elif isinstance(value, ValueCondition):
        try:
            yield from leaf_values(value.as_mapping(), ptr)
        except pydantic.ValidationError:
            return
    else:
        yield ptr, value
