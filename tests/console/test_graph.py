"""The workflow graph: one node per step (nested subgraphs), a layout without overlaps,
SVG / Mermaid / DOT that escape every piece of user text, and ``runtara graph``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runtara import dsl
from runtara.console.formats import to_dot, to_mermaid, to_svg
from runtara.console.graph import Graph, item_index, node_path, of_records, of_workflow
from runtara.console.layout import Layout, layout
from runtara.console.queries import CheckpointHead
from runtara.console.views import step_states
from runtara.runtime.store.instances import Instance
from tests.support.run_processes import EXAMPLES, runtara

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
HOSTILE = "a<b>&c\"d'e\\f\n]|}{#;%%"


def _step_ids(graph: dsl.ExecutionGraph, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = set()
    for step in graph.steps.values():
        found.add((*prefix, step.id))
    for owner, _, subgraph in graph.subgraphs():
        found |= _step_ids(subgraph, (*prefix, owner.id))
    return found


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_one_node_per_step_and_an_svg_that_parses(example: Path) -> None:
    workflow = dsl.load(example).workflow
    graph = of_workflow(workflow)
    assert {node.path for node in graph.walk()} == _step_ids(workflow.graph)
    assert len(graph.edges) == len(workflow.graph.execution_plan)
    assert graph.entry == workflow.graph.entry_point
    svg = ET.fromstring(to_svg(graph, title=example.stem))
    drawn = [g.get("data-path") for g in svg.iter(f"{SVG}g") if "node" in (g.get("class") or "")]
    assert sorted(drawn) == sorted("/".join(p) for p in _step_ids(workflow.graph))
    _no_overlaps(layout(graph))


def _no_overlaps(placed: Layout) -> None:
    boxes = placed.boxes
    for i, a in enumerate(boxes):
        assert a.x >= 0 and a.y >= 0
        for b in boxes[i + 1 :]:
            apart = (
                a.x + a.width <= b.x
                or b.x + b.width <= a.x
                or a.y + a.height <= b.y
                or b.y + b.height <= a.y
            )
            assert apart, (a.node.id, b.node.id)
        if a.inner is not None:
            for inner in a.inner.boxes:  # a subgraph stays inside its owner
                assert a.x <= inner.x and inner.x + inner.width <= a.x + a.width
                assert a.y < inner.y and inner.y + inner.height <= a.y + a.height
            _no_overlaps(a.inner)


def _hostile_workflow() -> dsl.Workflow:
    document = {
        "entryPoint": "check",
        "steps": {
            "check": {
                "stepType": "Conditional",
                "id": "check",
                "name": HOSTILE,
                "condition": {
                    "type": "operation",
                    "op": "EQ",
                    "arguments": [
                        {"valueType": "reference", "value": "data.x"},
                        {"valueType": "immediate", "value": 1},
                    ],
                },
            },
            "yes": {"stepType": "Finish", "id": "yes", "name": "<script>alert(1)</script>"},
            "no": {"stepType": "Finish", "id": "no"},
        },
        "executionPlan": [
            {"fromStep": "check", "toStep": "yes", "label": "true"},
            {"fromStep": "check", "toStep": "no", "label": "false"},
        ],
    }
    return dsl.loads(json.dumps(document)).workflow


def test_user_text_is_escaped_in_every_format() -> None:
    graph = of_workflow(_hostile_workflow())
    svg = ET.fromstring(to_svg(graph, title=HOSTILE))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert HOSTILE.replace("\n", "\n") in texts and "<script>alert(1)</script>" in texts
    assert [t.text for t in svg.iter(f"{SVG}script")] == []

    mermaid = to_mermaid(graph)
    labels = re.findall(r'\["(.*?)"\]', mermaid)
    assert len(labels) == 3
    for label in labels:  # nothing that ends the label or starts markup survives
        assert not set(
            label.replace("<br/>", "").replace("<small>", "").replace("</small>", "")
        ) & set('"<>[]|{}\n')
    assert "check -->" not in mermaid and "n0 -->|true| n1" in mermaid

    dot = to_dot(graph)
    for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot):
        assert "\n" not in label
    assert "a<b>&c\\\"d'e\\\\f\\n]|}{#;%%" in dot


def _instance(status: str, error: Any = None) -> Instance:
    return Instance(
        "t", "i", None, None, status, None, None, error, 1, 3, 0, 0, 0, None, None, None, None, None
    )


def _head(
    seq: int, key: str, step_type: str | None = "Agent", *, failed: bool = False, **extra: Any
) -> CheckpointHead:
    return CheckpointHead(seq, key, "application/json", 10, seq, step_type, failed, **extra)


def test_states_follow_the_branch_taken_and_finish_steps() -> None:
    graph = of_workflow(_hostile_workflow())
    heads = [_head(1, "@start", None), _head(2, "check", "Conditional", result=False)]
    states, _ = step_states(graph, heads, _instance("completed"))
    assert states == {("check",): "done", ("no",): "done"}  # "yes" was not reached
    states, _ = step_states(graph, heads[:1], _instance("running"))
    assert states == {("check",): "running"}


def test_split_items_are_counted_and_nested_steps_mapped() -> None:
    workflow = dsl.load(EXAMPLES / "csv_batch.json").workflow
    graph = of_workflow(workflow)
    keys = ["sftp_login", "download", "parse"]
    for n in range(3):
        keys += [f"import_rows/split[{n}]/normalise", f"import_rows/split[{n}]"]
    heads = [_head(i, k, None if k.endswith("]") else "Agent") for i, k in enumerate(keys)]
    states, counts = step_states(graph, heads, _instance("running"))
    assert counts == {("import_rows",): 3}
    assert states[("import_rows",)] == "running"
    assert states[("import_rows", "normalise")] == "done"
    assert states[("parse",)] == "done" and ("summary",) not in states


def test_a_failed_step_is_marked_from_the_instance_error() -> None:
    graph = of_workflow(_hostile_workflow())
    states, _ = step_states(graph, [], _instance("failed", {"stepId": "check", "message": "x"}))
    assert states == {("check",): "failed"}


def test_keys_map_to_step_paths() -> None:
    assert node_path("orders/split[17]/charge") == ("orders", "charge")
    assert node_path("poll/while[3]/call") == ("poll", "call")
    assert node_path("child/embed/inner") == ("child",)
    assert item_index("orders/split[17]") == (("orders",), 17)
    assert item_index("orders/split[17]/charge") is None
    reported = of_records([("a", "Agent"), ("loop/split[0]/b", "Log"), ("order-7", None)])
    assert [n.id for n in reported.nodes] == ["a", "loop", "order-7"]
    assert isinstance(reported.nodes[1].subgraph, Graph)
    assert [n.type for n in reported.nodes[1].subgraph.nodes] == ["Log"]


def test_cli_draws_each_format(tmp_path: Path) -> None:
    example = str(EXAMPLES / "approval.json")
    svg = runtara(tmp_path, "graph", example)
    assert svg.returncode == 0, svg.stderr
    assert ET.fromstring(svg.stdout).tag == f"{SVG}svg"
    mermaid = runtara(tmp_path, "graph", example, "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart TD\n")
    written = runtara(tmp_path, "graph", example, "-f", "dot", "-o", "approval.dot")
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "approval.dot").read_text().startswith("digraph workflow {")
    assert "wrote approval.dot" in written.stderr


def test_cli_refuses_what_is_not_a_workflow(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"steps": 1}')
    bad = runtara(tmp_path, "graph", "bad.json")
    assert bad.returncode == 1
    assert "bad.json:1:" in bad.stderr and "Traceback" not in bad.stderr
    missing = runtara(tmp_path, "graph", "missing.json")
    assert missing.returncode == 2 and "missing.json" in missing.stderr
    wrong = runtara(tmp_path, "graph", str(EXAMPLES / "hello.json"), "--format", "png")
    assert wrong.returncode == 2 and "png" in wrong.stderr
    unwritable = runtara(tmp_path, "graph", str(EXAMPLES / "hello.json"), "-o", "no/such/dir.svg")
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr
