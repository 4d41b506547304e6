"""What the validator makes of an AiAgent's edges: tools run inside the agent's loop, not
as control flow, so they are neither dead ends nor reachable-only-by-accident, and the
model supplies the inputs a tool's mapping leaves out."""

from __future__ import annotations

import json
from typing import Any

from runtara import dsl


def imm(value: Any) -> dict[str, Any]:
    return {"valueType": "immediate", "value": value}


def ai(**config: Any) -> dict[str, Any]:
    return {
        "stepType": "AiAgent",
        "id": "ai",
        "connectionId": "llm",
        "config": {
            "systemPrompt": imm("s"),
            "userPrompt": {"valueType": "reference", "value": "data.q"},
            **config,
        },
    }


def document(*steps: dict[str, Any], edges: list[tuple[str, ...]]) -> str:
    plan = [
        {"fromStep": e[0], "toStep": e[1], **({"label": e[2]} if len(e) > 2 else {})} for e in edges
    ]
    return json.dumps(
        {"steps": {s["id"]: s for s in steps}, "entryPoint": steps[0]["id"], "executionPlan": plan}
    )


def codes(text: str) -> list[str]:
    return [d.code for d in dsl.validate_text(text).diagnostics]


DONE = {
    "stepType": "Finish",
    "id": "done",
    "inputMapping": {"a": {"valueType": "reference", "value": "steps.ai.outputs.response"}},
}
#: http-request requires ``url``; as a tool, the model may pass it.
FETCH = {"stepType": "Agent", "id": "fetch", "agentId": "http", "capabilityId": "http-request"}


def test_a_tool_is_no_dead_end_and_the_model_fills_its_inputs() -> None:
    text = document(ai(), FETCH, DONE, edges=[("ai", "fetch", "fetch"), ("ai", "done")])
    assert codes(text) == ["W052"]  # data.q without an inputSchema, as Runtara's E052


def test_the_same_step_outside_a_loop_needs_its_inputs() -> None:
    text = document(ai(), FETCH, DONE, edges=[("ai", "fetch"), ("fetch", "done")])
    assert "E022" in codes(text)


def test_an_agent_with_only_tool_edges_ends_the_workflow() -> None:
    text = document(ai(), FETCH, edges=[("ai", "fetch", "fetch")])
    diagnostics = dsl.validate_text(text).diagnostics
    assert [(d.code, "'ai'" in d.message) for d in diagnostics if d.code == "W003"] == [
        ("W003", True)
    ]


def test_a_step_only_a_tool_leads_to_is_reachable() -> None:
    after = {"stepType": "Log", "id": "after", "message": "x"}
    text = document(
        ai(),
        FETCH,
        after,
        DONE,
        edges=[("ai", "fetch", "fetch"), ("fetch", "after"), ("after", "done"), ("ai", "done")],
    )
    assert "E002" not in codes(text)


def test_a_later_step_may_not_read_a_tools_outputs() -> None:
    """A tool may not run at all: what it returned is the agent's (``toolCalls``)."""
    done = {
        "stepType": "Finish",
        "id": "done",
        "inputMapping": {"a": {"valueType": "reference", "value": "steps.fetch.outputs.body"}},
    }
    text = document(ai(), FETCH, done, edges=[("ai", "fetch", "fetch"), ("ai", "done")])
    assert "E012" in codes(text)


def test_prompts_are_checked_like_any_mapping_value() -> None:
    step = ai(userPrompt={"valueType": "reference", "value": "steps.nowhere.outputs"})
    assert "E010" in codes(document(step, DONE, edges=[("ai", "done")]))
