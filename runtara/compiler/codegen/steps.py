"""One compiler per step type: the step model in, a typed plan node out.

``@compiles(ModelStep)`` registers a function that turns a step into a frozen dataclass
of ``Code`` fields; ``templates/steps.py.j2`` prints it with the macro named after the
step type (``AgentStep`` -> ``{% macro Agent(step, p) %}``). Adding a step type means a
model in ``runtara.dsl.steps``, one function here, one macro there, and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from runtara.agents.catalog import catalog
from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.expressions import Expressions
from runtara.compiler.codegen.literals import Code, py_literal
from runtara.dsl.ai import ai_edges, toolset
from runtara.dsl.graph import ExecutionGraph
from runtara.dsl.references import ReferenceSyntaxError, parse_reference
from runtara.dsl.steps import (
    AgentStep,
    AiAgentStep,
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
from runtara.sdk.flow.ai import fields_schema

if TYPE_CHECKING:
    from runtara.compiler.codegen.emitter import Emitter, StepCode

NONE = Code("None")


@dataclass(frozen=True)
class Context:
    """What a step compiler may use: the emitter (subgraphs, children, agents), the
    step's entry and expressions compiled for its place in the document."""

    emitter: Emitter
    code: StepCode
    x: Expressions
    prefix: str
    """Identifier prefix for the step's own subgraphs (``split_1__``)."""
    graph: ExecutionGraph | None = None
    """The graph the step belongs to."""
    steps: dict[str, StepCode] = field(default_factory=dict)
    """Its steps' entries by id (an AiAgent names its tools' functions)."""

    def expressions(self, **roots: str) -> Expressions:
        """Expressions that also see the given extra roots (``loop``, ``item``)."""
        return Expressions(self.code.where, extra_roots=roots)

    def subgraph(self, graph: Any, suffix: str, title: str) -> Code:
        return self.emitter.graph(
            graph, function=f"graph_{self.prefix}{suffix}", title=title, prefix=self.prefix
        )


S = TypeVar("S", bound=StepBase)
Compiler = Callable[[Context, Any], object]
COMPILERS: dict[type[StepBase], Compiler] = {}


def compiles(
    model: type[S],
) -> Callable[[Callable[[Context, S], object]], Callable[[Context, S], object]]:
    """Register the compiler of one step model."""

    def register(function: Callable[[Context, S], object]) -> Callable[[Context, S], object]:
        COMPILERS[model] = function
        return function

    return register


def macro_name(step: StepBase) -> str:
    """The template macro that prints ``step``: its model's name without ``Step``."""
    return type(step).__name__.removesuffix("Step")


#: Steps whose own work has no external side effect: their records are saved buffered
#: (``StepInfo.pure``). Containers are here too: their record only sums up their
#: inner steps, which decide for themselves.
PURE_STEPS = (
    ConditionalStep,
    SwitchStep,
    FilterStep,
    GroupByStep,
    LogStep,
    DelayStep,
    SplitStep,
    WhileStep,
    EmbedWorkflowStep,
)


def pure(step: StepBase) -> bool:
    """Has ``step`` no external side effect? An Agent step when its capability's
    catalog entry says ``sideEffects: false`` (an unknown one counts as having some)."""
    if isinstance(step, AgentStep):
        spec = catalog().capability(step.agent_id, step.capability_id)
        return spec is not None and not spec.side_effects
    return isinstance(step, PURE_STEPS)


def compile_step(context: Context) -> object:
    step = context.code.step
    compiler = COMPILERS.get(type(step))
    if compiler is None:  # pragma: no cover - every model of the union is registered
        raise CodegenError(f"no compiler for {type(step).__name__}", where=context.code.where)
    return compiler(context, step)


def options(**values: Any) -> Code:
    """``name=value`` keyword arguments: ``Code`` as is, anything else as a literal.
    A name ending in ``_`` is left out when its value is None (an optional argument)."""
    parts = []
    for name, value in values.items():
        if name.endswith("_") and value is None:
            continue
        source = value if isinstance(value, Code) else py_literal(value)
        parts.append(f"{name.rstrip('_')}={source}")
    return Code(", ".join(parts))


