"""A workflow as a drawable graph: one node per step, edges from the execution plan.

The same ``Graph`` feeds the console's inline SVG and ``runtara graph`` (SVG, Mermaid,
DOT), so a review diagram and the live view of an instance never disagree. Steps that
own a subgraph (Split, While, WaitForSignal's onWait) hold it as a nested ``Graph``.
A node is addressed by its ``path``: the step ids from the root graph down to it,
which is also how checkpoint keys are built (``orders/split[3]/charge``), so an
instance's checkpoints map onto nodes without guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from runtara.dsl.graph import ExecutionGraph, Workflow
from runtara.dsl.steps import SUBGRAPH_FIELDS, StepBase

Path = tuple[str, ...]

#: Position segments a scope adds to a checkpoint key (``split[3]``, ``while[0]``).
_POSITION = re.compile(r"^(split|while)\[\d+\]$")
#: The key segment under which an embedded child's steps are checkpointed.
_EMBED = "embed"


@dataclass
class Node:
    id: str
    type: str
    path: Path
    name: str | None = None
    subgraph: Graph | None = None

    @property
    def subtitle(self) -> str:
        """Second line of a node: its name when it has one, else its type."""
        return self.name if self.name and self.name != self.id else self.type


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str = "next"
    """next, true, false or onError (the label of the plan's edge)."""


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    entry: str | None = None

    def node(self, step_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == step_id), None)

    def walk(self) -> Iterator[Node]:
        """Every node, nested ones after their owner."""
        for node in self.nodes:
            yield node
            if node.subgraph is not None:
                yield from node.subgraph.walk()


def of_workflow(workflow: Workflow) -> Graph:
    return _of_graph(workflow.graph, ())


def _of_graph(graph: ExecutionGraph, prefix: Path) -> Graph:
    order = _reading_order(graph)
    nodes = [_node(graph.steps[step_id], prefix) for step_id in order]
    edges = [
        Edge(e.from_step, e.to_step, e.kind)
        for e in graph.execution_plan
        if e.from_step in graph.steps and e.to_step in graph.steps
    ]
    return Graph(nodes, edges, graph.entry_point if graph.entry_point in graph.steps else None)


def _node(step: StepBase, prefix: Path) -> Node:
    path = (*prefix, step.id)
    attribute = SUBGRAPH_FIELDS.get(type(step))
    inner = getattr(step, attribute, None) if attribute else None
    return Node(
        id=step.id,
        type=str(getattr(step, "step_type", type(step).__name__)),
        path=path,
        name=step.name,
        subgraph=_of_graph(inner, path) if inner is not None else None,
    )


def _reading_order(graph: ExecutionGraph) -> list[str]:
    """Steps breadth-first from the entry point, then any the plan never reaches."""
    seen: list[str] = []
    queue = [graph.entry_point] if graph.entry_point in graph.steps else []
    while queue:
        step_id = queue.pop(0)
        if step_id in seen:
            continue
        seen.append(step_id)
        queue.extend(
            e.to_step
            for e in graph.execution_plan
            if e.from_step == step_id and e.to_step in graph.steps
        )
    return seen + [s for s in graph.steps if s not in seen]


def of_records(records: Iterable[tuple[str, str | None]]) -> Graph:
    """The steps an instance without a workflow document reported, in order.

    ``records`` are (checkpoint key, step type) of its checkpoints, the type None for
    an SDK program's plain checkpoints (one node per key). Keys inside a loop collapse
    onto one node per step, nested under their owner.
    """
    root = Graph()
    for key, step_type in records:
        path = node_path(key) if step_type else (key,)
        if not path:
            continue
        graph: Graph = root
        prefix: Path = ()
        for depth, part in enumerate(path):
            prefix = (*prefix, part)
            found = graph.node(part)
            last = depth == len(path) - 1
            if found is None:
                found = Node(
                    part, (step_type or "Checkpoint") if last else "Scope", prefix, None, None
                )
                if graph.nodes:
                    graph.edges.append(Edge(graph.nodes[-1].id, part))
                else:
                    graph.entry = part
                graph.nodes.append(found)
            elif last and step_type:
                found.type = step_type
            if not last:
                found.subgraph = found.subgraph or Graph()
                graph = found.subgraph
    return root


def node_path(key: str) -> Path:
    """Checkpoint key -> the path of the step it belongs to.

    ``orders/split[3]/charge`` -> ``("orders", "charge")``; an embedded child's steps
    (``child/embed/step``) stay on their EmbedWorkflow step, which is one node here.
    """
    parts = key.split("/")
    path: list[str] = []
    for part in parts:
        if part == _EMBED and path:
            break
        if not _POSITION.match(part):
            path.append(part)
    return tuple(path)


def item_index(key: str) -> tuple[Path, int] | None:
    """``orders/split[3]`` -> (("orders",), 3): the key of one Split item or While
    iteration (its own checkpoint), else None."""
    head, sep, last = key.rpartition("/")
    if not sep or not _POSITION.match(last):
        return None
    return node_path(head), int(last[last.index("[") + 1 : -1])
