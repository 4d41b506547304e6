"""Workflow model -> template context: one entry per step, one per graph.

Each step becomes a function named after its id (``step_fetch_orders``) with a
``StepInfo`` constant beside it; each graph (the workflow, every Split/While/onWait
subgraph, every embedded child) becomes a ``graph_*`` function whose body is the
execution plan as plain control flow. The templates in ``runtara/templates`` print it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.expressions import Expressions
from runtara.compiler.codegen.literals import Code, Names, identifier, py_literal, text
from runtara.compiler.codegen.plan import Branch, Exit, Node, Planner, Route, Run
from runtara.compiler.codegen.steps import Context, compile_step, macro_name, pure
from runtara.dsl.ai import ai_edges
from runtara.dsl.graph import ExecutionGraph, Workflow
from runtara.dsl.steps import AiAgentStep, EmbedWorkflowStep, FinishStep, StepBase

RESERVED = {
    "VARIABLES",
    "INPUT_SCHEMA",
    "DEBUG",
    "TIMEOUT_SECONDS",
    "flow",
    "invoke",
    "Any",
    "main",
}


@dataclass
class StepCode:
    """What the step templates need to print one step function."""

    step: StepBase
    function: Code
    info: Code
    where: str
    handled: bool = False
    tool: bool = False
    """An AiAgent's tool: its function takes the model's arguments (``*Tool`` macro)."""
    plan: object = None
    """The step compiler's typed node (``steps.py``), printed by the macro ``macro``."""

    @property
    def macro(self) -> str:
        return macro_name(self.step) + ("Tool" if self.tool else "")

    @property
    def doc(self) -> Code:
        """The docstring's text: step type, id, agent and name, escaped (``text``)."""
        label = f"{self.step.step_type} '{self.step.id}'"  # type: ignore[attr-defined]
        detail = getattr(self.plan, "detail", None)  # e.g. an Agent's agent:capability
        if detail:
            label += f" ({detail})"
        name = f": {self.step.name}" if self.step.name else ""
        return text(label + name)

    @property
    def info_args(self) -> Code:
        args = [py_literal(self.step.id), py_literal(self.step.step_type)]  # type: ignore[attr-defined]
        if self.step.name:
            args.append(py_literal(self.step.name))
        if self.handled:
            args.append(Code("handled=True"))
        if not self.step.durable:
            args.append(Code("durable=False"))
        if self.step.breakpoint:
            args.append(Code("breakpoint=True"))
        if pure(self.step):
            args.append(Code("pure=True"))
        return Code(", ".join(args))


@dataclass
class GraphCode:
    function: Code
    title: str
    steps: list[StepCode]
    body: list[dict[str, Any]]

    @property
    def heading(self) -> Code:
        """The comment text above the graph's steps, a rule to column 100."""
        label = text(self.title)
        return Code(f"{label} {'-' * max(3, 90 - len(label))}")

    @property
    def doc(self) -> Code:
        return text(f"The execution plan of the {self.title}.")

    @property
    def falls_through(self) -> bool:
        """False when every path through the plan ends in a Finish (its ``return``)."""
        return not _always_returns(self.body)


def _always_returns(nodes: list[dict[str, Any]]) -> bool:
    if not nodes:
        return False
    last = nodes[-1]
    if last["kind"] == "exit":
        return False
    if last["kind"] == "run":
        returns = last["call"].startswith("return ")
        return returns and (last["handler"] is None or _always_returns(last["handler"]))
    if last["kind"] == "branch":
        return _always_returns(last["when_true"]) and _always_returns(last["when_false"])
    return all(_always_returns(r["body"]) for r in last["routes"]) and _always_returns(
        last["otherwise"]
    )


@dataclass
class Child:
    """An embedded child workflow compiled into this module once."""

    graph_function: Code
    variables_name: Code
    variables: dict[str, Any]
    schema_name: Code
    input_schema: dict[str, Any]


