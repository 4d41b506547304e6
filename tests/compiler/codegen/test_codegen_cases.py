"""Every step type, operator, match type, coercion rule, reference form and edge label,
through generated code run as a real instance: one row per rule, exact outputs.

Each row is a workflow document, its input, and either the exact workflow output or
the exact error the instance fails with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flow_harness import (
    Runtime,
    agent,
    chain,
    echo,
    finish,
    graph,
    imm,
    op,
    ref,
    start_runtime,
    tpl,
)

YES, NO = {"r": "yes"}, {"r": "no"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from start_runtime(tmp_path_factory)


def decide(condition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Conditional -> Finish {r: yes} on true, {r: no} on false."""
    return graph(
        {"stepType": "Conditional", "id": "check", "condition": condition},
        finish("yes", r=imm("yes")),
        finish("no", r=imm("no")),
        edges=[("check", "yes", "true"), ("check", "no", "false")],
        **extra,
    )


def switch(value: Any, *cases: tuple[str, Any], default: Any = "default") -> dict[str, Any]:
    """Switch over ``value``; case i outputs ``i``; the workflow returns the pick."""
    config = {
        "value": value,
        "cases": [{"matchType": t, "match": m, "output": i} for i, (t, m) in enumerate(cases)],
        "default": default,
    }
    return chain(
        {"stepType": "Switch", "id": "pick", "config": config},
        finish(r=ref("steps.pick.outputs")),
    )


def returns(value: Any) -> dict[str, Any]:
    return chain(finish(r=value))


Case = tuple[str, dict[str, Any], Any, dict[str, Any]]

REFERENCES: list[Case] = [
    (
        "ref-data-field",
        returns(ref("data.user.name")),
        {"user": {"name": "Ada"}},
        {"output": {"r": "Ada"}},
    ),
    ("ref-whole-data", returns(ref("data")), [1, 2], {"output": {"r": [1, 2]}}),
    (
        "ref-index",
        returns(ref("data.items[1].x")),
        {"items": [{"x": 1}, {"x": 2}]},
        {"output": {"r": 2}},
    ),
    (
        "ref-bracket-quoted",
        chain(echo("step-1", imm({"v": 7})), finish(r=ref("steps['step-1'].outputs.v"))),
        None,
        {"output": {"r": 7}},
    ),
    (
        "ref-bracket-double-quoted",
        chain(echo("a", imm(3)), finish(r=ref('steps["a"].outputs'))),
        None,
        {"output": {"r": 3}},
    ),
    (
        "ref-step-record",
        chain(echo("a", imm(1)), finish(r=ref("steps.a"))),
        None,
        {"output": {"r": {"stepId": "a", "stepName": "a", "stepType": "Agent", "outputs": 1}}},
    ),
    (
        "ref-variables",
        returns(ref("variables.limit")) | {"variables": {"limit": {"type": "integer", "value": 5}}},
        None,
        {"output": {"r": 5}},
    ),
    (
        "ref-workflow-inputs",
        returns(ref("workflow.inputs.data.k")),
        {"k": "v"},
        {"output": {"r": "v"}},
    ),
    (
        "ref-scenario-alias",
        returns(ref("scenario.inputs.data.k")),
        {"k": "v"},
        {"output": {"r": "v"}},
    ),
    ("ref-missing-is-null", returns(ref("data.nope.deeper")), {}, {"output": {"r": None}}),
    (
        "ref-default-replaces-null",
        returns(ref("data.nope", default="fallback")),
        {},
        {"output": {"r": "fallback"}},
    ),
    (
        "ref-default-keeps-value",
        returns(ref("data.k", default="fallback")),
        {"k": 0},
        {"output": {"r": 0}},
    ),
]

