"""The workflow document: a graph of steps joined by edges, optionally wrapped.

A file holds either a bare ``ExecutionGraph`` or the wrapper
``{"executionGraph": ..., "memoryTier": ..., "debugMode": ...}``; both parse to
``Workflow`` (``Workflow.graph`` is the graph, ``Workflow.wrapped`` tells the form).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ModelWrapValidatorHandler, NonNegativeInt, PrivateAttr, model_validator

from runtara.dsl._base import DslModel
from runtara.dsl.conditions import Condition
from runtara.dsl.fields import SchemaField
from runtara.dsl.steps import SplitStep, Step, WaitForSignalStep, WhileStep

EdgeLabel = str
"""Free-form: besides the labels below, a Switch route (``cases[].route``, ``default``)."""
EdgeKind = str
#: The labels with a meaning of their own; any other label is a route name.
_EDGE_KINDS: dict[str | None, str] = {
    None: "next",
    "": "next",
    "next": "next",
    "true": "true",
    "false": "false",
    "onError": "onError",
}
#: ``Edge.kind`` of the labels the language itself gives a meaning.
BUILTIN_EDGE_KINDS = ("next", "true", "false", "onError")
VariableType = Literal["string", "number", "integer", "boolean", "array", "object", "file"]
MemoryTier = Literal["S", "M", "L", "XL"]

#: Instance memory limit per tier, in bytes.
MEMORY_TIER_BYTES: dict[str, int] = {
    "S": 8 * 2**20,
    "M": 64 * 2**20,
    "L": 128 * 2**20,
    "XL": 256 * 2**20,
}


class Edge(DslModel):
    """A transition ``fromStep`` -> ``toStep``; see ``kind`` for what the label means."""

    from_step: str
    to_step: str
    label: EdgeLabel | None = None
    """None, "" or "next": sequence; "true"/"false": Conditional branch; "onError": handler;
    any other label names a Switch route (``cases[].route``, or ``default``)."""
    condition: Condition | None = None
    """Taken only when this holds."""
    priority: int | None = None
    """Order among a step's conditional edges: higher is tried first (then plan order)."""

    @property
    def kind(self) -> EdgeKind:
        """The label, with the three spellings of a plain sequence folded into ``next``;
        a route label is its own kind."""
        return _EDGE_KINDS.get(self.label, self.label or "next")

    @property
    def is_route(self) -> bool:
        """A Switch route label (not one of the language's own)."""
        return self.kind not in BUILTIN_EDGE_KINDS


class Variable(DslModel):
    """A design-time constant, read as ``variables.<name>``."""

    type: VariableType
    value: Any
    description: str | None = None


class ExecutionGraph(DslModel):
    """Steps joined by edges; also the shape of Split/While/WaitForSignal subgraphs."""

    json_schema_uri: str | None = Field(default=None, alias="$schema", exclude=True)
    """JSON Schema of the document (for editors; ignored)."""
    name: str | None = None
    description: str | None = None
    steps: dict[str, Step]
    """Step id -> step; the key equals the step's ``id``."""
    entry_point: str | None
    """Id of the first step (null only in a graph with no steps; E001 otherwise)."""
    execution_plan: list[Edge] = []
    """Control flow."""
    variables: dict[str, Variable] = {}
    input_schema: dict[str, SchemaField] | None = None
    """The instance input is validated against it at start."""
    output_schema: dict[str, SchemaField] | None = None
    execution_timeout_seconds: NonNegativeInt | None = None
    """Whole-instance timeout."""
    rate_limit_budget_ms: NonNegativeInt | None = None
    """Accepted for Runtara 3.1 compatibility."""
    notes: Any = Field(default=None, exclude=True)
    """Editor annotations (ignored)."""
    nodes: Any = Field(default=None, exclude=True)
    """Editor layout (ignored)."""
    edges: Any = Field(default=None, exclude=True)
    """Editor layout (ignored; control flow is ``executionPlan``)."""

    _outgoing: tuple[int, int, dict[str, list[Edge]]] | None = PrivateAttr(default=None)

    def edges_from(self, step_id: str, kind: str | None = None) -> list[Edge]:
        """Edges leaving ``step_id`` in plan order, optionally of one ``Edge.kind``.

        Indexed once (rebuilt if ``execution_plan`` is replaced or grows): codegen and
        the validator ask for every step, and a scan each time was quadratic.
        """
        plan = self.execution_plan
        # The private attribute is read from pydantic's dict directly: through the
        # model's ``__getattr__`` it cost more than the lookup (codegen asks 15 times a step).
        private = self.__pydantic_private__
        outgoing = private.get("_outgoing") if private is not None else None
        if outgoing is None or outgoing[0] != id(plan) or outgoing[1] != len(plan):
            index: dict[str, list[Edge]] = {}
            for edge in plan:
                index.setdefault(edge.from_step, []).append(edge)
            outgoing = (id(plan), len(plan), index)
            self._outgoing = outgoing
        edges = outgoing[2].get(step_id, [])
        return list(edges) if kind is None else [e for e in edges if e.kind == kind]

    @model_validator(mode="after")
    def _infer_entry_point(self) -> ExecutionGraph:
        """``entryPoint: null`` (Runtara allows it): the one step no edge leads to."""
        if self.entry_point is None:
            targets = {edge.to_step for edge in self.execution_plan}
            starts = [step_id for step_id in self.steps if step_id not in targets]
            if len(starts) == 1:
                self.entry_point = starts[0]
        return self


class Workflow(DslModel):
    """A workflow document, in wrapper or bare-graph form."""

    json_schema_uri: str | None = Field(default=None, alias="$schema", exclude=True)
    execution_graph: ExecutionGraph
    memory_tier: MemoryTier = "XL"
    """Instance memory limit: S 8 MB, M 64 MB, L 128 MB, XL 256 MB."""
    debug_mode: bool = False
    """Emit step debug events."""
    _wrapped: bool = PrivateAttr(default=True)

    @model_validator(mode="wrap")
    @classmethod
    def _accept_bare_graph(
        cls, data: Any, handler: ModelWrapValidatorHandler[Workflow]
    ) -> Workflow:
        """A document without ``executionGraph`` is the graph itself."""
        if (
            isinstance(data, dict)
            and "executionGraph" not in data
            and "execution_graph" not in data
        ):
            workflow = handler({"executionGraph": data})
            workflow._wrapped = False
            return workflow
        return handler(data)

    @property
    def graph(self) -> ExecutionGraph:
        return self.execution_graph

    @property
    def wrapped(self) -> bool:
        """True for the ``executionGraph`` wrapper form, False for a bare graph."""
        return self._wrapped

    @property
    def graph_pointer(self) -> str:
        """JSON pointer of the graph in the document ("" for a bare graph)."""
        return "/executionGraph" if self._wrapped else ""

    @property
    def memory_limit_bytes(self) -> int:
        return MEMORY_TIER_BYTES[self.memory_tier]


for _model in (SplitStep, WhileStep, WaitForSignalStep):
    _model.model_rebuild(_types_namespace={"ExecutionGraph": ExecutionGraph})
ExecutionGraph.model_rebuild()
Workflow.model_rebuild()
