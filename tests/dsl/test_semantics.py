"""Semantic rules beyond one-code fixtures: scoping, execution order, handlers, roots."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from runtara import dsl


def ref(path: str) -> dict[str, Any]:
    return {"valueType": "reference", "value": path}


def log(step_id: str, **context: Any) -> dict[str, Any]:
    step = {"stepType": "Log", "id": step_id, "message": step_id}
    if context:
        step["context"] = context
    return step


def finish(step_id: str = "done", **mapping: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"stepType": "Finish", "id": step_id}
    if mapping:
        step["inputMapping"] = mapping
    return step


def graph(*steps: dict[str, Any], edges: list[tuple[str, ...]], **extra: Any) -> dict[str, Any]:
    plan = [
        {"fromStep": e[0], "toStep": e[1], **({"label": e[2]} if len(e) > 2 else {})} for e in edges
    ]
    return {
        "steps": {s["id"]: s for s in steps},
        "entryPoint": steps[0]["id"],
        "executionPlan": plan,
        **extra,
    }


#: ``data`` read without a declared inputSchema: tested on their own below.
SCHEMA_WARNINGS = ("W052", "W054")


def codes(document: dict[str, Any]) -> list[tuple[str, str]]:
    result = dsl.validate_text(json.dumps(document, indent=2), "doc.json")
    return [(d.code, d.message) for d in result.diagnostics if d.code not in SCHEMA_WARNINGS]


IF_DATA_OK = {
    "stepType": "Conditional",
    "id": "check",
    "condition": {"type": "value", "valueType": "reference", "value": "data.ok"},
}


def test_a_step_from_one_branch_is_not_readable_after_the_branches_join() -> None:
    document = graph(
        IF_DATA_OK,
        log("yes"),
        log("no"),
        finish(a=ref("steps.check.outputs.result"), b=ref("steps.yes.outputs")),
        edges=[("check", "yes", "true"), ("check", "no", "false"), ("yes", "done"), ("no", "done")],
    )
    found = codes(document)
    assert [code for code, _ in found] == ["E012"]
    assert "'yes' has not run yet on every path to 'done'" in found[0][1]


def test_subgraphs_cannot_see_parent_steps_but_see_their_variables() -> None:
    split = {
        "stepType": "Split",
        "id": "each",
        "config": {"value": ref("data.items"), "variables": {"base": ref("steps.first.outputs")}},
        "subgraph": graph(
            finish(
                "item",
                parent=ref("steps.first.outputs"),
                base=ref("variables.base"),
                index=ref("variables._index"),
                inherited=ref("variables.limit"),
                previous=ref("variables._previousOutputs"),
            ),
            edges=[],
        ),
    }
    document = graph(
        log("first"),
        split,
        finish(),
        edges=[("first", "each"), ("each", "done")],
        variables={"limit": {"type": "integer", "value": 3}},
    )
    found = dict(codes(document))
    assert "A subgraph sees only its own steps" in found["E010"]
    assert "unknown variable '_previousOutputs'" in found["E013"]
    assert len(found) == 2


def test_steps_error_is_only_set_in_on_error_handlers() -> None:
    agent = {
        "stepType": "Agent",
        "id": "call",
        "agentId": "utils",
        "capabilityId": "do-nothing",
    }
    document = graph(
        agent,
        log("handler", why=ref("steps.error.message")),
        finish(why=ref("steps.error.message")),
        edges=[("call", "done"), ("call", "handler", "onError"), ("handler", "done")],
    )
    # "done" is reached both normally and from the handler: steps.error may be set there.
    assert codes(document) == []
    # Without handler -> done, "done" is no longer part of a handler; a typo is caught too.
    document["executionPlan"] = document["executionPlan"][:2]
    document["steps"]["handler"]["context"]["why"] = ref("steps.error.messag")
    found = dict(codes(document))
    assert set(found) == {"E010", "E011", "W003"}
    assert "'steps.error' is only set inside an onError handler" in found["E010"]
    assert "Did you mean 'message'?" in found["E011"]


def test_loop_and_item_roots_belong_to_while_and_filter_conditions() -> None:
    truthy = {"type": "value", "valueType": "reference", "value": "item.active"}
    document = graph(
        {
            "stepType": "Filter",
            "id": "active",
            "config": {"value": ref("data.users"), "condition": truthy},
        },
        finish(index=ref("loop.index"), user=ref("item.name")),
        edges=[("active", "done")],
    )
    found = codes(document)
    assert [code for code, _ in found] == ["E011", "E011"]
    assert "'loop' is only available in While conditions and subgraphs" in found[0][1]
    assert "'item' is only available in Filter conditions and Split subgraphs" in found[1][1]


def test_edge_conditions_may_read_the_step_they_leave() -> None:
    condition = {
        "type": "operation",
        "op": "EQ",
        "arguments": [
            ref("steps.first.outputs.level"),
            {"valueType": "immediate", "value": "info"},
        ],
    }
    document = graph(log("first"), finish(), edges=[("first", "done")])
    document["executionPlan"][0]["condition"] = condition
    assert codes(document) == []
    condition["arguments"][0] = ref("steps.done.outputs")
    assert [code for code, _ in codes(document)] == ["E012"]


def test_workflow_inputs_and_its_runtara_30_alias() -> None:
    document = graph(
        finish(
            a=ref("workflow.inputs.data.id"),
            b=ref("scenario.inputs.variables.limit"),
            c=ref("workflow.inputs.variables.limt"),
            d=ref("workflow.input.data"),
        ),
        edges=[],
        variables={"limit": {"type": "integer", "value": 3}},
    )
    found = codes(document)
    assert [code for code, _ in found] == ["E013", "E011"]
    assert "Did you mean 'limit'?" in found[0][1]
    assert "Did you mean 'inputs'?" in found[1][1]


def test_template_problems_point_at_the_placeholder() -> None:
    step = log(
        "say", text={"valueType": "template", "value": "Hi {{ data.name }}, {{ varibles.x }}"}
    )
    text = json.dumps(graph(step, finish(), edges=[("say", "done")]), indent=2)
    (diagnostic,) = [
        d for d in dsl.validate_text(text, "t.json").diagnostics if d.code not in SCHEMA_WARNINGS
    ]
    line = text.splitlines()[diagnostic.line - 1]
    assert line[diagnostic.column - 1 :].startswith("{{ varibles.x }}")
    assert "Did you mean 'variables'?" in diagnostic.message


def test_secret_detection_ignores_ordinary_keys_and_templates() -> None:
    group = {
        "stepType": "Agent",
        "id": "group",
        "agentId": "transform",
        "capabilityId": "group-by",
        "inputMapping": {
            "value": ref("data.items"),
            "key": {"valueType": "immediate", "value": "country"},
        },
    }
    call = {
        "stepType": "Agent",
        "id": "call",
        "agentId": "http",
        "capabilityId": "http-request",
        "inputMapping": {
            "url": ref("data.url"),
            "headers": {
                "valueType": "composite",
                "value": {
                    "Authorization": {"valueType": "template", "value": "Bearer {{ data.token }}"},
                    "X-Request-Id": {"valueType": "immediate", "value": "abc"},
                },
            },
            "body": {"valueType": "immediate", "value": {"note": "Bearer eyJhbGciOiJIUzI1NiJ9abc"}},
        },
    }
    found = codes(graph(group, call, finish(), edges=[("group", "call"), ("call", "done")]))
    assert [code for code, _ in found] == ["E043"]
    assert "looks like a credential" in found[0][1]


def test_repeated_keys_are_reported_where_they_repeat() -> None:
    text = (
        '{\n  "steps": {\n    "a": {"stepType": "Finish", "id": "a"},\n'
        '    "a": {"stepType": "Finish", "id": "a", "id": "a"}\n  },\n  "entryPoint": "a"\n}'
    )
    found = [(d.code, d.line, d.column, d.path) for d in dsl.validate_text(text).diagnostics]
    assert found == [("S001", 4, 5, "/steps/a"), ("S001", 4, 44, "/steps/a/id")]


def test_file_variables_hold_base64_file_values() -> None:
    good = {
        "type": "file",
        "value": {"content": "aGVsbG8=", "filename": "a.txt", "mimeType": "text/plain"},
    }
    bad_content = {"type": "file", "value": {"content": "not base64!"}}
    bad_shape = {"type": "file", "value": "aGVsbG8="}
    document = graph(
        finish(), edges=[], variables={"good": good, "bad": bad_content, "shape": bad_shape}
    )
    found = codes(document)
    assert [code for code, _ in found] == ["E023", "E023"]
    assert "content is not valid base64" in found[0][1]
    assert "not {content: <base64>" in found[1][1]


def test_secret_literals_are_flagged_under_the_keys_redaction_masks() -> None:
    from runtara.agents.redaction import MASK, redact

    headers = {"Cookie": "session=abc123", "X-Api-Token": "t-123456", "Connection": "close"}
    call = {
        "stepType": "Agent",
        "id": "call",
        "agentId": "http",
        "capabilityId": "http-request",
        "inputMapping": {
            "url": ref("data.url"),
            "headers": {"valueType": "immediate", "value": headers},
        },
    }
    found = codes(graph(call, finish(), edges=[("call", "done")]))
    assert sorted(message.split("literal ")[1].split(":")[0] for _, message in found) == [
        "'Cookie'",
        "'X-Api-Token'",
    ]
    assert redact(headers) == {"Cookie": MASK, "X-Api-Token": MASK, "Connection": "close"}


def test_a_step_with_a_broken_structure_does_not_hide_problems_elsewhere() -> None:
    connection = {
        "stepType": "Connection",
        "id": "api",
        "connectionId": "x",
        "integrationId": "http_bearer",
    }
    broken = {  # S001: agentID for agentId; it is the only user of the connection
        "stepType": "Agent",
        "id": "call",
        "agentID": "http",
        "capabilityId": "http-request",
        "inputMapping": {"_connection": ref("steps.api.outputs"), "url": ref("steps.nope.outputs")},
    }
    typo = {"stepType": "Agent", "id": "shout", "agentId": "txt", "capabilityId": "x"}
    document = graph(
        connection,
        broken,
        typo,
        finish(result=ref("steps.call.outputs.body")),
        edges=[("api", "call"), ("call", "shout"), ("shout", "done")],
    )
    found = [code for code, _ in codes(document)]
    # E020 of another step in the same run; nothing about the inside of the broken step
    # (steps.nope) and no W040, though the broken step is the connection's only user.
    assert sorted(found) == ["E020", "S001"]


# --------------------------------------------------------------------------- Runtara's corpus rules


def test_a_join_after_an_unconditional_fan_out_sees_every_branch() -> None:
    document = graph(
        log("start"),
        log("left"),
        log("right"),
        finish(a=ref("steps.left.outputs"), b=ref("steps.right.outputs")),
        edges=[("start", "left"), ("start", "right"), ("left", "done"), ("right", "done")],
    )
    assert codes(document) == []


def test_error_handlers_read_the_error_under_runtaras_names() -> None:
    call = {**log("call"), "message": "x"}
    handler = finish(
        "handled",
        a=ref("steps.__error.code"),
        b=ref("__error.message"),
        c=ref("error.stepId"),
        d=ref("steps.error.category"),
    )
    document = graph(
        call, handler, finish(), edges=[("call", "done"), ("call", "handled", "onError")]
    )
    assert codes(document) == []
    outside = graph(call, finish(a=ref("__error.message")), edges=[("call", "done")])
    assert [code for code, _ in codes(outside)] == ["E010"]


def test_item_loop_and_iteration_are_readable_inside_split_and_while_subgraphs() -> None:
    split = {
        "stepType": "Split",
        "id": "each",
        "config": {"value": ref("data.items")},
        "subgraph": graph(
            finish(
                "f",
                v=ref("item.value"),
                i=ref("iteration.index"),
                at=ref("variables._loop_indices"),
                n=ref("variables._loop.index"),
            ),
            edges=[],
        ),
    }
    loop = {
        "stepType": "While",
        "id": "again",
        "condition": {
            "type": "operation",
            "op": "LT",
            "arguments": [ref("iteration.index"), ref("data.n")],
        },
        "config": {"variables": {"base": ref("data.base")}},
        "subgraph": graph(
            finish("f", i=ref("loop.index"), base=ref("variables.base"), bad=ref("iteration.nope")),
            edges=[],
        ),
    }
    document = graph(split, loop, finish(), edges=[("each", "again"), ("again", "done")])
    found = codes(document)
    assert [code for code, _ in found] == ["E011"]
    assert "'iteration' has only 'index', 'indices', 'item'" in found[0][1]


def test_switch_routes_and_edge_priority_are_accepted() -> None:
    switch = {
        "stepType": "Switch",
        "id": "route",
        "config": {
            "value": ref("data.s"),
            "cases": [{"matchType": "EQ", "match": "a", "output": {}, "route": "first"}],
            "default": {},
        },
    }
    document = graph(
        switch,
        finish("one", r=ref("steps.route.route")),
        finish("other"),
        edges=[("route", "one", "first"), ("route", "other", "default")],
    )
    document["executionPlan"][0]["priority"] = 5
    assert codes(document) == []


def test_reading_data_without_a_declared_schema_is_only_a_warning() -> None:
    document = graph(finish(a=ref("data.name")), edges=[])
    result = dsl.validate_text(json.dumps(document), "doc.json")
    assert result.ok and [d.code for d in result.diagnostics] == ["W052"]
    document["inputSchema"] = {"name": {"type": "string"}}
    assert dsl.validate_text(json.dumps(document), "doc.json").diagnostics == []
    document["steps"]["done"]["inputMapping"] = {"a": ref("data.nmae")}
    (warning,) = dsl.validate_text(json.dumps(document), "doc.json").diagnostics
    assert warning.code == "W054" and "Did you mean 'name'?" in warning.message


@pytest.mark.parametrize("bad_id", ["", "a\x00b", "line\nbreak", "tab\tbed", "bell\x07"])
def test_a_step_id_is_not_empty_and_has_no_control_characters(bad_id: str) -> None:
    """An id names the step in every log line, event and diagnostic: a NUL or a newline
    in it would garble them (and an empty one reads as nothing at all)."""
    document = {"name": "ids", "steps": {bad_id: finish(bad_id)}, "entryPoint": bad_id}
    result = dsl.validate_text(json.dumps(document), "doc.json")
    assert not result.ok
    found = [d for d in result.diagnostics if d.code == "S001"]
    assert found, result.diagnostics
    assert all(d.line >= 1 for d in found)
    assert ("must not be empty" if bad_id == "" else "control character") in found[0].message


def test_unusual_but_printable_step_ids_stay_valid() -> None:
    ids = ["with space", "dots.and-dashes", "ünïcode", "emoji-🚀"]
    steps = [log(i) for i in ids] + [finish()]
    edges = [(a["id"], b["id"]) for a, b in itertools.pairwise(steps)]
    assert dsl.validate_text(json.dumps(graph(*steps, edges=edges)), "doc.json").ok


@pytest.mark.parametrize(
    ("placeholder", "why"),
    [
        ("{{ data.a | shout }}", "unknown template filter 'shout'"),
        ("{{ data.a | default(1j) }}", "must be literal"),
        ("{{ data.a | default(1e999) }}", "must be literal"),
        ("{{ data.a | default(b'x') }}", "must be literal"),
        ("{{ data.a | default(__import__('os')) }}", "must be literal"),
        ("{{ data.a | default(1, 2, 3) }}", "takes (fallback=''), got 3 argument(s)"),
    ],
)
def test_a_template_filter_is_checked_where_the_document_is_validated(
    placeholder: str, why: str
) -> None:
    """What codegen would refuse, ``runtara validate`` (and so the editor) reports first,
    at the mapping value (one rule: ``dsl.references``)."""
    document = {
        "name": "filters",
        "inputSchema": {"a": {"type": "string"}},
        "steps": {"done": finish(x={"valueType": "template", "value": placeholder})},
        "entryPoint": "done",
    }
    found = dsl.validate_text(json.dumps(document, indent=2), "doc.json").diagnostics
    assert [(d.code, why in d.message) for d in found] == [("E011", True)], found
    assert found[0].path == "/steps/done/inputMapping/x/value"


def test_literal_filter_arguments_of_every_json_kind_are_accepted() -> None:
    value = "{{ data.a | default({'k': [1, 2.5, None, True]}) | replace('a', 'b') }}"
    document = {
        "name": "filters",
        "inputSchema": {"a": {"type": "string"}},
        "steps": {"done": finish(x={"valueType": "template", "value": value})},
        "entryPoint": "done",
    }
    assert dsl.validate_text(json.dumps(document), "doc.json").ok