COERCIONS: list[Case] = [
    (
        "coerce-string-from-number",
        returns(ref("data.v", type="string")),
        {"v": 42},
        {"output": {"r": "42"}},
    ),
    (
        "coerce-string-from-bool",
        returns(ref("data.v", type="string")),
        {"v": True},
        {"output": {"r": "true"}},
    ),
    (
        "coerce-integer-from-text",
        returns(ref("data.v", type="integer")),
        {"v": " 17 "},
        {"output": {"r": 17}},
    ),
    (
        "coerce-integer-fraction-fails",
        returns(ref("data.v", type="integer")),
        {"v": 2.5},
        {"error": "step 'done' failed: cannot convert 2.5 to integer: it has a fractional part"},
    ),
    (
        "coerce-number-from-text",
        returns(ref("data.v", type="number")),
        {"v": "2.5"},
        {"output": {"r": 2.5}},
    ),
    (
        "coerce-number-garbage-fails",
        returns(ref("data.v", type="number")),
        {"v": "12abc"},
        {"error": "step 'done' failed: cannot convert \"12abc\" to number"},
    ),
    (
        "coerce-boolean-from-word",
        returns(ref("data.v", type="boolean")),
        {"v": "yes"},
        {"output": {"r": True}},
    ),
    (
        "coerce-boolean-garbage-fails",
        returns(ref("data.v", type="boolean")),
        {"v": "perhaps"},
        {
            "error": "step 'done' failed: cannot convert \"perhaps\" to boolean: expected true/false, yes/no or 1/0"
        },
    ),
    (
        "coerce-json-parses-text",
        returns(ref("data.v", type="json")),
        {"v": '{"a": [1]}'},
        {"output": {"r": {"a": [1]}}},
    ),
    (
        "coerce-file-from-base64",
        returns(ref("data.v", type="file")),
        {"v": "aGk="},
        {"output": {"r": {"content": "aGk="}}},
    ),
    ("coerce-null-stays-null", returns(ref("data.v", type="integer")), {}, {"output": {"r": None}}),
    (
        "coerce-default-then-type",
        returns(ref("data.v", type="integer", default="9")),
        {},
        {"output": {"r": 9}},
    ),
]

MAPPINGS: list[Case] = [
    (
        "template-plain",
        returns(tpl("Hello {{ data.name }}!")),
        {"name": "Ada"},
        {"output": {"r": "Hello Ada!"}},
    ),
    (
        "template-filters",
        returns(tpl("{{ data.name | upper }}/{{ data.tags | join(', ') }}")),
        {"name": "ada", "tags": ["a", "b"]},
        {"output": {"r": "ADA/a, b"}},
    ),
    ("template-missing-is-empty", returns(tpl("[{{ data.nope }}]")), {}, {"output": {"r": "[]"}}),
    (
        "template-default-filter",
        returns(tpl("{{ data.nope | default('n/a') }}")),
        {},
        {"output": {"r": "n/a"}},
    ),
    (
        "template-numbers-and-json",
        returns(tpl("{{ data.n }} {{ data.o }}")),
        {"n": 3, "o": {"a": True}},
        {"output": {"r": '3 {"a":true}'}},
    ),
    (
        "composite-object-and-array",
        returns(
            {
                "valueType": "composite",
                "value": {
                    "a": ref("data.x"),
                    "b": {"valueType": "composite", "value": [imm(1), ref("data.y")]},
                },
            }
        ),
        {"x": "X", "y": "Y"},
        {"output": {"r": {"a": "X", "b": [1, "Y"]}}},
    ),
    (
        "dotted-keys-nest",
        chain(finish(**{"a.b": imm(1), "a.c": imm(2), "d": imm(3)})),
        None,
        {"output": {"a": {"b": 1, "c": 2}, "d": 3}},
    ),
    ("finish-outputs-key", chain(finish(**{"outputs.x": imm(1)})), None, {"output": {"x": 1}}),
    ("finish-without-mapping", chain({"stepType": "Finish", "id": "done"}), None, {"output": {}}),
    ("no-finish-gives-null", chain(echo("a", imm(1))), None, {"output": None}),
]

