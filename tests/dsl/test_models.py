"""The models read every form of the language, including Runtara DSL 3.0/3.1 documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtara import dsl

RUNTARA_30_DOCUMENT = {
    "executionGraph": {
        "name": "parent",
        "steps": {
            "child": {
                "stepType": "StartScenario",
                "id": "child",
                "childScenarioId": "child-scenario",
                "childVersion": "latest",
                "inputMapping": {
                    "orderId": {"valueType": "reference", "value": "scenario.inputs.data.id"}
                },
            },
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {
                    "result": {"valueType": "reference", "value": "steps.child.outputs"}
                },
            },
        },
        "entryPoint": "child",
        "executionPlan": [{"fromStep": "child", "toStep": "done"}],
        "notes": [{"id": "n1", "text": "layout", "position": {"x": 1, "y": 2}}],
        "nodes": [{"anything": True}],
        "edges": "ignored",
    },
    "memoryTier": "M",
    "debugMode": True,
}


def test_runtara_30_wrapper_with_start_scenario_parses() -> None:
    workflow = dsl.Workflow.model_validate(RUNTARA_30_DOCUMENT)
    assert workflow.wrapped
    assert workflow.memory_limit_bytes == 64 * 2**20
    child = workflow.graph.steps["child"]
    assert isinstance(child, dsl.EmbedWorkflowStep)
    assert child.child_workflow_id == "child-scenario"
    assert child.max_retries == 3
    reference = child.input_mapping["orderId"] if child.input_mapping else None
    assert isinstance(reference, dsl.ReferenceValue)
    path = dsl.parse_reference(reference.value).canonical()
    assert path.segments == ("workflow", "inputs", "data", "id")


def test_bare_graph_with_schema_key_and_every_value_kind() -> None:
    text = json.dumps(
        {
            "$schema": "../runtara/schemas/workflow.schema.json",
            "steps": {
                "greet": {
                    "stepType": "Agent",
                    "id": "greet",
                    "agentId": "text",
                    "capabilityId": "render-template",
                    "inputMapping": {
                        "text": {"valueType": "template", "value": "Hi {{ data.name }}"},
                        "context": {
                            "valueType": "composite",
                            "value": {
                                "n": {
                                    "valueType": "reference",
                                    "value": "data.n",
                                    "type": "integer",
                                },
                                "list": {
                                    "valueType": "composite",
                                    "value": [{"valueType": "immediate", "value": None}],
                                },
                            },
                        },
                    },
                },
                "end": {"stepType": "Finish", "id": "end"},
            },
            "entryPoint": "greet",
            "executionPlan": [
                {
                    "fromStep": "greet",
                    "toStep": "end",
                    "label": "next",
                    "condition": {
                        "type": "operation",
                        "op": "AND",
                        "arguments": [
                            {
                                "op": "GT",
                                "arguments": [
                                    {"valueType": "reference", "value": "data.n", "type": "number"},
                                    {"valueType": "immediate", "value": 1},
                                ],
                            },
                            {"type": "value", "valueType": "reference", "value": "data.ok"},
                        ],
                    },
                }
            ],
        }
    )
    loaded = dsl.loads(text, "bare.json")
    workflow = loaded.workflow
    assert not workflow.wrapped and workflow.graph_pointer == ""
    edge = workflow.graph.execution_plan[0]
    assert edge.kind == "next"
    assert isinstance(edge.condition, dsl.OperationCondition)
    first, second = edge.condition.arguments
    assert isinstance(first, dsl.OperationCondition) and first.op == "GT"
    assert isinstance(second, dsl.ValueCondition)
    assert isinstance(second.as_mapping(), dsl.ReferenceValue)
    step = workflow.graph.steps["greet"]
    leaves = [
        ptr
        for site in dsl.step_values(step, "/steps/greet")
        for ptr, _ in dsl.leaf_values(site.value, site.pointer)
    ]
    assert leaves == [
        "/steps/greet/inputMapping/text",
        "/steps/greet/inputMapping/context/value/n",
        "/steps/greet/inputMapping/context/value/list/value/0",
    ]


def test_every_step_type_parses_and_subgraphs_are_walked() -> None:
    immediate = {"valueType": "immediate", "value": 1}
    finish = {"steps": {"f": {"stepType": "Finish", "id": "f"}}, "entryPoint": "f"}
    always = {"type": "value", "valueType": "immediate", "value": True}
    steps = {
        "a": {"stepType": "Agent", "agentId": "utils", "capabilityId": "do-nothing"},
        "b": {"stepType": "Conditional", "condition": always},
        "c": {
            "stepType": "Switch",
            "config": {
                "value": immediate,
                "cases": [{"matchType": "BETWEEN", "match": [0, 5], "output": {"x": immediate}}],
                "default": "none",
            },
        },
        "d": {
            "stepType": "Split",
            "config": {"value": immediate, "parallelism": 4},
            "subgraph": finish,
        },
        "e": {
            "stepType": "While",
            "condition": always,
            "subgraph": finish,
            "config": {"maxIterations": 3},
        },
        "g": {"stepType": "Filter", "config": {"value": immediate, "condition": always}},
        "h": {"stepType": "GroupBy", "config": {"value": immediate, "key": "country"}},
        "i": {"stepType": "Delay", "durationMs": immediate},
        "j": {"stepType": "WaitForSignal", "timeoutMs": 5, "onWait": finish},
        "k": {"stepType": "EmbedWorkflow", "childWorkflowId": "c", "childVersion": 2},
        "l": {"stepType": "Log", "message": "hi", "level": "warn"},
        "m": {"stepType": "Error", "category": "permanent", "code": "X", "message": "bad"},
        "n": {"stepType": "Connection", "connectionId": "c1", "integrationId": "sftp"},
        "o": {"stepType": "Finish"},
    }
    graph = {"steps": {k: {"id": k, **v} for k, v in steps.items()}, "entryPoint": "a"}
    workflow = dsl.Workflow.model_validate(graph)
    kinds = {type(step).__name__ for step in workflow.graph.steps.values()}
    assert len(kinds) == 14  # the 13 step types plus Finish's own class
    scopes = [(scope.kind, scope.pointer, scope.path) for scope in dsl.iter_graphs(workflow)]
    assert scopes == [
        ("workflow", "", ()),
        ("split", "/steps/d/subgraph", ("d",)),
        ("while", "/steps/e/subgraph", ("e",)),
        ("onWait", "/steps/j/onWait", ("j",)),
    ]
    switch_sites = [site.pointer for site in dsl.step_values(workflow.graph.steps["c"], "/steps/c")]
    assert switch_sites == ["/steps/c/config/value", "/steps/c/config/cases/0/output/x"]


def test_unknown_keys_and_missing_fields_are_reported_with_positions() -> None:
    text = '{\n  "steps": {\n    "a": {"stepType": "Agent", "id": "a", "agentID": "http"}\n  },\n  "entryPoint": "a"\n}'
    with pytest.raises(dsl.DocumentError) as caught:
        dsl.loads(text, "typo.json")
    found = {(d.code, d.line, d.path) for d in caught.value.diagnostics}
    # An unknown key alone is a warning (W001, from the validator); the required key it
    # misspells is missing, and the message names the key that was found instead.
    assert ("S001", 3, "/steps/a") in found
    assert "found 'agentID'" in " ".join(d.message for d in caught.value.diagnostics)
    assert caught.value.readable


def test_unknown_keys_are_warnings_with_a_suggestion() -> None:
    text = (
        '{\n  "trackEvents": true,\n  "steps": {\n    "a": {"stepType": "Finish", "id": "a",'
        ' "breakpiont": true}\n  },\n  "entryPoint": "a"\n}'
    )
    result = dsl.validate_text(text, "unknown.json")
    assert result.ok
    found = [(d.code, d.line, d.path, d.message) for d in result.diagnostics]
    assert ("W001", 2, "/trackEvents", "unknown field 'trackEvents', ignored") in found
    assert (
        "W001",
        4,
        "/steps/a/breakpiont",
        "unknown field 'breakpiont', ignored. Did you mean 'breakpoint'?",
    ) in found


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "a": 1,\n  "b": [1, 2\n}', 4, 1),
        ('{"a": NaN}', 1, 7),
        ("", 1, 1),
        ('{"a": 1}}', 1, 9),
    ],
)
def test_malformed_json_has_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(dsl.DocumentError) as caught:
        dsl.loads(text, "bad.json")
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("S000", line, column)
    assert not caught.value.readable


def test_invalid_utf8_is_reported_at_its_line() -> None:
    with pytest.raises(dsl.DocumentError) as caught:
        dsl.loads(b'{\n  "name": "caf\xe9"\n}', "latin1.json")
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.column) == (2, 15)
    assert "UTF-8" in diagnostic.message


def test_source_map_points_at_keys_and_values() -> None:
    text = '{\n  "steps": {\n    "a/b": {\n      "id": "a/b",\n      "list": [10, {"k": "v"}]\n    }\n  }\n}'
    source_map = dsl.parse_json(text).source_map
    assert str(source_map.key("/steps/a~1b")) == "3:5"
    assert str(source_map.value("/steps/a~1b/id")) == "4:13"
    assert str(source_map.value("/steps/a~1b/list/1/k")) == "5:26"
    assert str(source_map.key("/steps/a~1b/list/1/k")) == "5:21"
    assert str(source_map.locate("/steps/a~1b/missing/deeper")) == "3:12"


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("steps['a-b'].outputs.items[0].name", ("steps", "a-b", "outputs", "items", 0, "name")),
        ('steps["x.y"].outputs', ("steps", "x.y", "outputs")),
        ("steps.step-1.outputs", ("steps", "step-1", "outputs")),
        ("variables._index", ("variables", "_index")),
    ],
)
def test_reference_paths_parse_into_segments(path: str, segments: tuple[object, ...]) -> None:
    assert dsl.parse_reference(path).segments == segments


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("data..name", "consecutive dots"),
        ("data.", "ends with a dot"),
        ("items[x]", "not an index"),
        ("items[0", "unclosed bracket"),
        ("steps['a", "unclosed quoted name"),
        ("[0].a", "starts with a name"),
        ("", "empty"),
        ("data.a b", "unexpected ' '"),
    ],
)
def test_malformed_reference_paths_say_what_is_wrong(path: str, problem: str) -> None:
    with pytest.raises(dsl.ReferenceSyntaxError) as caught:
        dsl.parse_reference(path)
    assert problem in caught.value.message


def test_templates_split_into_text_and_placeholders() -> None:
    parts = dsl.parse_template("Dear {{ data.name | title }}, order {{steps.o.outputs.id}}.")
    expressions = [p for p in parts if isinstance(p, dsl.TemplateExpression)]
    assert [str(e.path) for e in expressions] == ["data.name", "steps.o.outputs.id"]
    assert expressions[0].filters == ("title",)
    with pytest.raises(dsl.ReferenceSyntaxError):
        dsl.parse_template("Hi {{ data..name }}")


@pytest.mark.parametrize(
    "path",
    sorted(Path(__file__).resolve().parents[2].glob("examples/*.json")),
    ids=lambda p: p.name,
)
def test_models_round_trip_through_json(path: Path) -> None:
    workflow = dsl.load(path).workflow
    dumped = workflow.model_dump(mode="json", exclude_defaults=True)
    assert "executionGraph" in dumped  # always written in the wrapper form
    again = dsl.Workflow.model_validate(dumped)
    assert again.model_dump(mode="json", exclude_defaults=True) == dumped
    assert again.graph.steps.keys() == workflow.graph.steps.keys()
