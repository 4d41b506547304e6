"""What codegen refuses, and how it says so: a code, the step, and the problem."""

from __future__ import annotations

from typing import Any

import pytest

from runtara.compiler.codegen import CodegenError
from tests.support.flow_harness import Runtime, agent, chain, echo, finish, graph, imm, ref, tpl


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            graph(echo("a", imm(1)), echo("b", imm(2)), edges=[("a", "b"), ("b", "a")]),
            "E070 workflow: cycle through step 'a' (loops need a While step)",
        ),
        (
            graph(echo("a", imm(1)), edges=[("a", "ghost")]),
            "E003 workflow: edge to unknown step 'ghost'",
        ),
        (
            chain(finish(r=ref("data..x"))),
            "E011 step 'done': empty path segment (consecutive dots) in 'data..x'",
        ),
        (
            chain(finish(r=ref("nowhere.x"))),
            "E011 step 'done': unknown reference root in 'nowhere.x'",
        ),
        (
            chain(finish(r=tpl("{{ data.x | shout }}"))),
            "step 'done': placeholder '{{ data.x | shout }}': unknown template filter 'shout'",
        ),
        (
            chain(finish(r=tpl("{% if x %}y{% endif %}"))),
            "templates support only {{ path }} placeholders",
        ),
        (chain(agent("a", "nope", "x"), finish()), "E020 step 'a': unknown agent nope:x"),
        (
            chain(agent("a", "utils", "nope"), finish()),
            "E021 step 'a': unknown capability utils:nope",
        ),
        (
            graph(
                {"stepType": "Conditional", "id": "c", "condition": {"type": "value", **imm(True)}},
                finish("h"),
                edges=[("c", "h", "onError")],
            ),
            "step 'c': an onError edge cannot leave a Conditional step",
        ),
        (
            chain(finish(**{"a": imm(1), "a.b": imm(2)})),
            "step 'done': mapping key 'a.b' nests inside a value set elsewhere",
        ),
    ],
    ids=[
        "cycle",
        "unknown-edge",
        "bad-path",
        "bad-root",
        "bad-filter",
        "jinja-block",
        "agent",
        "capability",
        "onerror-conditional",
        "key-clash",
    ],
)
def test_refused_with_a_clear_message(document: dict[str, Any], message: str) -> None:
    with pytest.raises(CodegenError) as caught:
        Runtime.generate(document)
    assert message in str(caught.value)


def test_join_after_branches_is_generated_once_per_branch_not_run_twice() -> None:
    source = Runtime.generate(
        graph(
            {"stepType": "Conditional", "id": "c", "condition": {"type": "value", **imm(True)}},
            echo("t", imm(1)),
            echo("f", imm(2)),
            finish("join"),
            edges=[("c", "t", "true"), ("c", "f", "false"), ("t", "join"), ("f", "join")],
        )
    )
    plan = source[source.index("def graph_main") :]
    assert plan.count("step_join(run, sc)") == 1
    assert (
        "if step_c(run, sc):\n        step_t(run, sc)\n    else:\n        step_f(run, sc)\n    return step_join(run, sc)"
        in plan
    )