OPERATORS: list[Case] = [
    ("op-and-true", decide(op("AND", imm(True), imm(1))), None, {"output": YES}),
    ("op-and-false", decide(op("AND", imm(True), imm(0))), None, {"output": NO}),
    ("op-and-empty-is-true", decide(op("AND")), None, {"output": YES}),
    ("op-or-true", decide(op("OR", imm(False), imm("x"))), None, {"output": YES}),
    ("op-or-empty-is-false", decide(op("OR")), None, {"output": NO}),
    ("op-not", decide(op("NOT", imm([]))), None, {"output": YES}),
    ("op-eq-number-float", decide(op("EQ", ref("data.v"), imm(1.0))), {"v": 1}, {"output": YES}),
    ("op-eq-bool-is-not-number", decide(op("EQ", imm(True), imm(1))), None, {"output": NO}),
    ("op-ne", decide(op("NE", ref("data.v"), imm("b"))), {"v": "a"}, {"output": YES}),
    ("op-gt", decide(op("GT", ref("data.amount"), imm(100))), {"amount": 150}, {"output": YES}),
    (
        "op-gt-numeric-string",
        decide(op("GT", ref("data.amount"), imm(100))),
        {"amount": "150"},
        {"output": YES},
    ),
    ("op-gt-non-number-false", decide(op("GT", imm("b"), imm("a"))), None, {"output": NO}),
    ("op-gte", decide(op("GTE", imm(2), imm(2))), None, {"output": YES}),
    ("op-lt", decide(op("LT", imm(1), imm(2))), None, {"output": YES}),
    ("op-lte-null-false", decide(op("LTE", ref("data.none"), imm(2))), {}, {"output": NO}),
    (
        "op-starts-with",
        decide(op("STARTS_WITH", ref("data.s"), imm("ord-"))),
        {"s": "ord-1"},
        {"output": YES},
    ),
    (
        "op-ends-with",
        decide(op("ENDS_WITH", ref("data.s"), imm(".csv"))),
        {"s": "a.txt"},
        {"output": NO},
    ),
    (
        "op-contains-array",
        decide(op("CONTAINS", ref("data.tags"), imm("vip"))),
        {"tags": ["new", "vip"]},
        {"output": YES},
    ),
    (
        "op-contains-substring",
        decide(op("CONTAINS", imm("haystack"), imm("st"))),
        None,
        {"output": YES},
    ),
    ("op-in", decide(op("IN", ref("data.c"), imm(["PL", "DE"]))), {"c": "DE"}, {"output": YES}),
    (
        "op-not-in",
        decide(op("NOT_IN", ref("data.c"), imm(["PL", "DE"]))),
        {"c": "FR"},
        {"output": YES},
    ),
    ("op-length-nonzero", decide(op("LENGTH", ref("data.items"))), {"items": [1]}, {"output": YES}),
    (
        "op-length-compared",
        decide(op("GT", op("LENGTH", ref("data.items")), imm(2))),
        {"items": [1, 2, 3]},
        {"output": YES},
    ),
    ("op-is-defined", decide(op("IS_DEFINED", ref("data.v"))), {"v": False}, {"output": YES}),
    ("op-is-empty", decide(op("IS_EMPTY", ref("data.v"))), {"v": {}}, {"output": YES}),
    ("op-is-not-empty", decide(op("IS_NOT_EMPTY", ref("data.v"))), {"v": ""}, {"output": NO}),
    (
        "op-nested",
        decide(op("OR", op("AND", imm(True), op("NOT", imm(True))), op("EQ", imm("a"), imm("a")))),
        None,
        {"output": YES},
    ),
    (
        "condition-value-type",
        decide({"type": "value", "valueType": "reference", "value": "data.flag"}),
        {"flag": "x"},
        {"output": YES},
    ),
    (
        "condition-value-falsy",
        decide({"type": "value", "valueType": "reference", "value": "data.flag"}),
        {"flag": 0},
        {"output": NO},
    ),
]