class Emitter:
    def __init__(self, workflow: Workflow, children: dict[str, Workflow]) -> None:
        self.workflow = workflow
        self.children = children
        self.names = Names(RESERVED)
        self.graphs: list[GraphCode] = []
        self.agents: set[str] = set()
        self.compiled_children: dict[str, Child] = {}
        self._child_stack: list[str] = []

    # ------------------------------------------------------------------ graphs

    def emit(self) -> None:
        self.graph(self.workflow.graph, function="graph_main", title="workflow", prefix="")

    def graph(self, graph: ExecutionGraph, *, function: str, title: str, prefix: str) -> Code:
        """Emit ``graph`` (and, recursively, its nested graphs) as ``function``."""
        function = self.names.claim(function)
        code = GraphCode(function=function, title=title, steps=[], body=[])
        self.graphs.append(code)
        where = f"{title}"
        if graph.entry_point not in graph.steps:
            raise CodegenError(
                f"entry point {graph.entry_point!r} is not a step", where=where, code="E001"
            )
        by_id: dict[str, StepCode] = {}
        for step_id, step in graph.steps.items():
            base = prefix + identifier(step_id)
            name = self.names.claim(f"step_{base}")
            info = self.names.claim(name.removeprefix("step_").upper())
            step_code = StepCode(
                step=step,
                function=name,
                info=info,
                where=f"step {step_id!r}" + (f" in {title}" if prefix else ""),
            )
            by_id[step_id] = step_code
            code.steps.append(step_code)
        planner = Planner(graph, where)
        tools = {
            edge.to_step
            for step_id, step in graph.steps.items()
            if isinstance(step, AiAgentStep)
            for _, edge in ai_edges(graph, step_id).tools
        }
        for step_code in code.steps:
            step_code.handled = bool(planner.edges_from(step_code.step.id, "onError"))
            step_code.tool = step_code.step.id in tools
        for step_code in code.steps:
            try:
                step_prefix = prefix + identifier(step_code.step.id) + "__"
                context = Context(
                    self,
                    step_code,
                    Expressions(step_code.where),
                    step_prefix,
                    graph=graph,
                    steps=by_id,
                )
                step_code.plan = compile_step(context)
            except CodegenError as exc:
                if exc.where is not None:
                    raise
                raise CodegenError(exc.message, where=step_code.where, code=exc.code) from None
        code.body = self.body(planner.plan(), by_id)
        return function

    def body(self, nodes: list[Node], steps: dict[str, StepCode]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for node in nodes:
            if isinstance(node, Run):
                target = steps[node.step_id]
                call = Code(f"{target.function}(run, sc)")
                if isinstance(target.step, FinishStep):
                    call = Code(f"return {call}")
                handler = None if node.handler is None else self.body(node.handler, steps)
                out.append({"kind": "run", "call": call, "handler": handler})
            elif isinstance(node, Branch):
                target = steps[node.step_id]
                if node.handler is not None:
                    raise CodegenError(
                        "an onError edge cannot leave a Conditional step", where=target.where
                    )
                out.append(
                    {
                        "kind": "branch",
                        "call": Code(f"{target.function}(run, sc)"),
                        "when_true": self.body(node.when_true, steps),
                        "when_false": self.body(node.when_false, steps),
                    }
                )
            elif isinstance(node, Exit):
                target = steps[node.step_id]
                call = Code(f"{target.function}(run, sc)")
                test = call if node.leave_when else Code(f"not {call}")
                out.append({"kind": "exit", "test": test})
            elif isinstance(node, Route):
                source = steps[node.source]
                exprs = Expressions(f"edges from {source.where}")
                routes = [
                    {"test": exprs.condition(cond), "body": self.body(seq, steps)}
                    for cond, seq in node.routes
                ]
                out.append(
                    {
                        "kind": "route",
                        "routes": routes,
                        "otherwise": self.body(node.otherwise, steps),
                    }
                )
        return out

    # ------------------------------------------------------------------ children

    def child(self, step: EmbedWorkflowStep, code: StepCode) -> Child:
        child_id = step.child_workflow_id
        if child_id in self.compiled_children:
            return self.compiled_children[child_id]
        workflow = self.children.get(child_id)
        if workflow is None:
            known = ", ".join(sorted(self.children)) or "none given"
            raise CodegenError(
                f"unknown child workflow {child_id!r} (children: {known}; pass --child FILE)",
                where=code.where,
                code="E051",
            )
        if child_id in self._child_stack:
            raise CodegenError(f"child workflow {child_id!r} embeds itself", where=code.where)
        self._child_stack.append(child_id)
        base = identifier(child_id)
        child = Child(
            graph_function=Code(f"graph_child_{base}"),
            variables_name=self.names.claim(f"CHILD_{base.upper()}_VARIABLES"),
            variables={n: v.value for n, v in workflow.graph.variables.items()},
            schema_name=self.names.claim(f"CHILD_{base.upper()}_INPUT_SCHEMA"),
            input_schema=input_schema_of(workflow.graph),
        )
        self.compiled_children[child_id] = child
        child.graph_function = self.graph(
            workflow.graph,
            function=child.graph_function,
            title=f"child workflow '{child_id}'",
            prefix=f"child_{base}__",
        )
        self._child_stack.pop()
        return child


def input_schema_of(graph: ExecutionGraph) -> dict[str, Any]:
    """The graph's ``inputSchema`` as the plain JSON ``flow.validate_input`` reads."""
    return {
        name: field.model_dump(by_alias=True, exclude_unset=True)
        for name, field in (graph.input_schema or {}).items()
    }