def message(x: Expressions, text: str) -> Code:
    """A Log or Error message: a template when it holds ``{{``, else literal text."""
    return x.template(text) if "{{" in text else py_literal(text)


# ---------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class AgentCode:
    inputs: Code
    agent_id: Code
    capability_id: Code
    connection_id: Code | None
    options: Code
    detail: str
    """``agent:capability``, for the docstring (escaped there)."""


@compiles(AgentStep)
def agent(c: Context, step: AgentStep) -> AgentCode:
    spec = catalog().capability(step.agent_id, step.capability_id)
    if spec is None:
        known = catalog().agent(step.agent_id)
        what = "capability" if known else "agent"
        raise CodegenError(
            f"unknown {what} {step.agent_id}:{step.capability_id}",
            where=c.code.where,
            code="E021" if known else "E020",
        )
    c.emitter.agents.add(catalog().agents[step.agent_id].module)
    return AgentCode(
        inputs=c.x.mapping(step.input_mapping),
        agent_id=py_literal(step.agent_id),
        capability_id=py_literal(step.capability_id),
        connection_id=py_literal(step.connection_id) if step.connection_id else None,
        options=options(
            retries=step.max_retries, retry_delay_ms=step.retry_delay, timeout_ms=step.timeout
        ),
        detail=f"{step.agent_id}:{step.capability_id}",
    )


@dataclass(frozen=True)
class ConditionalCode:
    condition: Code


@compiles(ConditionalStep)
def conditional(c: Context, step: ConditionalStep) -> ConditionalCode:
    return ConditionalCode(c.x.condition(step.condition))


@dataclass(frozen=True)
class SwitchCase:
    test: Code
    output: Code
    route: Code


@dataclass(frozen=True)
class SwitchCode:
    value: Code
    cases: list[SwitchCase]
    default: Code


@compiles(SwitchStep)
def switch(c: Context, step: SwitchStep) -> SwitchCode:
    value = Code("value")
    cases = [
        SwitchCase(
            c.x.match(case.match_type, value, case.match),
            c.x.embedded(case.output),
            py_literal(case.route),
        )
        for case in step.config.cases
    ]
    return SwitchCode(c.x.value(step.config.value), cases, c.x.embedded(step.config.default))


@dataclass(frozen=True)
class SplitCode:
    items: Code
    graph: Code
    variables: Code
    options: Code


@compiles(SplitStep)
def split(c: Context, step: SplitStep) -> SplitCode:
    config = step.config
    return SplitCode(
        items=c.x.value(config.value),
        graph=c.subgraph(step.subgraph, "item", f"Split '{step.id}' item"),
        variables=c.x.mapping(config.variables) if config.variables else NONE,
        options=options(
            parallelism=config.parallelism,
            sequential=config.sequential,
            dont_stop_on_failed=config.dont_stop_on_failed,
            retries=config.max_retries,
            retry_delay_ms=config.retry_delay,
            timeout_ms=config.timeout,
            convert_single_value_=True if config.convert_single_value else None,
        ),
    )


@dataclass(frozen=True)
class WhileCode:
    condition: Code
    graph: Code
    options: Code


@compiles(WhileStep)
def while_(c: Context, step: WhileStep) -> WhileCode:
    variables = step.config.variables
    return WhileCode(
        condition=c.expressions(loop="loop", iteration="loop").condition(step.condition),
        graph=c.subgraph(step.subgraph, "iteration", f"While '{step.id}' iteration"),
        options=options(
            max_iterations=step.config.max_iterations,
            timeout_ms=step.config.timeout,
            variables_=c.x.mapping(variables) if variables else None,
        ),
    )


@dataclass(frozen=True)
class FilterCode:
    items: Code
    condition: Code


@compiles(FilterStep)
def filter_(c: Context, step: FilterStep) -> FilterCode:
    condition = c.expressions(item="item").condition(step.config.condition)
    return FilterCode(c.x.value(step.config.value), condition)


@dataclass(frozen=True)
class GroupByCode:
    items: Code
    key: Code
    expected: Code


