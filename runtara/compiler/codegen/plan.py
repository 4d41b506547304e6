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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from runtara.compiler.codegen.errors import CodegenError
from runtara.dsl.ai import is_loop_edge
from runtara.dsl.conditions import OperationCondition, ValueCondition
from runtara.dsl.graph import Edge, ExecutionGraph
from runtara.dsl.mapping import ImmediateValue, ReferenceValue
from runtara.dsl.references import format_path
from runtara.dsl.steps import AiAgentStep, ConditionalStep, FinishStep

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


@dataclass
class Exit:
    """A Conditional whose one side ends the graph, in tail position: evaluate it and
    return when it went that way (``leave_when``); the other side follows flat, so a
    chain of one-sided checks does not nest one ``if`` per step."""

    step_id: str
    leave_when: bool


Node = Run | Branch | Route | Exit


class Planner:
    def __init__(self, graph: ExecutionGraph, where: str) -> None:
        self.graph = graph
        self.where = where
        self._succ: dict[str, list[str]] = {}
        self._edges: dict[tuple[str, str | None], list[Edge]] = {}
        self._topo: tuple[dict[str, int], dict[str, list[str]]] | bool | None = False

    def edges_from(self, step_id: str, kind: str | None = None) -> list[Edge]:
        """Edges leaving ``step_id`` in plan order (the graph keeps them indexed; asked
        several times a step, so kept here too; callers do not change the lists). An
        AiAgent's tool, memory and MCP edges are not control flow (its loop runs them)."""
        key = (step_id, kind)
        found = self._edges.get(key)
        if found is None:
            found = self.graph.edges_from(step_id, kind)
            if isinstance(self.graph.steps.get(step_id), AiAgentStep):
                found = [e for e in found if not is_loop_edge(e)]
            self._edges[key] = found
        return found

    def plan(self) -> list[Node]:
        self._active: set[str] = set()
        return self.sequence(self.graph.entry_point, stop_at=None, tail=True)

    def sequence(self, start: str | None, stop_at: str | None, *, tail: bool = False) -> list[Node]:
        """Steps from ``start`` until ``stop_at``, a Finish, or the end of the path.

        ``tail``: nothing runs after this sequence (the graph returns when it ends).
        Steps on the current path are in ``_active`` while it is planned (a cycle check
        without a copy per step).
        """
        entered: list[str] = []
        try:
            return self._sequence(start, stop_at, tail, entered)
        finally:
            self._active.difference_update(entered)

    def _sequence(
        self, start: str | None, stop_at: str | None, tail: bool, entered: list[str]
    ) -> list[Node]:
        nodes: list[Node] = []
        current = start
        while current is not None and current != stop_at:
            if current in self._active:
                raise CodegenError(
                    f"cycle through step {current!r} (loops need a While step)",
                    where=self.where,
                    code="E070",
                )
            if current not in self.graph.steps:
                raise CodegenError(
                    f"edge to unknown step {current!r}", where=self.where, code="E003"
                )
            self._active.add(current)
            entered.append(current)
            step = self.graph.steps[current]
            following = self._plain_successors(current)
            handler = self._handler(current, following)
            if isinstance(step, ConditionalStep):
                when_true = self._target(current, "true")
                when_false = self._target(current, "false")
                one_sided = (when_true is None) != (when_false is None)
                if tail and one_sided and handler is None:
                    nodes.append(Exit(current, leave_when=when_true is None))
                    current = when_true if when_false is None else when_false
                    continue
                merge = self.merge_point([when_true, when_false])
                inner_tail = tail and merge is None
                nodes.append(
                    Branch(
                        current,
                        self.sequence(when_true, merge, tail=inner_tail),
                        self.sequence(when_false, merge, tail=inner_tail),
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
                        [(cond, self.sequence(target, merge)) for cond, target in labelled],
                        self.sequence(fallback, merge),
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
                        [(e.condition, self.sequence(e.to_step, merge)) for e in routed],  # type: ignore[misc]
                        self.sequence(fallback, merge),
                    )
                )
                current = merge
            elif len(following) > 1:
                merge = self.merge_point(following)
                for target in following:
                    nodes.extend(self.sequence(target, merge))
                current = merge
            else:
                current = following[0] if following else None
        return nodes

    def _handler(self, step_id: str, following: list[str]) -> list[Node] | None:
        targets = [e.to_step for e in self.edges_from(step_id, "onError")]
        if not targets:
            return None
        resume = following[0] if following else None
        merge = self.merge_point([targets[0], resume]) if resume else None
        return self.sequence(targets[0], merge)

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

    def _successors(self, step_id: str) -> list[str]:
        """Where reachability goes from ``step_id``: not via onError, not out of a Finish."""
        found = self._succ.get(step_id)
        if found is None:
            step = self.graph.steps.get(step_id)
            found = (
                []
                if step is None or isinstance(step, FinishStep)
                else [
                    e.to_step
                    for e in self.edges_from(step_id)
                    if e.kind != "onError" and e.to_step in self.graph.steps
                ]
            )
            self._succ[step_id] = found
        return found

    def _order(self) -> tuple[dict[str, int], dict[str, list[str]]] | None:
        """A topological index of every step and the predecessor lists (same edges as
        ``reachable``); None when those edges have a cycle (no pruning then)."""
        if self._topo is not False:
            return self._topo  # type: ignore[return-value]
        preds: dict[str, list[str]] = {s: [] for s in self.graph.steps}
        indegree = dict.fromkeys(self.graph.steps, 0)
        for source in self.graph.steps:
            for target in self._successors(source):
                preds[target].append(source)
                indegree[target] += 1
        ready = [s for s, n in indegree.items() if n == 0]
        index: dict[str, int] = {}
        while ready:
            current = ready.pop()
            index[current] = len(index)
            for target in self._successors(current):
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        self._topo = (index, preds) if len(index) == len(self.graph.steps) else None
        return self._topo

    def _iter_reachable(self, start: str) -> Iterator[str]:
        """``reachable(start)``, lazily: breadth first, itself first."""
        if start not in self.graph.steps:
            return
        seen = {start}
        queue = deque([start])
        while queue:
            current = queue.popleft()
            yield current
            for target in self._successors(current):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)

    def reachable(self, start: str) -> list[str]:
        """Steps reachable from ``start`` (itself first), breadth first, not via onError."""
        return list(self._iter_reachable(start))

    def _reaches(self, source: str, target: str) -> bool:
        """Whether ``target`` is in ``reachable(source)``: a search from both ends that
        stays between the two in topological order, so it looks only at the steps that
        can lie on a path between them (without cycles; otherwise a plain search)."""
        if source == target:
            return source in self.graph.steps
        order = self._order()
        if order is None:
            return target in set(self._iter_reachable(source))
        index, preds = order
        if source not in index or target not in index:
            return False
        low, high = index[source], index[target]
        if low >= high:
            return False
        forward, backward = {source}, {target}
        ahead, behind = deque([source]), deque([target])
        while ahead and behind:
            current = ahead.popleft()
            for step in self._successors(current):
                if step in backward:
                    return True
                if step not in forward and index[step] < high:
                    forward.add(step)
                    ahead.append(step)
            current = behind.popleft()
            for step in preds[current]:
                if step in forward:
                    return True
                if step not in backward and index[step] > low:
                    backward.add(step)
                    behind.append(step)
        return False

    def merge_point(self, starts: Sequence[str | None]) -> str | None:
        """First step reachable from every branch start (None when some branch is empty).

        The same answer as intersecting the full ``reachable`` lists, in time that depends
        on the branches, not on the rest of the graph: the branches are explored side by
        side until one ends (then only its steps can be common) or some step is reached
        from all of them (then the answer comes at latest there in the first branch's
        order); each candidate is checked with ``_reaches``.
        """
        if len(starts) < 2 or any(s is None for s in starts):
            return None
        present = [s for s in starts if s is not None]
        if present[0] not in self.graph.steps:
            return None
        walks = [self._iter_reachable(s) for s in present]
        seen: list[set[str]] = [set() for _ in present]
        done: list[bool] = [False] * len(present)
        counts: dict[str, int] = {}
        limited: set[str] | None = None
        while limited is None:
            met = False
            for i, walk in enumerate(walks):
                step = next(walk, None)
                if step is None:
                    done[i] = True
                    limited = seen[i]
                    break
                seen[i].add(step)
                counts[step] = counts.get(step, 0) + 1
                if counts[step] == len(present):
                    met = True
            if met:
                break

        def common(step: str) -> bool:
            return all(
                step in seen[i] or (not done[i] and self._reaches(s, step))
                for i, s in enumerate(present)
            )

        if limited is not None:
            candidates = {step for step in limited if common(step)}
            if not candidates:
                return None
            return next(s for s in self._iter_reachable(present[0]) if s in candidates)
        return next((s for s in self._iter_reachable(present[0]) if common(s)), None)
