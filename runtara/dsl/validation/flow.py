"""Control-flow checks of one graph: entry point, edges, reachability, cycles, dead ends.

Also computes what the reference checks need: which steps are reachable, which run on
every path before a given step (dominators), and which belong to onError handlers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from runtara.dsl.ai import agent_loop_targets, is_agent_loop_edge
from runtara.dsl.diagnostics import available, did_you_mean
from runtara.dsl.graph import ExecutionGraph
from runtara.dsl.steps import ErrorStep, FinishStep
from runtara.dsl.validation.context import CheckContext
from runtara.dsl.walk import GraphScope


class Flow:
    """The control flow of one graph (edges naming unknown steps are left out)."""

    def __init__(self, scope: GraphScope, entry_ok: bool) -> None:
        graph = scope.graph
        self.scope = scope
        self.successors: dict[str, list[str]] = {step_id: [] for step_id in graph.steps}
        handler_starts: list[str] = []
        #: Steps an AiAgent runs inside its loop (tools, memory, MCP): reached when the
        #: agent runs, but not control flow (the plan goes on from the agent itself).
        self.loop_steps: dict[str, str] = {}
        for edge in graph.execution_plan:
            if edge.from_step in graph.steps and edge.to_step in graph.steps:
                if is_agent_loop_edge(graph, edge):
                    self.loop_steps.setdefault(edge.to_step, edge.from_step)
                    continue
                self.successors[edge.from_step].append(edge.to_step)
                if edge.kind == "onError":
                    handler_starts.append(edge.to_step)
        self.entry = graph.entry_point if entry_ok else None
        self.reachable = _reach([self.entry], self.successors) if self.entry else set()
        while self.entry:
            more = {t for t, agent in self.loop_steps.items() if agent in self.reachable}
            if more <= self.reachable:
                break
            self.reachable |= _reach(more - self.reachable, self.successors)
        self.handlers = _reach(handler_starts, self.successors)
        """Steps that may run inside an onError handler (``steps.error`` is set)."""
        self._pre: dict[str, int] = {}
        self._post: dict[str, int] = {}
        if self.entry:
            ordered = _sequential_fan_outs(scope, self.successors)
            self._number_dominator_tree(_dominators(self.entry, ordered))

    def runs_before(self, earlier: str, later: str) -> bool:
        """True when ``earlier`` has run on every path that reaches ``later``."""
        if earlier not in self._pre or later not in self._pre:
            return False
        return self._pre[earlier] <= self._pre[later] and self._post[later] <= self._post[earlier]

    def _number_dominator_tree(self, idom: dict[str, str]) -> None:
        children: dict[str, list[str]] = {}
        for node, parent in idom.items():
            if node != parent:
                children.setdefault(parent, []).append(node)
        assert self.entry is not None
        counter = 0
        stack: list[tuple[str, bool]] = [(self.entry, False)]
        while stack:
            node, done = stack.pop()
            counter += 1
            if done:
                self._post[node] = counter
                continue
            self._pre[node] = counter
            stack.append((node, True))
            stack.extend((child, False) for child in children.get(node, ()))


def _sequential_fan_outs(
    scope: GraphScope, successors: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The graph as it runs: the branches of a fan-out (several plain edges leaving one
    step) run one after the other up to where they meet, so there the join has seen
    every branch. Each branch's edges into the meeting step are led to the next branch
    instead, which makes "ran on every path" (dominance) see the branches in sequence.
    """
    graph = scope.graph
    ordered = {node: list(targets) for node, targets in successors.items()}
    plain: dict[str, list[str]] = {}
    conditional: set[str] = set()
    for edge in graph.execution_plan:
        if edge.from_step not in graph.steps or edge.to_step not in graph.steps:
            continue
        if edge.kind == "next" and edge.condition is None:
            plain.setdefault(edge.from_step, []).append(edge.to_step)
        elif edge.kind != "onError":
            conditional.add(edge.from_step)
    forward = {
        node: [t for t in targets if t not in _handler_targets(graph, node)]
        for node, targets in successors.items()
    }
    for source, targets in plain.items():
        if len(targets) < 2 or source in conditional:
            continue
        if isinstance(graph.steps[source], FinishStep):
            continue
        orders = [_bfs(target, forward, graph) for target in targets]
        others = [set(order) for order in orders[1:]]
        merge = next((n for n in orders[0] if all(n in o for o in others)), None)
        if merge is None:
            continue
        for branch, following in zip(orders, targets[1:], strict=False):
            region = _region(branch[0], merge, forward)
            for node in region:
                ordered[node] = [following if t == merge else t for t in ordered[node]]
        ordered[source] = [t for t in ordered[source] if t not in targets[1:]]
    return ordered


def _handler_targets(graph: ExecutionGraph, node: str) -> set[str]:
    return {e.to_step for e in graph.edges_from(node, "onError")}