@compiles(GroupByStep)
def group_by(c: Context, step: GroupByStep) -> GroupByCode:
    try:
        key = py_literal(list(parse_reference(step.config.key).segments))
    except ReferenceSyntaxError as exc:
        raise CodegenError(exc.message, where=c.code.where, code="E011") from None
    return GroupByCode(c.x.value(step.config.value), key, py_literal(step.config.expected_keys))


@dataclass(frozen=True)
class DelayCode:
    duration: Code
    durable: Code


@compiles(DelayStep)
def delay(c: Context, step: DelayStep) -> DelayCode:
    return DelayCode(c.x.value(step.duration_ms), py_literal(step.durable))


@dataclass(frozen=True)
class WaitForSignalCode:
    options: Code


@compiles(WaitForSignalStep)
def wait_for_signal(c: Context, step: WaitForSignalStep) -> WaitForSignalCode:
    on_wait = NONE
    if step.on_wait is not None:
        on_wait = c.subgraph(step.on_wait, "on_wait", f"WaitForSignal '{step.id}' onWait")
    timeout = step.timeout_ms
    schema = None
    if step.response_schema:
        schema = {
            name: field.model_dump(by_alias=True, exclude_unset=True)
            for name, field in step.response_schema.items()
        }
    return WaitForSignalCode(
        options(
            on_wait=on_wait,
            timeout_ms=timeout
            if timeout is None or isinstance(timeout, int)
            else c.x.value(timeout),
            poll_interval_ms=step.poll_interval_ms or 1000,
            response_schema_=schema,
        )
    )


@dataclass(frozen=True)
class EmbedWorkflowCode:
    child_id: Code
    data: Code
    graph: Code
    variables: Code
    options: Code


@compiles(EmbedWorkflowStep)
def embed_workflow(c: Context, step: EmbedWorkflowStep) -> EmbedWorkflowCode:
    child = c.emitter.child(step, c.code)
    return EmbedWorkflowCode(
        child_id=py_literal(step.child_workflow_id),
        data=c.x.mapping(step.input_mapping),
        graph=child.graph_function,
        variables=child.variables_name,
        options=options(
            input_schema=child.schema_name,
            retries=step.max_retries,
            retry_delay_ms=step.retry_delay,
            timeout_ms=step.timeout,
        ),
    )


@dataclass(frozen=True)
class LogCode:
    level: Code
    message: Code
    context: Code


@compiles(LogStep)
def log(c: Context, step: LogStep) -> LogCode:
    context = c.x.mapping(step.context) if step.context else NONE
    return LogCode(py_literal(step.level), message(c.x, step.message), context)


@dataclass(frozen=True)
class ErrorCode:
    options: Code


@compiles(ErrorStep)
def error(c: Context, step: ErrorStep) -> ErrorCode:
    return ErrorCode(
        options(
            category=step.category,
            code=step.code,
            message=message(c.x, step.message),
            severity=step.severity,
            context=c.x.mapping(step.context) if step.context else None,
        )
    )


@dataclass(frozen=True)
class ConnectionCode:
    connection_id: Code
    integration_id: Code


@compiles(ConnectionStep)
def connection(c: Context, step: ConnectionStep) -> ConnectionCode:
    return ConnectionCode(py_literal(step.connection_id), py_literal(step.integration_id))


@dataclass(frozen=True)
class FinishCode:
    output: Code


@compiles(FinishStep)
def finish(c: Context, step: FinishStep) -> FinishCode:
    return FinishCode(c.x.mapping(step.input_mapping))


@dataclass(frozen=True)
class AiToolCode:
    name: Code
    description: Code
    function: Code
    parameters: Code


@dataclass(frozen=True)
class AiToolsetCode:
    name: Code
    info: Code
    connection_id: Code


@dataclass(frozen=True)
class AiAgentCode:
    system_prompt: Code
    user_prompt: Code
    tools: list[AiToolCode]
    toolsets: list[AiToolsetCode]
    memory: Code
    options: Code


def _optional(c: Context, value: Any) -> Code:
    return NONE if value is None else c.x.value(value)


