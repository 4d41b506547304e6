"""The planner's merge point (where if/else branches meet again) is the first step, in
breadth-first order from the first branch, that every branch reaches. The planner finds
it without walking the whole graph; these tests hold it to that definition on random
graphs (with Finish steps, onError edges, cycles and edges to unknown steps)."""

from __future__ import annotations

from collections import deque
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runtara.compiler.codegen.plan import Planner
from runtara.dsl import Workflow


def by_definition(planner: Planner, starts: list[str | None]) -> str | None:
    """Intersect the full breadth-first reachable lists (the specification)."""
    if len(starts) < 2 or any(s is None for s in starts):
        return None
    graph = planner.graph

    def reachable(start: str) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()
        queue = deque([start])
        while queue:
            current = queue.popleft()
            if current in seen or current not in graph.steps:
                continue
            seen.add(current)
            order.append(current)
            if graph.steps[current].step_type == "Finish":
                continue
            for edge in graph.edges_from(current):
                if edge.kind != "onError":
                    queue.append(edge.to_step)
        return order

    lists = [reachable(s) for s in starts if s is not None]
    others = [set(r) for r in lists[1:]]
    return next((c for c in lists[0] if all(c in o for o in others)), None)


def workflow(size: int, edges: list[tuple[int, int, str]], finishes: set[int]) -> Workflow:
    steps: dict[str, Any] = {}
    for i in range(size):
        if i in finishes:
            steps[f"s{i}"] = {"stepType": "Finish", "id": f"s{i}"}
        else:
            steps[f"s{i}"] = {"stepType": "Log", "id": f"s{i}", "message": "x"}
    plan = []
    for a, b, kind in edges:
        edge: dict[str, Any] = {"fromStep": f"s{a}", "toStep": f"s{b}" if b < size else "ghost"}
        if kind == "onError":
            edge["label"] = "onError"
        plan.append(edge)
    return Workflow.model_validate(
        {"name": "g", "entryPoint": "s0", "steps": steps, "executionPlan": plan}
    )


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Workflow, list[list[str | None]]]:
    size = draw(st.integers(2, 14))
    acyclic = draw(st.booleans())
    edges = []
    for _ in range(draw(st.integers(0, size * 2))):
        a = draw(st.integers(0, size - 1))
        b = draw(st.integers(a + 1 if acyclic and a + 1 <= size else 0, size))
        edges.append((a, b, draw(st.sampled_from(["next", "next", "next", "onError"]))))
    finishes = set(draw(st.lists(st.integers(0, size - 1), max_size=3)))
    names: list[str | None] = [*(f"s{i}" for i in range(size)), "ghost", None]
    queries = draw(
        st.lists(st.lists(st.sampled_from(names), min_size=2, max_size=4), min_size=1, max_size=6)
    )
    return workflow(size, edges, finishes), queries


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_merge_point_is_the_first_step_every_branch_reaches(case: tuple[Workflow, Any]) -> None:
    wf, queries = case
    planner = Planner(wf.graph, "test")
    for starts in queries:
        assert planner.merge_point(starts) == by_definition(planner, starts), starts


def test_merge_point_of_a_diamond_is_its_join_not_a_later_step() -> None:
    wf = workflow(
        5, [(0, 1, "next"), (0, 2, "next"), (1, 3, "next"), (2, 3, "next"), (3, 4, "next")], {4}
    )
    planner = Planner(wf.graph, "test")
    one_side_empty: list[str | None] = ["s1", None]
    assert planner.merge_point(["s1", "s2"]) == "s3"
    assert planner.merge_point(["s1", "s4"]) == "s4"
    assert planner.merge_point(["s4", "s1"]) == "s4"
    assert planner.merge_point(one_side_empty) is None