def _bfs(start: str, forward: dict[str, list[str]], graph: ExecutionGraph) -> list[str]:
    """Steps reachable from ``start`` breadth first, not through Finish or onError."""
    order: list[str] = []
    seen: set[str] = set()
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        if not isinstance(graph.steps[node], FinishStep):
            queue.extend(forward[node])
    return order


def _region(start: str, stop: str, forward: dict[str, list[str]]) -> set[str]:
    """Steps of one branch: reachable from ``start`` without passing ``stop``."""
    region: set[str] = set()
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node in region or node == stop:
            continue
        region.add(node)
        queue.extend(forward[node])
    return region


def _reach(starts: Iterable[str | None], successors: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    queue = deque(start for start in starts if start is not None)
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        queue.extend(successors[node])
    return seen


def _postorder(entry: str, successors: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    seen = {entry}
    stack = [(entry, iter(successors[entry]))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(successors[child])))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _dominators(entry: str, successors: dict[str, list[str]]) -> dict[str, str]:
    """Immediate dominators (Cooper, Harvey & Kennedy, "A Simple, Fast Dominance Algorithm")."""
    rpo = list(reversed(_postorder(entry, successors)))
    index = {node: i for i, node in enumerate(rpo)}
    predecessors: dict[str, list[str]] = {node: [] for node in rpo}
    for node in rpo:
        for child in successors[node]:
            predecessors[child].append(node)
    idom = {entry: entry}

    def intersect(a: str, b: str) -> str:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in rpo[1:]:
            new: str | None = None
            for pred in predecessors[node]:
                if pred in idom:
                    new = pred if new is None else intersect(pred, new)
            if new is not None and idom.get(node) != new:
                idom[node] = new
                changed = True
    return idom


def check_flow(ctx: CheckContext, scope: GraphScope) -> Flow:
    """E001, E002, E003, E004, E070, W003 for one graph; returns its ``Flow``."""
    graph = scope.graph
    where = scope.pointer
    if not graph.steps:
        ctx.report("E004", "Workflow has no steps defined", f"{where}/steps", at="key")
        return Flow(scope, entry_ok=False)
    for index, edge in enumerate(graph.execution_plan):
        for attribute, key in (("from_step", "fromStep"), ("to_step", "toStep")):
            name = getattr(edge, attribute)
            if name not in graph.steps:
                ctx.report(
                    "E003",
                    f"Edge {key} '{name}' is not a step of this graph."
                    + did_you_mean(name, graph.steps),
                    f"{where}/executionPlan/{index}/{key}",
                )
    entry_ok = graph.entry_point in graph.steps
    if not entry_ok and graph.entry_point is None:
        ctx.report(
            "E001",
            "Entry point is null and no single step without incoming edges can stand for "
            "it: name the first step." + available(graph.steps),
            f"{where}/entryPoint",
        )
    elif not entry_ok and graph.entry_point is not None:
        ctx.report(
            "E001",
            f"Entry point '{graph.entry_point}' not found in steps."
            + (did_you_mean(graph.entry_point, graph.steps) or available(graph.steps)),
            f"{where}/entryPoint",
        )
    flow = Flow(scope, entry_ok)
    if entry_ok:
        for step_id in graph.steps:
            if step_id not in flow.reachable:
                ctx.report(
                    "E002",
                    f"Step '{step_id}' is unreachable from the entry point '{graph.entry_point}'",
                    scope.step_pointer(step_id),
                    at="key",
                )
    _check_cycles(ctx, scope, flow)
    has_edge = {
        edge.from_step
        for edge in graph.execution_plan
        if not is_agent_loop_edge(graph, edge)  # a tool edge does not go on from the agent
    }
    # Finish and Error steps end a run on purpose; any other dead end is worth a warning.
    # A step an AiAgent runs in its loop returns to the agent.
    in_loop = agent_loop_targets(graph)
    for step_id, step in graph.steps.items():
        if step_id in in_loop:
            continue
        if step_id not in has_edge and not isinstance(step, FinishStep | ErrorStep):
            ctx.report(
                "W003",
                f"Step '{step_id}' has no outgoing edge: the workflow ends here without "
                "a Finish step (output null)",
                scope.step_pointer(step_id),
                at="key",
            )
    return flow


def _check_cycles(ctx: CheckContext, scope: GraphScope, flow: Flow) -> None:
    """E070 at each edge that closes a cycle (loops belong in a While step)."""
    edge_index = {
        (edge.from_step, edge.to_step): index
        for index, edge in reversed(list(enumerate(scope.graph.execution_plan)))
    }
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 finished
    for root in scope.graph.steps:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        stack = [iter(flow.successors[root])]
        while stack:
            for child in stack[-1]:
                if state.get(child) == 1:
                    cycle = [*path[path.index(child) :], child]
                    ctx.report(
                        "E070",
                        f"Cycle {' -> '.join(cycle)} outside a While loop "
                        "(repeat steps with a While step instead)",
                        f"{scope.pointer}/executionPlan/{edge_index[(path[-1], child)]}/toStep",
                    )
                elif child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append(iter(flow.successors[child]))
                    break
            else:
                state[path.pop()] = 2
                stack.pop()