MATCHES: list[Case] = [
    ("match-eq", switch(ref("data.v"), ("EQ", "b"), ("EQ", "a")), {"v": "a"}, {"output": {"r": 1}}),
    ("match-ne", switch(imm(1), ("NE", 1), ("NE", 2)), None, {"output": {"r": 1}}),
    ("match-gt", switch(imm(5), ("GT", 5), ("GT", 4)), None, {"output": {"r": 1}}),
    ("match-gte", switch(imm(5), ("GTE", 5)), None, {"output": {"r": 0}}),
    ("match-lt", switch(imm(5), ("LT", 6)), None, {"output": {"r": 0}}),
    ("match-lte", switch(imm(5), ("LTE", 4)), None, {"output": {"r": "default"}}),
    ("match-starts-with", switch(imm("ord-1"), ("STARTS_WITH", "ord")), None, {"output": {"r": 0}}),
    (
        "match-ends-with",
        switch(imm("a.csv"), ("ENDS_WITH", ".xml"), ("ENDS_WITH", ".csv")),
        None,
        {"output": {"r": 1}},
    ),
    ("match-contains", switch(imm(["x", "y"]), ("CONTAINS", "y")), None, {"output": {"r": 0}}),
    ("match-in", switch(imm("PL"), ("IN", ["PL", "DE"])), None, {"output": {"r": 0}}),
    (
        "match-not-in",
        switch(imm("PL"), ("NOT_IN", ["PL"]), ("NOT_IN", ["FR"])),
        None,
        {"output": {"r": 1}},
    ),
    (
        "match-is-defined",
        switch(ref("data.none"), ("IS_DEFINED", None), ("IS_EMPTY", None)),
        {},
        {"output": {"r": 1}},
    ),
    ("match-is-not-empty", switch(imm([1]), ("IS_NOT_EMPTY", None)), None, {"output": {"r": 0}}),
    (
        "match-between-inclusive",
        switch(imm(10), ("BETWEEN", [1, 9]), ("BETWEEN", [10, 20])),
        None,
        {"output": {"r": 1}},
    ),
    (
        "match-range",
        switch(ref("data.v"), ("RANGE", {"gte": 0, "lt": 10}), ("RANGE", {"gte": 10})),
        {"v": 10},
        {"output": {"r": 1}},
    ),
    ("match-default", switch(imm("zzz"), ("EQ", "a")), None, {"output": {"r": "default"}}),
    (
        "match-output-resolves-mappings",
        chain(
            {
                "stepType": "Switch",
                "id": "pick",
                "config": {
                    "value": imm("a"),
                    "cases": [
                        {
                            "matchType": "EQ",
                            "match": "a",
                            "output": {"tier": ref("data.t"), "fixed": 1},
                        }
                    ],
                },
            },
            finish(r=ref("steps.pick.outputs")),
        ),
        {"t": "gold"},
        {"output": {"r": {"tier": "gold", "fixed": 1}}},
    ),
]


def _split(config: dict[str, Any], *sub_steps: dict[str, Any]) -> dict[str, Any]:
    return chain(
        {"stepType": "Split", "id": "each", "config": config, "subgraph": chain(*sub_steps)},
        finish(r=ref("steps.each.outputs")),
    )


def _while(condition: dict[str, Any], *sub_steps: dict[str, Any], **config: Any) -> dict[str, Any]:
    return chain(
        {
            "stepType": "While",
            "id": "loop",
            "condition": condition,
            "config": config,
            "subgraph": chain(*sub_steps),
        },
        # While outputs {iterations, outputs} (Runtara's shape): the last iteration's output.
        finish(r=ref("steps.loop.outputs.outputs"), n=ref("steps.loop.outputs.iterations")),
    )


def _fail(
    step_id: str, code: str = "BAD", message: str = "it broke", category: str = "permanent"
) -> dict[str, Any]:
    return {
        "stepType": "Error",
        "id": step_id,
        "category": category,
        "code": code,
        "message": message,
    }


def _split_graph(config: dict[str, Any], subgraph: dict[str, Any]) -> dict[str, Any]:
    return chain(
        {"stepType": "Split", "id": "each", "config": config, "subgraph": subgraph},
        finish(r=ref("steps.each.outputs")),
    )


def _fails_on_two() -> dict[str, Any]:
    return graph(
        {"stepType": "Conditional", "id": "c", "condition": op("EQ", ref("data"), imm(2))},
        _fail("boom"),
        finish("f"),
        edges=[("c", "boom", "true"), ("c", "f", "false")],
    )


