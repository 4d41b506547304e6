"""Workflow model -> template context: one entry per step, one per graph.

Each step becomes a function named after its id (``step_fetch_orders``) with a
``StepInfo`` constant beside it; each graph (the workflow, every Split/While/onWait
subgraph, every embedded child) becomes a ``graph_*`` function whose body is the
execution plan as plain control flow. The templates in ``runtara/templates`` print it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtara.agents.catalog import catalog
from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.expressions import Expressions
from runtara.compiler.codegen.literals import Code, Names, identifier, py_literal, text
from runtara.compiler.codegen.plan import Branch, Node, Planner, Route, Run
from runtara.dsl.graph import ExecutionGraph, Workflow
from runtara.dsl.references import ReferenceSyntaxError, parse_reference
from runtara.dsl.steps import (
    AgentStep,
    ConditionalStep,
    ConnectionStep,
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

    kind: str
    step: StepBase
    function: str
    info: str
    where: str
    fields: dict[str, Any] = field(default_factory=dict)
    handled: bool = False

    @property
    def doc(self) -> Code:
        """The docstring's text: step type, id, agent and name, escaped (``text``)."""
        label = f"{self.step.step_type} '{self.step.id}'"  # type: ignore[attr-defined]
        if isinstance(self.step, AgentStep):
            label += f" ({self.step.agent_id}:{self.step.capability_id})"
        name = f": {self.step.name}" if self.step.name else ""
        return text(label + name)

    @property
    def info_args(self) -> Code:
        args = [py_literal(self.step.id), py_literal(self.step.step_type)]  # type: ignore[attr-defined]
        if self.step.name:
            args.append(py_literal(self.step.name))
        if self.handled:
            args.append(Code("handled=True"))
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
                kind=step.step_type,
                step=step,
                function=name,
                info=info,
                where=f"step {step_id!r}" + (f" in {title}" if prefix else ""),
            )
            by_id[step_id] = step_code
            code.steps.append(step_code)
        for step_code in code.steps:
            step_code.handled = any(
                e.kind == "onError" for e in graph.edges_from(step_code.step.id)
            )
            try:
                self.step(step_code, prefix=prefix + identifier(step_code.step.id) + "__")
            except CodegenError as exc:
                if exc.where is not None:
                    raise
                raise CodegenError(exc.message, where=step_code.where, code=exc.code) from None
        code.body = self.body(Planner(graph, where).plan(), by_id)
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

    # ------------------------------------------------------------------ steps

    def step(self, code: StepCode, *, prefix: str) -> None:
        step = code.step
        x = Expressions(code.where)
        f = code.fields
        if isinstance(step, AgentStep):
            self.agent(code, step, x)
        elif isinstance(step, ConditionalStep):
            f["condition"] = x.condition(step.condition)
        elif isinstance(step, SwitchStep):
            cases = []
            for case in step.config.cases:
                cases.append(
                    (
                        x.match(case.match_type, Code("value"), case.match),
                        x.embedded(case.output),
                        py_literal(case.route),
                    )
                )
            f["value"] = x.value(step.config.value)
            f["cases"] = cases
            f["default"] = x.embedded(step.config.default)
        elif isinstance(step, SplitStep):
            config = step.config
            f["items"] = x.value(config.value)
            f["variables"] = x.mapping(config.variables) if config.variables else Code("None")
            f["graph"] = self.graph(
                step.subgraph,
                function=f"graph_{prefix}item",
                title=f"Split '{step.id}' item",
                prefix=prefix,
            )
            f["options"] = _options(
                parallelism=config.parallelism,
                sequential=config.sequential,
                dont_stop_on_failed=config.dont_stop_on_failed,
                retries=config.max_retries,
                retry_delay_ms=config.retry_delay,
                timeout_ms=config.timeout,
            )
            if config.convert_single_value:
                f["options"] += ", convert_single_value=True"
        elif isinstance(step, WhileStep):
            f["condition"] = Expressions(
                code.where, extra_roots={"loop": "loop", "iteration": "loop"}
            ).condition(step.condition)
            f["graph"] = self.graph(
                step.subgraph,
                function=f"graph_{prefix}iteration",
                title=f"While '{step.id}' iteration",
                prefix=prefix,
            )
            f["options"] = _options(
                max_iterations=step.config.max_iterations, timeout_ms=step.config.timeout
            )
            if step.config.variables:
                f["options"] += f", variables={x.mapping(step.config.variables)}"
        elif isinstance(step, FilterStep):
            f["items"] = x.value(step.config.value)
            f["condition"] = Expressions(code.where, extra_roots=("item",)).condition(
                step.config.condition
            )
        elif isinstance(step, GroupByStep):
            f["items"] = x.value(step.config.value)
            try:
                f["key"] = py_literal(list(parse_reference(step.config.key).segments))
            except ReferenceSyntaxError as exc:
                raise CodegenError(exc.message, where=code.where, code="E011") from None
            f["expected"] = py_literal(step.config.expected_keys)
        elif isinstance(step, DelayStep):
            f["duration"] = x.value(step.duration_ms)
            f["durable"] = py_literal(step.durable)
        elif isinstance(step, WaitForSignalStep):
            on_wait = Code("None")
            if step.on_wait is not None:
                on_wait = self.graph(
                    step.on_wait,
                    function=f"graph_{prefix}on_wait",
                    title=f"WaitForSignal '{step.id}' onWait",
                    prefix=prefix,
                )
            timeout = step.timeout_ms
            f["options"] = _options(
                on_wait=Code(on_wait),
                timeout_ms=timeout
                if timeout is None or isinstance(timeout, int)
                else Code(x.value(timeout)),
                poll_interval_ms=step.poll_interval_ms or 1000,
            )
            if step.response_schema:
                schema = {
                    name: field.model_dump(by_alias=True, exclude_unset=True)
                    for name, field in step.response_schema.items()
                }
                f["options"] += f", response_schema={py_literal(schema)}"
        elif isinstance(step, EmbedWorkflowStep):
            child = self.child(step, code)
            f["child_id"] = py_literal(step.child_workflow_id)
            f["data"] = x.mapping(step.input_mapping)
            f["graph"] = child.graph_function
            f["variables"] = child.variables_name
            f["options"] = _options(
                input_schema=Code(child.schema_name),
                retries=step.max_retries,
                retry_delay_ms=step.retry_delay,
                timeout_ms=step.timeout,
            )
        elif isinstance(step, LogStep):
            f["level"] = py_literal(step.level)
            f["message"] = _text(x, step.message)
            f["context"] = x.mapping(step.context) if step.context else Code("None")
        elif isinstance(step, ErrorStep):
            f["options"] = _options(
                category=step.category,
                code=step.code,
                message=Code(_text(x, step.message)),
                severity=step.severity,
                context=Code(x.mapping(step.context)) if step.context else None,
            )
        elif isinstance(step, ConnectionStep):
            f["connection_id"] = py_literal(step.connection_id)
            f["integration_id"] = py_literal(step.integration_id)
        elif isinstance(step, FinishStep):
            f["output"] = x.mapping(step.input_mapping)
        else:  # pragma: no cover - the model's union is closed
            raise CodegenError(f"unsupported step type {type(step).__name__}", where=code.where)

    def agent(self, code: StepCode, step: AgentStep, x: Expressions) -> None:
        spec = catalog().capability(step.agent_id, step.capability_id)
        if spec is None:
            known = catalog().agent(step.agent_id)
            what = "capability" if known else "agent"
            raise CodegenError(
                f"unknown {what} {step.agent_id}:{step.capability_id}",
                where=code.where,
                code="E021" if known else "E020",
            )
        owner = catalog().agents[step.agent_id]
        self.agents.add(owner.module)
        code.fields["inputs"] = x.mapping(step.input_mapping)
        code.fields["agent_id"] = py_literal(step.agent_id)
        code.fields["capability_id"] = py_literal(step.capability_id)
        code.fields["connection_id"] = (
            py_literal(step.connection_id) if step.connection_id else None
        )
        code.fields["options"] = _options(
            retries=step.max_retries, retry_delay_ms=step.retry_delay, timeout_ms=step.timeout
        )

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


def _options(**values: Any) -> Code:
    """``name=value`` keyword arguments: ``Code`` as is, anything else as a literal."""
    return Code(
        ", ".join(
            f"{name}={value if isinstance(value, Code) else py_literal(value)}"
            for name, value in values.items()
        )
    )


def _text(x: Expressions, message: str) -> Code:
    """A Log or Error message: a template when it holds ``{{``, else literal text."""
    return x.template(message) if "{{" in message else py_literal(message)
