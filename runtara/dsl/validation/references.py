"""Reference checks: every path in every mapping, condition, template and composite.

E010 unknown step, E011 malformed path, E012 step not run yet on every path, E013
unknown variable, W050 a step reading its own outputs, and E040-E042 for connection
data flowing where it must not (a non-secure agent, the output, a log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from runtara.dsl.conditions import QUERY_ONLY_OPS, OperationCondition
from runtara.dsl.diagnostics import available, did_you_mean
from runtara.dsl.graph import ExecutionGraph
from runtara.dsl.mapping import ReferenceValue, TemplateValue
from runtara.dsl.references import (
    ERROR_ROOTS,
    ROOTS,
    ReferencePath,
    ReferenceSyntaxError,
    parse_reference,
    parse_template,
)
from runtara.dsl.steps import (
    AgentStep,
    ConnectionStep,
    DelayStep,
    SplitStep,
    StepBase,
    WaitForSignalStep,
    WhileStep,
)
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.validation.flow import Flow
from runtara.dsl.walk import GraphScope, ValueRole, ValueSite, leaf_values, step_values

#: Fields of a step record (``steps.<id>.<field>``).
RECORD_FIELDS = (
    "outputs",
    "stepId",
    "stepName",
    "stepType",
    "iterations",
    "data",
    "stats",
    "childWorkflowId",
    "childScenarioId",
    "route",
)
#: Fields of ``steps.error`` inside an onError handler.
ERROR_FIELDS = (
    "message",
    "stepId",
    "code",
    "category",
    "severity",
    "context",
    "attributes",
    "childError",
)
EXTRA_ROOT_HOME = {
    "loop": "While conditions and subgraphs",
    "item": "Filter conditions and Split subgraphs",
    "iteration": "Split and While subgraphs and While conditions",
}
#: What each loop root has.
LOOP_FIELDS = {"loop": ("index", "outputs"), "iteration": ("index", "indices", "item")}
#: Steps whose record fields are free-form (Runtara reads ``steps.<delay>.duration_ms``,
#: ``steps.<wait>.payload``).
OPEN_RECORDS = (DelayStep, WaitForSignalStep)


class Where(NamedTuple):
    """A path's place: the string value holding it, and where in that string it starts."""

    ptr: str
    offset: int | None = None


@dataclass
class Namespace:
    """What paths in one graph can see."""

    scope: GraphScope
    flow: Flow
    variables: set[str]
    top_variables: set[str]
    ancestors_steps: set[str] = field(default_factory=set)
    used_connections: set[str] = field(default_factory=set)


def scope_variables(scope: GraphScope, parent_variables: set[str]) -> set[str]:
    """Variables a graph sees: inherited, the subgraph's own, and loop extras."""
    names = set(parent_variables) | set(scope.graph.variables)
    owner = scope.owner
    if isinstance(owner, SplitStep):
        names |= {key.split(".")[0] for key in owner.config.variables or {}}
        names |= {"_index", "_loop", "_loop_indices"}
    elif isinstance(owner, WhileStep):
        names |= {key.split(".")[0] for key in owner.config.variables or {}}
        names |= {"_index", "_previousOutputs", "_loop", "_loop_indices"}
    return names


def loop_roots(scope: GraphScope) -> set[str]:
    """The loop roots a graph's values may read: ``item`` inside a Split (at any depth),
    ``loop`` inside a While, ``iteration`` inside either."""
    roots: set[str] = set()
    current: GraphScope | None = scope
    while current is not None:
        if isinstance(current.owner, SplitStep):
            roots |= {"item", "iteration"}
        elif isinstance(current.owner, WhileStep):
            roots |= {"loop", "iteration"}
        current = current.parent
    return roots


def check_references(ctx: CheckContext, namespace: Namespace) -> None:
    """Check every path read by the steps and edges of one graph."""
    graph = namespace.scope.graph
    for step_id, step in graph.steps.items():
        step_ptr = namespace.scope.step_pointer(step_id)
        for site in step_values(step, step_ptr):
            _check_site(ctx, namespace, step, site, inclusive=False)
    for index, edge in enumerate(graph.execution_plan):
        owner = graph.steps.get(edge.from_step)
        if edge.condition is None or owner is None:
            continue
        site = ValueSite(
            f"{namespace.scope.pointer}/executionPlan/{index}/condition",
            edge.condition,
            "condition",
        )
        _check_site(ctx, namespace, owner, site, inclusive=True)


