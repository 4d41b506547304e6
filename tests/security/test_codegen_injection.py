"""No document text becomes code: hostile strings in every string field of a workflow.

Each example is a workflow whose every string (name, description, step ids and names,
variables, input schema, log and error messages and codes, immediate values, template
text, Switch matches and outputs, Split and embedded child ids, conditions, connection
ids, mapping keys) is drawn from fragments that would break out of a Python string,
docstring or comment, among them payloads that touch a marker file or print a marker if
they ever ran. The module must parse, no payload may run, and the run's output must be
the literal values that went in.
"""

from __future__ import annotations

import ast
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from runtara.compiler.codegen import CodegenError
from runtara.compiler.codegen.literals import py_literal, text
from tests.support.flow_harness import Runtime, imm, load_module, op, ref, start_runtime, tpl

MARKER_DIR = Path("/tmp") / f"runtara-injection-{uuid.uuid4().hex[:8]}"
MARKER = MARKER_DIR / "ran"
PRINTED = "INJECTED-" + uuid.uuid4().hex[:8]

_TOUCH = f"__import__('pathlib').Path({str(MARKER)!r}).touch()"
_PRINT = f"print({PRINTED!r})"
PAYLOADS = [
    f'"""; {_TOUCH}; """',
    f"'''; {_TOUCH}; '''",
    f'"; {_TOUCH}; "',
    f"'; {_TOUCH}; '",
    f"\n{_TOUCH}\n",
    f'"""\n{_TOUCH}\n"""',
    f"\\\n{_PRINT}\n#",
    f'")\n{_PRINT}\n("',
    f"\u2028{_TOUCH}\u2029",
    f"\r{_PRINT}\r",
    f"\x0c{_TOUCH}",
    f"{{{{ {_TOUCH} }}}}",
]
FRAGMENTS = [
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\\\",
    "\n",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x00",
    "\x85",
    "\ufeff",
    "\u202e",
    "{{ }}",
    "{{",
    "}}",
    "#",
    "# noqa",
    "\\N{BULLET}",
    "\\x41",
    "\\u0041",
    "%s",
    "{0}",
    "$x",
    "é",
    "😀",
    " ",
    *PAYLOADS,
]
LONE_SURROGATE = "\ud800"

fragment = st.sampled_from(FRAGMENTS) | st.text(max_size=4)
hostile = st.lists(fragment, min_size=1, max_size=5).map("".join)
#: Mapping keys: a dot nests (``a.b`` builds ``{"a": {"b": ...}}``), so none here.
key = hostile.map(lambda s: s.replace(".", "_"))
#: Literal parts of a template: everything except the template's own delimiters.
template_text = hostile.filter(
    lambda s: not any(t in s for t in ("{{", "{%", "{#")) and not s.endswith("{")
)
#: Step ids: any text but empty or with NUL (checkpoint keys the runtime refuses).
step_id = hostile.map(lambda s: s.replace("\x00", "0")).filter(bool)