STEPS: list[Case] = [
    (
        "agent-output",
        chain(
            agent("calc", "utils", "calculate", expression=imm("2 * (3 + 4)")),
            finish(r=ref("steps.calc.outputs")),
        ),
        None,
        {"output": {"r": 14}},
    ),
    (
        "agent-input-error-names-step",
        chain(agent("calc", "utils", "calculate"), finish()),
        None,
        {"error": "step 'calc' (utils:calculate): input 'expression' is required"},
    ),
    (
        "split-items",
        _split({"value": ref("data.xs")}, finish("f", v=ref("data"), i=ref("variables._index"))),
        {"xs": ["a", "b"]},
        {"output": {"r": [{"v": "a", "i": 0}, {"v": "b", "i": 1}]}},
    ),
    (
        "split-variables",
        _split(
            {"value": imm([1, 2]), "variables": {"k": ref("data.k")}},
            finish("f", k=ref("variables.k"), v=ref("data")),
        ),
        {"k": "K"},
        {"output": {"r": [{"k": "K", "v": 1}, {"k": "K", "v": 2}]}},
    ),
    (
        "split-parallel-keeps-order",
        _split(
            {"value": imm(list(range(12))), "parallelism": 4},
            echo("e", ref("data")),
            finish("f", v=ref("steps.e.outputs")),
        ),
        None,
        {"output": {"r": [{"v": i} for i in range(12)]}},
    ),
    (
        "split-null-is-empty",
        _split({"value": ref("data.none")}, finish("f")),
        {},
        {"output": {"r": []}},
    ),
    (
        "split-failure-names-index",
        _split_graph({"value": imm([1, 2])}, _fails_on_two()),
        None,
        {"error": "step 'each' failed: Split step failed at index 1: it broke"},
    ),
    (
        "split-dont-stop-on-failed",
        chain(
            {
                "stepType": "Split",
                "id": "each",
                "config": {"value": imm([1, 2, 3]), "dontStopOnFailed": True},
                "subgraph": _fails_on_two(),
            },
            finish(
                out=ref("steps.each.outputs"),
                stats=ref("steps.each.stats"),
                errors=ref("steps.each.data.error"),
            ),
        ),
        None,
        {
            "output": {
                "out": [{}, {}],
                "stats": {
                    "success": 2,
                    "error": 1,
                    "aborted": 0,
                    "unknown": 0,
                    "skipped": 0,
                    "total": 3,
                },
                "errors": [
                    {
                        "index": 1,
                        "error": "it broke",
                        "stepId": "boom",
                        "code": "BAD",
                        "category": "permanent",
                    }
                ],
            }
        },
    ),
    (
        "while-loop-index",
        _while(op("LT", ref("loop.index"), imm(3)), finish("f", i=ref("variables._index"))),
        None,
        {"output": {"r": {"i": 2}, "n": 3}},
    ),
    (
        "while-previous-outputs",
        _while(
            op("LT", op("LENGTH", ref("loop.outputs.acc")), imm(3)),
            agent(
                "add",
                "transform",
                "append",
                array=ref("variables._previousOutputs.acc", default=[]),
                item=ref("variables._index"),
            ),
            finish("f", acc=ref("steps.add.outputs.array")),
        ),
        None,
        {"output": {"r": {"acc": [0, 1, 2]}, "n": 3}},
    ),
    (
        "while-max-iterations-ends-normally",
        _while(
            {"type": "value", **imm(True)}, finish("f", i=ref("variables._index")), maxIterations=4
        ),
        None,
        {"output": {"r": {"i": 3}, "n": 4}},
    ),
    (
        "while-false-at-once",
        _while({"type": "value", **imm(False)}, finish("f")),
        None,
        {"output": {"r": None, "n": 0}},
    ),
    (
        "filter-items",
        chain(
            {
                "stepType": "Filter",
                "id": "keep",
                "config": {"value": ref("data"), "condition": op("GT", ref("item.n"), imm(1))},
            },
            finish(r=ref("steps.keep.outputs")),
        ),
        [{"n": 1}, {"n": 2}, {"n": 3}],
        {"output": {"r": {"items": [{"n": 2}, {"n": 3}], "count": 2}}},
    ),
    (
        "while-outputs-iterations-and-last-outputs",
        chain(
            {
                "stepType": "While",
                "id": "loop",
                "condition": op("LT", ref("iteration.index"), imm(2)),
                "config": {"variables": {"base": ref("data.base")}},
                "subgraph": chain(
                    finish(
                        "f",
                        i=ref("loop.index"),
                        at=ref("iteration.indices"),
                        base=ref("variables.base"),
                        loop=ref("variables._loop.index"),
                    )
                ),
            },
            finish(r=ref("steps.loop.outputs")),
        ),
        {"base": 7},
        {"output": {"r": {"iterations": 2, "outputs": {"i": 1, "at": [1], "base": 7, "loop": 1}}}},
    ),
    (
        "split-item-and-iteration-roots",
        chain(
            {
                "stepType": "Split",
                "id": "each",
                "config": {"value": ref("data")},
                "subgraph": chain(
                    finish(
                        "f",
                        v=ref("item.v"),
                        i=ref("iteration.index"),
                        at=ref("variables._loop_indices"),
                    )
                ),
            },
            finish(r=ref("steps.each.outputs")),
        ),
        [{"v": "a"}, {"v": "b"}],
        {"output": {"r": [{"v": "a", "i": 0, "at": [0]}, {"v": "b", "i": 1, "at": [1]}]}},
    ),
    (
        "switch-routes-follow-the-matching-case",
        graph(
            {
                "stepType": "Switch",
                "id": "route",
                "config": {
                    "value": ref("data.s"),
                    "cases": [
                        {"matchType": "EQ", "match": "a", "output": {"x": 1}, "route": "first"}
                    ],
                    "default": {"x": 0},
                },
            },
            finish("one", r=ref("steps.route.route"), x=ref("steps.route.outputs.x")),
            finish("other", r=ref("steps.route.route"), x=ref("steps.route.outputs.x")),
            edges=[("route", "one", "first"), ("route", "other", "default")],
        ),
        {"s": "b"},
        {"output": {"r": "default", "x": 0}},
    ),
    (
        "group-by-key-path",
        chain(
            {
                "stepType": "GroupBy",
                "id": "g",
                "config": {"value": ref("data"), "key": "c.code", "expectedKeys": ["FR"]},
            },
            finish(r=ref("steps.g.outputs")),
        ),
        [{"c": {"code": "PL"}}, {"c": {"code": "DE"}}, {"c": {"code": "PL"}}, {}],
        {
            "output": {
                "r": {
                    "groups": {
                        "FR": [],
                        "PL": [{"c": {"code": "PL"}}, {"c": {"code": "PL"}}],
                        "DE": [{"c": {"code": "DE"}}],
                        "_null": [{}],
                    },
                    "counts": {"FR": 0, "PL": 2, "DE": 1, "_null": 1},
                    "total_groups": 4,
                }
            }
        },
    ),
    (
        "delay-in-place",
        chain(
            {"stepType": "Delay", "id": "wait", "durationMs": imm(20), "durable": False},
            finish(r=ref("steps.wait.outputs")),
        ),
        None,
        {"output": {"r": {"durationMs": 20, "durable": False}}},
    ),
    (
        "delay-durable",
        chain(
            {"stepType": "Delay", "id": "wait", "durationMs": ref("data.ms")},
            finish(r=ref("steps.wait.outputs")),
        ),
        {"ms": 30},
        {"output": {"r": {"durationMs": 30, "durable": True}}},
    ),
    (
        "delay-bad-duration",
        chain({"stepType": "Delay", "id": "wait", "durationMs": imm("soon")}, finish()),
        None,
        {"error": "step 'wait' failed: durationMs must be a number, got 'soon'"},
    ),
    (
        "log-outputs",
        chain(
            {"stepType": "Log", "id": "note", "level": "warn", "message": "hi {{ data.who }}"},
            finish(r=ref("steps.note.outputs")),
        ),
        {"who": "you"},
        {"output": {"r": {"level": "warn", "message": "hi you"}}},
    ),
    (
        "error-step-fails",
        chain(_fail("stop", code="NOPE", message="not today"), finish()),
        None,
        {"error": "step 'stop' failed: not today"},
    ),
    (
        "wait-for-signal-timeout",
        chain(
            {"stepType": "WaitForSignal", "id": "approve", "timeoutMs": 50, "pollIntervalMs": 10},
            finish(),
        ),
        None,
        {"error": "step 'approve' failed: no signal arrived within 50 ms"},
    ),
    (
        "input-schema-enforced",
        returns(ref("data.n")) | {"inputSchema": {"n": {"type": "integer", "required": True}}},
        {"n": "x"},
        {"error": "input does not match inputSchema: n: expected integer, got string"},
    ),
    (
        "input-schema-default",
        returns(ref("data.n")) | {"inputSchema": {"n": {"type": "integer", "default": 7}}},
        {},
        {"output": {"r": 7}},
    ),
]