def _check_site(
    ctx: CheckContext, ns: Namespace, owner: StepBase, site: ValueSite, *, inclusive: bool
) -> None:
    if isinstance(site.value, OperationCondition):
        _check_operators(ctx, owner, site.value, site.pointer)
    for ptr, leaf in leaf_values(site.value, site.pointer):
        if isinstance(leaf, ReferenceValue):
            _check_path(ctx, ns, owner, site, leaf.value, f"{ptr}/value", inclusive)
        elif isinstance(leaf, TemplateValue):
            try:
                parts = parse_template(leaf.value)
            except ReferenceSyntaxError as exc:
                ctx.report(
                    "E011",
                    f"Step '{owner.id}' has an invalid template: {exc.message}",
                    f"{ptr}/value",
                    index=exc.offset,
                )
                continue
            for part in parts:
                if not isinstance(part, str):
                    where = Where(f"{ptr}/value", part.offset)
                    _check_parsed(ctx, ns, owner, site, part.path, where, inclusive)


def _check_operators(
    ctx: CheckContext, owner: StepBase, condition: OperationCondition, ptr: str
) -> None:
    """E027: an operator only queries may use (Runtara's ``MATCH``)."""
    if condition.op in QUERY_ONLY_OPS:
        ctx.report(
            "E027",
            f"Step '{owner.id}': operator '{condition.op}' is only available in queries, "
            "not in workflow conditions",
            f"{ptr}/op",
        )
    for index, argument in enumerate(condition.arguments):
        if isinstance(argument, OperationCondition):
            _check_operators(ctx, owner, argument, f"{ptr}/arguments/{index}")


def _check_path(
    ctx: CheckContext,
    ns: Namespace,
    owner: StepBase,
    site: ValueSite,
    text: str,
    ptr: str,
    inclusive: bool,
) -> None:
    try:
        path = parse_reference(text)
    except ReferenceSyntaxError as exc:
        ctx.report(
            "E011", f"Step '{owner.id}' has invalid reference path '{text}': {exc.message}", ptr
        )
        return
    _check_parsed(ctx, ns, owner, site, path, Where(ptr), inclusive)


def _report(ctx: CheckContext, code: str, message: str, where: Where) -> None:
    ctx.report(code, message, where.ptr, index=where.offset)


def _check_parsed(
    ctx: CheckContext,
    ns: Namespace,
    owner: StepBase,
    site: ValueSite,
    path: ReferencePath,
    where: Where,
    inclusive: bool,
) -> None:
    path = path.canonical()
    root = path.root
    allowed = {"data", "variables", "steps", "workflow", *site.extra_roots}
    allowed |= loop_roots(ns.scope)
    if "loop" in site.extra_roots:
        allowed.add("iteration")
    prefix = f"Step '{owner.id}' reads '{path.text}'"
    if root not in allowed:
        if root in EXTRA_ROOT_HOME:
            reason = f"'{root}' is only available in {EXTRA_ROOT_HOME[root]}"
        else:
            roots = [
                r
                for r in ROOTS
                if (r not in EXTRA_ROOT_HOME or r in allowed) and r not in ERROR_ROOTS
            ]
            reason = f"unknown root '{root}'." + (did_you_mean(root, roots) or available(roots))
        _report(ctx, "E011", f"{prefix}: {reason}", where)
        return
    segments = path.segments
    if root == "steps":
        _check_step_path(ctx, ns, owner, site.role, path, where, inclusive)
    elif root == "data" and ns.scope.parent is None:
        _check_data(ctx, prefix, path, where)
    elif root == "variables" and len(segments) > 1:
        _check_variable(ctx, prefix, str(segments[1]), ns.variables, where)
    elif root == "workflow":
        _check_workflow_inputs(ctx, ns, prefix, path, where)
    elif root in LOOP_FIELDS and len(segments) > 1 and segments[1] not in LOOP_FIELDS[root]:
        fields = LOOP_FIELDS[root]
        _report(
            ctx,
            "E011",
            f"{prefix}: '{root}' has only {', '.join(repr(f) for f in fields)}."
            + did_you_mean(str(segments[1]), fields),
            where,
        )


def _check_data(ctx: CheckContext, prefix: str, path: ReferencePath, where: Where) -> None:
    """W052 ``data`` read with no ``inputSchema``; W054 a field the schema does not declare.

    Runtara's E052/E054; warnings here, since a quick workflow needs no schema. Only in
    the top graph: a Split item's ``data`` is the item, not the instance input.
    """
    schema = ctx.workflow.graph.input_schema
    if not schema:
        _report(
            ctx,
            "W052",
            f"{prefix} but the workflow has no inputSchema: its input is not checked",
            where,
        )
        return
    segments = path.segments
    if len(segments) > 1 and isinstance(segments[1], str) and segments[1] not in schema:
        _report(
            ctx,
            "W054",
            f"{prefix}: field '{segments[1]}' is not declared in the inputSchema."
            + (did_you_mean(segments[1], schema) or available(schema)),
            where,
        )