def document(s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(workflow, children) with every string field taken from ``s``."""
    ids = s["ids"]
    cond, log, switch, split, embed, done, conn, err = ids[:8]
    inner, child_done = ids[8], ids[9]
    child = {
        "name": s["child_name"],
        "description": s["description"],
        "entryPoint": child_done,
        "steps": {
            child_done: {
                "stepType": "Finish",
                "id": child_done,
                "name": s["step_name"],
                "inputMapping": {"v": ref("data.x")},
            }
        },
    }
    steps = [
        {
            "stepType": "Conditional",
            "id": cond,
            "name": s["step_name"] + "1",
            "condition": op("EQ", imm(s["value"]), imm(s["value"])),
        },
        {
            "stepType": "Log",
            "id": log,
            "name": s["step_name"] + "2",
            "level": "info",
            "message": s["message"],
            "context": {s["key"]: imm(s["value"])},
        },
        {
            "stepType": "Switch",
            "id": switch,
            "config": {
                "value": imm(s["value"]),
                "cases": [
                    {"matchType": "EQ", "match": s["value"] + "x", "output": s["other"]},
                    {"matchType": "EQ", "match": s["value"], "output": {s["key"]: s["output"]}},
                ],
                "default": s["other"],
            },
        },
        {
            "stepType": "Split",
            "id": split,
            "name": s["step_name"] + "3",
            "config": {"value": imm([s["value"], s["other"]])},
            "subgraph": {
                "name": s["name"],
                "entryPoint": inner,
                "steps": {
                    inner: {
                        "stepType": "Finish",
                        "id": inner,
                        "inputMapping": {"item": ref("data")},
                    }
                },
            },
        },
        {
            "stepType": "EmbedWorkflow",
            "id": embed,
            "childWorkflowId": s["child_id"],
            "childVersion": s["other"],
            "inputMapping": {"x": imm(s["output"])},
        },
        {
            "stepType": "Finish",
            "id": done,
            "name": s["step_name"] + "4",
            "inputMapping": {
                s["key"]: imm(s["output"]),
                "template": tpl(s["template"] + "{{ data.x }}" + s["template"]),
                "variables": ref("variables"),
                "steps": ref("steps"),
            },
        },
        {
            "stepType": "Connection",
            "id": conn,
            "connectionId": s["other"],
            "integrationId": s["value"],
        },
        {
            "stepType": "Error",
            "id": err,
            "name": s["step_name"] + "5",
            "category": "permanent",
            "code": s["other"],
            "message": s["message"],
            "context": {s["key"]: imm(s["other"])},
        },
    ]
    edges = [
        {"fromStep": cond, "toStep": log, "label": "true"},
        {"fromStep": cond, "toStep": conn, "label": "false"},
        {"fromStep": log, "toStep": switch},
        {"fromStep": switch, "toStep": split},
        {"fromStep": split, "toStep": embed},
        {"fromStep": embed, "toStep": done},
        {"fromStep": conn, "toStep": err},
    ]
    workflow = {
        "name": s["name"],
        "description": s["description"],
        "entryPoint": cond,
        "steps": {step["id"]: step for step in steps},
        "executionPlan": edges,
        "variables": {s["key"]: {"type": "string", "value": s["value"], "description": s["name"]}},
        "inputSchema": {
            "x": {"type": "string", "description": s["description"], "example": s["other"]},
            s["key"]: {"type": "string", "default": s["value"], "enum": [s["value"]]},
        },
    }
    return workflow, {s["child_id"]: child}


fields = st.fixed_dictionaries(
    {
        "ids": st.lists(step_id, min_size=10, max_size=10, unique=True),
        "name": hostile,
        "description": hostile,
        "child_name": hostile,
        "child_id": hostile,
        "step_name": hostile,
        "message": template_text,
        "value": hostile,
        "other": hostile,
        "output": hostile,
        "key": key,
        "template": template_text,
        "input": hostile,
    }
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    MARKER_DIR.mkdir(exist_ok=True)
    yield from start_runtime(tmp_path_factory)
    MARKER.unlink(missing_ok=True)
    MARKER_DIR.rmdir()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields)
def test_hostile_strings_stay_data(runtime: Runtime, s: dict[str, Any]) -> None:
    assume(s["key"] not in ("x", "template", "variables", "steps"))
    workflow, children = document(s)
    source = runtime.generate(workflow, children)
    ast.parse(source)  # the module parses
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(io.StringIO()):
        module = load_module(source)  # importing runs module-level code only
        outcome = runtime.run(workflow, {"x": s["input"], s["key"]: s["value"]}, module=module)
    assert not MARKER.exists(), "a payload ran"
    assert PRINTED not in printed.getvalue(), "a payload ran"
    assert outcome.status == "completed", (outcome.error, source)
    output = outcome.output
    assert output[s["key"]] == s["output"]
    assert output["template"] == s["template"] + s["input"] + s["template"]
    assert output["variables"] == {s["key"]: s["value"]}
    steps = output["steps"]
    log_id, switch_id, split_id, embed_id = s["ids"][1:5]
    assert steps[log_id]["outputs"] == {"level": "info", "message": s["message"]}
    assert steps[switch_id]["outputs"] == {s["key"]: s["output"]}
    assert steps[split_id]["outputs"] == [{"item": s["value"]}, {"item": s["other"]}]
    assert steps[embed_id]["outputs"] == {"v": s["output"]}
    logs = runtime.events(outcome.instance_id, "workflow_log")
    assert [e["payload"]["message"] for e in logs] == [s["message"]]


@given(st.text() | hostile)
def test_literal_and_text_are_safe_in_every_place_text_goes(value: str) -> None:
    """``py_literal`` round-trips; ``text`` inside a (double-quoted) docstring or a
    comment keeps the string closed and the comment on one line, for any text at all."""
    literal = py_literal(value)
    assert ast.literal_eval(literal) == value
    inner = text(value)
    assert ast.literal_eval(f'"""{inner}"""') == value
    tree = ast.parse(f'def f():\n    """{inner}"""\n    # {inner}\n    return 1\n')
    (function,) = tree.body
    assert isinstance(function, ast.FunctionDef) and len(function.body) == 2
    assert (
        "\n" not in inner
        and "\r" not in inner
        and not any(ch in inner for ch in "\u2028\u2029\x0c\x0b\x00\x85")
    )


def test_a_lone_surrogate_is_escaped_not_written_raw() -> None:
    """A lone surrogate cannot be written as UTF-8: it stays an escape in the source."""
    workflow, children = document(
        {
            "ids": [f"s{i}{LONE_SURROGATE}" for i in range(10)],
            **dict.fromkeys(
                ("name", "description", "child_name", "child_id", "step_name", "message"),
                LONE_SURROGATE,
            ),
            **dict.fromkeys(("value", "other", "output", "key", "template", "input"), "v"),
        }
    )
    source = Runtime.generate(workflow, children)
    source.encode("utf-8")  # no raw surrogate
    ast.parse(source)
    assert "\\ud800" in source


def test_the_reported_split_id_does_not_run(runtime: Runtime) -> None:
    """Issue 11 item 2 as reported: a Split id that closed the graph's docstring."""
    split_id = f'x"""; {_TOUCH}; """'
    workflow = {
        "entryPoint": split_id,
        "steps": {
            split_id: {
                "stepType": "Split",
                "id": split_id,
                "config": {"value": imm([1])},
                "subgraph": {
                    "entryPoint": "f",
                    "steps": {"f": {"stepType": "Finish", "id": "f", "inputMapping": {}}},
                },
            }
        },
    }
    outcome = runtime.run(workflow)
    assert not MARKER.exists()
    assert outcome.status == "completed"


@pytest.mark.parametrize(
    "name", ['say "hi"', 'ends with "', '"', '"""', "\\", 'a\\"""b', "tab\there"]
)
def test_step_names_with_quotes_generate(runtime: Runtime, name: str) -> None:
    workflow = {
        "entryPoint": "done",
        "steps": {"done": {"stepType": "Finish", "id": "done", "name": name, "inputMapping": {}}},
    }
    module = load_module(Runtime.generate(workflow))
    assert module.DONE.name == name
    assert runtime.run(workflow, module=module).status == "completed"


@pytest.mark.parametrize(
    "filters, message",
    [
        ("default(1j)", "template filter arguments must be literal"),
        ("default({1, 2})", "template filter arguments must be literal"),
        ("default(b'x')", "template filter arguments must be literal"),
        ("default(__import__('os'))", "template filter arguments must be literal"),
        ("replace('a')", "template filter replace takes"),
        ("upper(1, 2)", "template filter upper takes"),
    ],
)
def test_bad_template_filter_arguments_are_clear_errors(filters: str, message: str) -> None:
    workflow = {
        "entryPoint": "done",
        "steps": {
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {"r": tpl("{{ data.x | " + filters + " }}")},
            }
        },
    }
    with pytest.raises(CodegenError, match=message) as caught:
        Runtime.generate(workflow)
    assert "step 'done'" in str(caught.value)


def test_a_chain_of_replace_filters_stops_at_the_text_ceiling(runtime: Runtime) -> None:
    """1 KB grew to 980 MB through ten ``replace`` filters; now the step fails clearly."""
    grow = " | replace('a', 'aaaaaaaaaa')" * 10
    workflow = {
        "entryPoint": "done",
        "steps": {
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {"r": tpl("{{ data.x" + grow + " }}")},
            }
        },
    }
    outcome = runtime.run(workflow, {"x": "a" * 1000})
    assert outcome.status == "failed"
    assert "template filter replace: the result would be" in json.dumps(outcome.error)
    assert "over the limit of 10,000,000" in json.dumps(outcome.error)