def _pinned(mapping: dict[str, Any] | None) -> set[str]:
    """Input fields the step's own mapping sets: the model cannot change them."""
    return {key.split(".")[0] for key in mapping or {}}


def _tool_parameters(c: Context, target: StepBase) -> tuple[dict[str, Any], str]:
    """JSON Schema of a tool's arguments and a description of what it does."""
    if isinstance(target, AgentStep):
        spec = catalog().capability(target.agent_id, target.capability_id)
        pinned = _pinned(target.input_mapping)
        fields = {
            i.name: {k: v for k, v in i.to_json().items() if k not in ("name", "default")}
            for i in (spec.inputs if spec else ())
            if i.name not in pinned
        }
        about = spec.description if spec else ""
        return fields_schema(fields, open_=False), about
    if isinstance(target, EmbedWorkflowStep):
        child = c.emitter.children.get(target.child_workflow_id)
        schema = (child.graph.input_schema or {}) if child else {}
        pinned = _pinned(target.input_mapping)
        fields = {
            name: f.model_dump(by_alias=True, exclude_unset=True)
            for name, f in schema.items()
            if name not in pinned
        }
        about = (child.graph.description or "") if child else ""
        return fields_schema(fields, open_=not fields), about
    # WaitForSignal: the model says what it asks; a person (or system) answers.
    question = {"question": {"type": "string", "description": "What to ask for."}}
    return fields_schema(question, open_=True), "Wait for an answer from outside (a signal)."


@compiles(AiAgentStep)
def ai_agent(c: Context, step: AiAgentStep) -> AiAgentCode:
    assert c.graph is not None
    config = step.config
    edges = ai_edges(c.graph, step.id)
    tools: list[AiToolCode] = []
    for _, edge in edges.tools:
        target = c.graph.steps[edge.to_step]
        entry = c.steps[edge.to_step]
        parameters, about = _tool_parameters(c, target)
        description = target.name or edge.label or ""
        if about:
            description = f"{description}: {about}" if target.name else about
        tools.append(
            AiToolCode(
                py_literal(edge.label),
                py_literal(description),
                entry.function,
                py_literal(parameters),
            )
        )
    toolsets = []
    for _, edge in edges.mcp:
        target = c.graph.steps[edge.to_step]
        c.emitter.agents.add("runtara.agents.mcp_agent")
        toolsets.append(
            AiToolsetCode(
                py_literal(toolset(edge)),
                c.steps[edge.to_step].info,
                py_literal(getattr(target, "connection_id", None)),
            )
        )
    memory = NONE
    if config.memory is not None and edges.memory:
        provider = c.graph.steps[edges.memory[0][1].to_step]
        assert isinstance(provider, AgentStep)
        agent_spec = catalog().agent(provider.agent_id)
        if agent_spec is not None:
            c.emitter.agents.add(agent_spec.module)
        compaction = config.memory.compaction
        memory = Code(
            "flow.Memory("
            + options(
                agent_id=provider.agent_id,
                connection_id=provider.connection_id,
                conversation_id=c.x.value(config.memory.conversation_id),
                max_messages_=compaction.max_messages if compaction else None,
                strategy_=compaction.strategy if compaction else None,
            )
            + ")"
        )
    c.emitter.agents.add("runtara.agents.openai_agent")
    schema = None
    if config.output_schema:
        schema = {
            name: f.model_dump(by_alias=True, exclude_unset=True)
            for name, f in config.output_schema.items()
        }
    return AiAgentCode(
        system_prompt=c.x.value(config.system_prompt),
        user_prompt=c.x.value(config.user_prompt),
        tools=tools,
        toolsets=toolsets,
        memory=memory,
        options=options(
            connection_id=step.connection_id,
            model=_optional(c, config.model),
            temperature_=None if config.temperature is None else c.x.value(config.temperature),
            max_tokens_=None if config.max_tokens is None else c.x.value(config.max_tokens),
            output_schema_=schema,
            max_iterations=config.max_iterations,
            max_retries=config.max_retries,
            retry_delay_ms=config.retry_delay,
            turn_timeout_ms_=config.turn_timeout,
            timeout_ms_=config.timeout,
            max_output_retries=config.max_output_retries,
        ),
    )
