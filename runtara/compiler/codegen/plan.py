"""The execution plan as structured control flow.

Edges become a tree the templates print as plain Python: a sequence of step calls,
``if``/``else`` for Conditional branches, ``if``/``elif`` for conditional edges, and
``try``/``except`` for onError handlers. Branches are followed until they meet again
(their merge point: the first step, in breadth-first order, reachable from every
branch), and the code after the ``if`` continues there, so a join step runs once.

Conditional edges: the edges leaving a step that carry a ``condition`` are tried in
plan order and the first that holds is taken; an unconditional edge beside them is the
fallback. An onError handler chain stops where the failed step's own path continues,
which is where execution goes on when the handler does not reach a Finish.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from runtara.compiler.codegen.errors import CodegenError
from runtara.dsl.conditions import OperationCondition, ValueCondition
from runtara.dsl.graph import Edge, ExecutionGraph
from runtara.dsl.mapping import ImmediateValue, ReferenceValue
from runtara.dsl.references import format_path
from runtara.dsl.steps import ConditionalStep, FinishStep

Condition = OperationCondition | ValueCondition


@dataclass
class Run:
    """Run one step; with ``handler``, failures go to the onError chain instead."""

    step_id: str
    handler: list[Node] | None = None


@dataclass
class Branch:
    """A Conditional step: evaluate it, then one of two sub-sequences."""

    step_id: str
    when_true: list[Node]
    when_false: list[Node]
    handler: list[Node] | None = None


@dataclass
class Route:
    """Conditional edges after a step: first holding condition wins, else ``otherwise``."""

    source: str
    routes: list[tuple[Condition, list[Node]]]
    otherwise: list[Node] = field(default_factory=list)


Node = Run | Branch | Route


class Planner:
    def __init__(self, graph: ExecutionGraph, where: str) -> None:
        self.graph = graph
        self.where = where
        self._outgoing: dict[str, list[Edge]] = {}
        for edge in graph.execution_plan:
            self._outgoing.setdefault(edge.from_step, []).append(edge)

    def edges_from(self, step_id: str, kind: str | None = None) -> list[Edge]:
        """Edges leaving ``step_id`` in plan order (indexed: the plan is walked often)."""
        edges = self._outgoing.get(step_id, [])
        return edges if kind is None else [e for e in edges if e.kind == kind]

    def plan(self) -> list[Node]:
        return self.sequence(self.graph.entry_point, stop_at=None, active=frozenset())

    def sequence(
        self, start: str | None, stop_at: str | None, active: frozenset[str]
    ) -> list[Node]:
        """Steps from ``start`` until ``stop_at``, a Finish, or the end of the path."""
        nodes: list[Node] = []
        current = start
        while current is not None and current != stop_at:
            if current in active:
                raise CodegenError(
                    f"cycle through step {current!r} (loops need a While step)",
                    where=self.where,
                    code="E070",
                )
            if current not in self.graph.steps:
                raise CodegenError(
                    f"edge to unknown step {current!r}", where=self.where, code="E003"
                )
            active = active | {current}
            step = self.graph.steps[current]
            following = self._plain_successors(current)
            handler = self._handler(current, following, active)
            if isinstance(step, ConditionalStep):
                when_true = self._target(current, "true")
                when_false = self._target(current, "false")
                merge = self.merge_point([when_true, when_false])
                nodes.append(
                    Branch(
                        current,
                        self.sequence(when_true, merge, active),
                        self.sequence(when_false, merge, active),
                        handler,
                    )
                )
                current = merge
                continue
            nodes.append(Run(current, handler))
            if isinstance(step, FinishStep):
                break
            routed = [e for e in self._next_edges(current) if e.condition is not None]
            # Higher ``priority`` first; equal ones keep plan order (sorted is stable).
            routed.sort(key=lambda e: -(e.priority or 0))
            switched = self._switch_routes(current)
            if switched:
                labelled, fallback = switched
                merge = self.merge_point([*(target for _, target in labelled), fallback])
                nodes.append(
                    Route(
                        current,
                        [(cond, self.sequence(target, merge, active)) for cond, target in labelled],
                        self.sequence(fallback, merge, active),
                    )
                )
                current = merge
            elif routed:
                fallback = following[0] if following else None
                targets = [e.to_step for e in routed] + [fallback]
                merge = self.merge_point(targets)
                nodes.append(
                    Route(
                        current,
                        [(e.condition, self.sequence(e.to_step, merge, active)) for e in routed],  # type: ignore[misc]
                        self.sequence(fallback, merge, active),
                    )
                )
                current = merge
            elif len(following) > 1:
                merge = self.merge_point(following)
                for target in following:
                    nodes.extend(self.sequence(target, merge, active))
                current = merge
            else:
                current = following[0] if following else None
        return nodes

    def _handler(
        self, step_id: str, following: list[str], active: frozenset[str]
    ) -> list[Node] | None:
        targets = [e.to_step for e in self.edges_from(step_id, "onError")]
        if not targets:
            return None
        resume = following[0] if following else None
        merge = self.merge_point([targets[0], resume]) if resume else None
        return self.sequence(targets[0], merge, active)

    def _switch_routes(self, step_id: str) -> tuple[list[tuple[Condition, str]], str | None] | None:
        """A routing Switch's edges: (its ``route`` equals the label, target) for each route
        label, and the ``default`` (or plain) edge's target as the fallback."""
        edges = [e for e in self.edges_from(step_id) if e.is_route]
        if not edges:
            return None
        route = format_path(("steps", step_id, "route"))
        labelled: list[tuple[Condition, str]] = [
            (
                OperationCondition(
                    op="EQ",
                    arguments=[
                        ReferenceValue(value_type="reference", value=route),
                        ImmediateValue(value_type="immediate", value=e.label),
                    ],
                ),
                e.to_step,
            )
            for e in edges
            if e.label != "default"
        ]
        fallback = [e.to_step for e in edges if e.label == "default"]
        fallback += self._plain_successors(step_id)
        return labelled, (fallback[0] if fallback else None)

    def _next_edges(self, step_id: str) -> list[Edge]:
        return self.edges_from(step_id, "next")

    def _plain_successors(self, step_id: str) -> list[str]:
        return [e.to_step for e in self._next_edges(step_id) if e.condition is None]

    def _target(self, step_id: str, label: str) -> str | None:
        edges = self.edges_from(step_id, label)
        return edges[0].to_step if edges else None

    def reachable(self, start: str) -> list[str]:
        """Steps reachable from ``start`` (itself first), breadth first, not via onError."""
        order: list[str] = []
        seen: set[str] = set()
        queue = deque([start])
        while queue:
            current = queue.popleft()
            if current in seen or current not in self.graph.steps:
                continue
            seen.add(current)
            order.append(current)
            if isinstance(self.graph.steps[current], FinishStep):
                continue
            for edge in self.edges_from(current):
                if edge.kind != "onError":
                    queue.append(edge.to_step)
        return order

    def merge_point(self, starts: Sequence[str | None]) -> str | None:
        """First step reachable from every branch start (None when some branch is empty)."""
        if len(starts) < 2 or any(s is None for s in starts):
            return None
        sets = [self.reachable(s) for s in starts if s is not None]
        others = [set(s) for s in sets[1:]]
        for candidate in sets[0]:
            if all(candidate in other for other in others):
                return candidate
        return None