EDGES: list[Case] = [
    (
        "edge-label-next-and-empty",
        graph(
            echo("a", imm(1)),
            echo("b", imm(2)),
            finish(r=ref("steps.b.outputs")),
            edges=[("a", "b", "next"), ("b", "done", "")],
        ),
        None,
        {"output": {"r": 2}},
    ),
    (
        "edge-true-false-join-once",
        graph(
            {
                "stepType": "Conditional",
                "id": "c",
                "condition": {"type": "value", **ref("data.flag")},
            },
            echo("t", imm("T")),
            echo("f", imm("F")),
            agent(
                "join",
                "transform",
                "append",
                array=ref("data.seen", default=[]),
                item=imm("joined"),
            ),
            finish(
                t=ref("steps.t.outputs"),
                f=ref("steps.f.outputs"),
                j=ref("steps.join.outputs.array"),
            ),
            edges=[
                ("c", "t", "true"),
                ("c", "f", "false"),
                ("t", "join"),
                ("f", "join"),
                ("join", "done"),
            ],
        ),
        {"flag": True},
        {"output": {"t": "T", "f": None, "j": ["joined"]}},
    ),
    (
        "edge-conditional-route-first-holds",
        graph(
            echo("start", ref("data.n")),
            finish("big", r=imm("big")),
            finish("small", r=imm("small")),
            finish("other", r=imm("other")),
            edges=[
                {
                    "fromStep": "start",
                    "toStep": "big",
                    "condition": op("GT", ref("steps.start.outputs"), imm(10)),
                },
                {
                    "fromStep": "start",
                    "toStep": "small",
                    "condition": op("GT", ref("steps.start.outputs"), imm(0)),
                },
                {"fromStep": "start", "toStep": "other"},
            ],
        ),
        {"n": 5},
        {"output": {"r": "small"}},
    ),
    (
        "edge-conditional-route-fallback",
        graph(
            echo("start", ref("data.n")),
            finish("big", r=imm("big")),
            finish("other", r=imm("other")),
            edges=[
                {
                    "fromStep": "start",
                    "toStep": "big",
                    "condition": op("GT", ref("steps.start.outputs"), imm(10)),
                },
                {"fromStep": "start", "toStep": "other"},
            ],
        ),
        {"n": 5},
        {"output": {"r": "other"}},
    ),
    (
        "edge-on-error-handler",
        graph(
            _fail("risky", code="E42", message="bad thing"),
            finish("handled", err=ref("steps.error")),
            finish("ok"),
            edges=[("risky", "handled", "onError"), ("risky", "ok")],
        ),
        None,
        {
            "output": {
                "err": {
                    "message": "bad thing",
                    "stepId": "risky",
                    "code": "E42",
                    "category": "permanent",
                }
            }
        },
    ),
    (
        "edge-on-error-continues-after",
        graph(
            agent("risky", "utils", "calculate", expression=imm("1 / 0")),
            {"stepType": "Log", "id": "note", "message": "handled: {{ steps.error.stepId }}"},
            finish("after", note=ref("steps.note.outputs.message")),
            edges=[("risky", "note", "onError"), ("risky", "after")],
        ),
        None,
        {"output": {"note": "handled: risky"}},
    ),
]


@pytest.mark.parametrize(
    ("document", "data", "expected"),
    [
        pytest.param(doc, data, exp, id=name)
        for name, doc, data, exp in REFERENCES
        + COERCIONS
        + MAPPINGS
        + OPERATORS
        + MATCHES
        + STEPS
        + EDGES
    ],
)
def test_case(
    runtime: Runtime, document: dict[str, Any], data: Any, expected: dict[str, Any]
) -> None:
    outcome = runtime.run(document, data)
    if "error" in expected:
        assert (outcome.status, outcome.message) == ("failed", expected["error"])
        assert outcome.exit_code == 1
    else:
        assert (outcome.status, outcome.output) == ("completed", expected["output"]), outcome.error
        assert outcome.exit_code == 0