def _check_variable(
    ctx: CheckContext, prefix: str, name: str, known: set[str], where: Where
) -> None:
    if name not in known:
        visible = sorted(v for v in known if not v.startswith("_"))
        _report(
            ctx,
            "E013",
            f"{prefix}: unknown variable '{name}'."
            + (did_you_mean(name, known) or available(visible)),
            where,
        )


def _check_workflow_inputs(
    ctx: CheckContext, ns: Namespace, prefix: str, path: ReferencePath, where: Where
) -> None:
    segments = path.segments
    if len(segments) > 1 and segments[1] != "inputs":
        _report(
            ctx,
            "E011",
            f"{prefix}: '{path.root}' has only 'inputs'."
            + did_you_mean(str(segments[1]), ("inputs",)),
            where,
        )
    elif len(segments) > 2 and segments[2] not in ("data", "variables"):
        _report(
            ctx,
            "E011",
            f"{prefix}: '{path.root}.inputs' has only 'data' and 'variables'."
            + did_you_mean(str(segments[2]), ("data", "variables")),
            where,
        )
    elif len(segments) > 3 and segments[2] == "variables":
        _check_variable(ctx, prefix, str(segments[3]), ns.top_variables, where)


def _check_step_path(
    ctx: CheckContext,
    ns: Namespace,
    owner: StepBase,
    role: ValueRole,
    path: ReferencePath,
    where: Where,
    inclusive: bool,
) -> None:
    target = path.step_id
    if target is None:
        return
    graph: ExecutionGraph = ns.scope.graph
    prefix = f"Step '{owner.id}' references '{path.text}'"
    segments = path.segments
    if target not in graph.steps:
        if target == "error":
            if owner.id not in ns.flow.handlers:
                _report(
                    ctx,
                    "E010",
                    f"{prefix} but 'steps.error' is only set inside an onError handler",
                    where,
                )
            elif len(segments) > 2 and segments[2] not in ERROR_FIELDS:
                _report(
                    ctx,
                    "E011",
                    f"{prefix}: 'steps.error' has {', '.join(ERROR_FIELDS)}."
                    + did_you_mean(str(segments[2]), ERROR_FIELDS),
                    where,
                )
            return
        hint = did_you_mean(target, graph.steps)
        if not hint and target in ns.ancestors_steps:
            hint = " A subgraph sees only its own steps" + (
                ": pass the value in through the Split's config.variables."
                if ns.scope.kind == "split"
                else "."
            )
        message = f"{prefix} but step '{target}' does not exist.{hint}".rstrip(".")
        _report(ctx, "E010", message, where)
        return
    target_step = graph.steps[target]
    if (
        len(segments) > 2
        and segments[2] not in RECORD_FIELDS
        and not isinstance(target_step, OPEN_RECORDS)
    ):
        _report(
            ctx,
            "E011",
            f"{prefix}: a step record has no field '{segments[2]}'."
            + did_you_mean(str(segments[2]), RECORD_FIELDS),
            where,
        )
        return
    if target == owner.id:
        if not inclusive:
            _report(
                ctx,
                "W050",
                f"Step '{owner.id}' references its own outputs ('{path.text}')",
                where,
            )
    elif owner.id in ns.flow.reachable and not ns.flow.runs_before(target, owner.id):
        _report(
            ctx,
            "E012",
            f"{prefix} but step '{target}' has not run yet on every path to '{owner.id}'",
            where,
        )
    if isinstance(target_step, ConnectionStep):
        ns.used_connections.add(target)
        _check_connection_flow(ctx, owner, role, target, where)


def _check_connection_flow(
    ctx: CheckContext, owner: StepBase, role: ValueRole, connection: str, where: Where
) -> None:
    if role == "input" and isinstance(owner, AgentStep):
        agent = ctx.catalog.agent(owner.agent_id)
        if agent is not None and not agent.secure:
            secure = ", ".join(ctx.catalog.secure_agents())
            _report(
                ctx,
                "E040",
                f"Security violation: step '{owner.id}' passes connection '{connection}' to "
                f"agent '{owner.agent_id}'; connection data can only be passed to secure "
                f"agents ({secure})",
                where,
            )
    elif role == "output":
        _report(
            ctx,
            "E041",
            f"Security violation: step '{owner.id}' puts connection '{connection}' in the "
            "workflow output; connection data cannot be included in outputs",
            where,
        )
    elif role == "log":
        _report(
            ctx,
            "E042",
            f"Security violation: step '{owner.id}' logs connection '{connection}'; "
            "connection data cannot be logged",
            where,
        )
