"""The AiAgent step against an OpenAI-compatible server started by the test.

The server (``tests.support.model_server``) plays back a scripted conversation: tool
calls, errors, then a final answer; each test reads what the workflow sent it. The
workflows are Runtara's own AiAgent documents from the corpus where one fits (the
manifest records no execution case for them, so these are the cases).
"""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.flow_harness import (
    Outcome,
    Runtime,
    finish,
    graph,
    imm,
    load_module,
    ref,
    start_runtime,
)
from tests.support.model_server import (
    ModelServer,
    answer,
    failure,
    model_server,
    tool_call,
    tool_calls,
)
from tests.support.polling import wait_for

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "runtara-corpus"
FIXTURES = CORPUS / "documents" / "fixtures"
API_KEY = "sk-test-secret-4242424242"

pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"the Runtara corpus is not at {CORPUS}"
)


@pytest.fixture
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime per test: each stores its own connections under the corpus' ids."""
    yield from start_runtime(tmp_path_factory)


def corpus(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return document


def connect(runtime: Runtime, server: ModelServer, connection_id: str = "openai-conn") -> None:
    runtime.add_connection(
        connection_id, "openai", server.connection(api_key=API_KEY)["parameters"]
    )


def tool_messages(request: dict[str, Any]) -> list[Any]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def test_single_shot_answers_and_records_usage(runtime: Runtime) -> None:
    with model_server([answer("Paris.")]) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_single_shot"), {"question": "Capital of France?"})
    assert out.status == "completed", out.error
    assert out.output == {"answer": "Paris."}
    [request] = server.requests
    assert request["model"] == "gpt-4o"
    assert request["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert "tools" not in request
    assert server.headers[0]["Authorization"] == f"Bearer {API_KEY}"
    [usage] = runtime.events(out.instance_id, "ai_usage")
    assert usage["payload"]["total_tokens"] == 18
    assert usage["payload"]["turn"] == 1


def test_tool_loop_runs_the_tool_and_feeds_back_its_result(runtime: Runtime) -> None:
    script = [tool_call("echo", {}), answer("The echo said: hello")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_tool_loop"), {"q": "hello"})
    assert out.status == "completed", out.error
    assert out.output == {"answer": "The echo said: hello"}
    first, second = server.requests
    [tool] = first["tools"]
    assert tool["function"]["name"] == "echo"
    assert tool["function"]["description"].startswith("Echo")
    assert tool_messages(second) == ["hello"]
    assert second["messages"][2]["tool_calls"][0]["function"]["name"] == "echo"
    keys = runtime.checkpoints(out.instance_id)
    assert {"ai/turn[1]", "ai/tool[1]", "ai/tool[1]/echo", "ai/turn[2]", "ai"} <= set(keys)
    assert [e["payload"]["turn"] for e in runtime.events(out.instance_id, "ai_usage")] == [1, 2]


def test_the_model_picks_one_of_several_tools(runtime: Runtime) -> None:
    script = [tool_call("roll", {}), answer("done")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_multi_tool"), {"q": "x"})
    assert out.status == "completed", out.error
    assert sorted(t["function"]["name"] for t in server.requests[0]["tools"]) == ["echo", "roll"]
    assert tool_messages(server.requests[1]) == ["rolled"]


def test_a_tool_error_goes_back_to_the_model_and_the_loop_goes_on(runtime: Runtime) -> None:
    # calc's expression is data.q, which is no arithmetic: the tool fails.
    script = [tool_call("calc", {}), answer("I could not compute that.")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_tool_error"), {"q": "two plus what?"})
    assert out.status == "completed", out.error
    assert out.output == {"answer": "I could not compute that."}
    [fed_back] = tool_messages(server.requests[1])
    error = json.loads(fed_back)["error"]
    assert error["code"] and error["message"]
    [trace] = runtime.events(out.instance_id, "ai_tool_error")
    assert trace["payload"]["tool"] == "calc"


def test_unknown_tools_and_bad_arguments_are_errors_for_the_model(runtime: Runtime) -> None:
    script = [
        tool_calls(("nope", {}, "c1"), ("echo", "{not json", "c2")),
        answer("sorry"),
    ]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_tool_loop"), {"q": "x"})
    assert out.status == "completed", out.error
    unknown, bad = (json.loads(c)["error"] for c in tool_messages(server.requests[1]))
    assert unknown["code"] == "AI_UNKNOWN_TOOL" and "echo" in unknown["message"]
    assert bad["code"] == "AI_TOOL_ARGUMENTS"


def test_model_arguments_fill_the_inputs_the_step_does_not_set(runtime: Runtime) -> None:
    """A tool's unmapped inputs come from the model; mapped ones stay the workflow's."""
    text = {
        "stepType": "Agent",
        "id": "case",
        "name": "Change case",
        "agentId": "text",
        "capabilityId": "case-conversion",
        "inputMapping": {"format": imm("uppercase")},
    }
    document = graph(
        ai_step(),
        text,
        finish(answer=ref("steps.ai.outputs.response"), calls=ref("steps.ai.outputs.toolCalls")),
        edges=[("ai", "case", "shout"), ("ai", "done")],
    )
    script = [tool_call("shout", {"text": "quiet please", "format": "lowercase"}), answer("ok")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(document, {"q": "shout it"})
    assert out.status == "completed", out.error
    [tool] = server.requests[0]["tools"]
    parameters = tool["function"]["parameters"]
    assert "text" in parameters["properties"] and "format" not in parameters["properties"]
    assert tool_messages(server.requests[1]) == ["QUIET PLEASE"]
    [call] = out.output["calls"]
    assert call["name"] == "shout" and call["result"] == "QUIET PLEASE"


def test_structured_output_is_parsed_and_checked(runtime: Runtime) -> None:
    script = [answer({"sentiment": "positive", "confidence": 0.9})]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_structured"), {"text": "I love it"})
    assert out.status == "completed", out.error
    assert out.output == {"result": {"sentiment": "positive", "confidence": 0.9}}
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["sentiment"]
    assert schema["properties"]["confidence"] == {"type": "number"}


def test_an_answer_that_does_not_fit_is_asked_again(runtime: Runtime) -> None:
    script = [
        answer("I think it is positive"),
        answer({"confidence": 1}),
        answer({"sentiment": "neutral"}),
    ]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_structured"), {"text": "meh"})
    assert out.status == "completed", out.error
    assert out.output == {"result": {"sentiment": "neutral"}}
    assert len(server.requests) == 3
    reask = server.requests[1]["messages"][-1]
    assert reask["role"] == "user" and "not JSON" in reask["content"]
    assert "sentiment" in server.requests[2]["messages"][-1]["content"]


def test_structured_output_fails_clearly_after_the_re_asks(runtime: Runtime) -> None:
    script = [answer("nope")] * 3
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_structured"), {"text": "meh"})
    assert out.status == "failed"
    assert out.error["code"] == "AI_OUTPUT_INVALID"
    assert "outputSchema" in out.message and "3 attempt(s)" in out.message
    assert len(server.requests) == 3


def test_max_iterations_bounds_the_loop(runtime: Runtime) -> None:
    script = [tool_call("echo", {})] * 10
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_tool_loop"), {"q": "x"})
    assert out.status == "failed"
    assert out.error["code"] == "AI_MAX_ITERATIONS"
    assert "maxIterations (5)" in out.message
    assert len(server.requests) == 5


def test_a_server_error_fails_the_step_without_the_key(runtime: Runtime) -> None:
    with model_server([failure(401, f"bad key {API_KEY}")]) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_single_shot"), {"question": "?"})
    assert out.status == "failed"
    assert out.error["code"] == "AI_HTTP_401"
    assert "401" in out.message
    assert API_KEY not in json.dumps(out.error)


def test_transient_server_errors_are_retried_when_asked(runtime: Runtime) -> None:
    calls = {"n": 0}

    def flaky(body: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        return failure(503) if calls["n"] == 1 else answer("fine")

    document = corpus("ai_agent_single_shot")
    document["steps"]["ai"]["config"].update(maxRetries=1, retryDelay=10)
    with model_server([flaky]) as server:
        connect(runtime, server)
        out = runtime.run(document, {"question": "?"})
    assert out.status == "completed", out.error
    assert len(server.requests) == 2


def test_the_on_error_handler_takes_a_failed_agent(runtime: Runtime) -> None:
    with model_server([failure(400)]) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_on_error"), {"question": "?"})
    assert out.status == "completed", out.error
    assert out.output == {"handled": True}


def test_an_embedded_workflow_is_a_tool(runtime: Runtime) -> None:
    child = json.loads((FIXTURES / "embed_tool_child.json").read_text())
    script = [tool_call("get_weather", {"value": "Paris"}), answer("Sunny in Paris")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(
            corpus("ai_agent_embed_tool"), {"q": "Weather?"}, children={"weather-workflow": child}
        )
    assert out.status == "completed", out.error
    assert out.output == {"answer": "Sunny in Paris"}
    assert json.loads(tool_messages(server.requests[1])[0]) == {
        "forecast": "sunny",
        "echo": "Paris",
    }


def ai_step(**config: Any) -> dict[str, Any]:
    return {
        "stepType": "AiAgent",
        "id": "ai",
        "connectionId": "openai-conn",
        "config": {
            "systemPrompt": imm("Be brief."),
            "userPrompt": ref("data.q"),
            "maxIterations": 5,
            **config,
        },
    }


# ---------------------------------------------------------------------------- memory


def memory_document(name: str) -> dict[str, Any]:
    """A corpus memory document, with the conversation id mapped on the provider step too
    (Runtara reports E022 without it, so the corpus file as it stands does not run)."""
    document = copy.deepcopy(corpus(name))
    document["steps"]["mem"]["inputMapping"] = {"conversation_id": ref("data.session")}
    return document


def stored(database: Path, conversation: str) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as db:
        [row] = db.execute(
            "SELECT messages FROM ai_conversation_memory WHERE conversation_id = ?",
            (conversation,),
        ).fetchall()
    messages: list[dict[str, Any]] = json.loads(row[0])
    return messages


def test_memory_is_loaded_and_saved_across_runs(runtime: Runtime, tmp_path: Path) -> None:
    database = tmp_path / "memory.db"
    runtime.add_connection("om-conn", "object_model", {"database": str(database)})
    # The second run's conversation holds the first's answer: it gets the script's second.
    with model_server([answer("Hi Ann."), answer("You are Ann.")]) as server:
        connect(runtime, server)
        first = runtime.run(memory_document("ai_agent_memory"), {"q": "I am Ann", "session": "s1"})
        assert first.status == "completed", first.error
        assert [m["role"] for m in stored(database, "s1")] == ["user", "assistant"]
        second = runtime.run(
            memory_document("ai_agent_memory"), {"q": "Who am I?", "session": "s1"}
        )
    assert second.status == "completed", second.error
    assert second.output == {"answer": "You are Ann."}
    request = server.requests[1]
    assert [m.get("content") for m in request["messages"]] == [
        "You are a helpful assistant.",
        "I am Ann",
        "Hi Ann.",
        "Who am I?",
    ]
    assert len(stored(database, "s1")) == 4


def test_sliding_window_compaction_keeps_the_newest_messages(
    runtime: Runtime, tmp_path: Path
) -> None:
    database = tmp_path / "memory.db"
    runtime.add_connection("om-conn", "object_model", {"database": str(database)})
    with model_server([tool_call("echo", {}), answer("echoed")]) as server:
        connect(runtime, server)
        out = runtime.run(memory_document("ai_agent_memory_compaction"), {"q": "a", "session": "w"})
    assert out.status == "completed", out.error
    # user, assistant (tool call), tool, assistant: the two oldest are dropped, and the
    # tool result then leads, so it goes too (no tool result without its call).
    assert [m["content"] for m in stored(database, "w")] == ["echoed"]


def test_summarize_compaction_replaces_old_messages_with_a_summary(
    runtime: Runtime, tmp_path: Path
) -> None:
    database = tmp_path / "memory.db"
    runtime.add_connection("om-conn", "object_model", {"database": str(database)})
    script = [tool_call("echo", {}), answer("echoed")]
    with model_server(script, summary="Ann asked for an echo.") as server:
        connect(runtime, server)
        out = runtime.run(memory_document("ai_agent_memory_summarize"), {"q": "a", "session": "z"})
    assert out.status == "completed", out.error
    summaries = [r for r in server.requests if "tools" not in r]
    assert len(summaries) == 1
    transcript = summaries[0]["messages"][1]["content"]
    assert "user: a" in transcript and "calls echo" in transcript
    saved = stored(database, "z")
    assert saved[0] == {
        "role": "system",
        "content": "Summary of the earlier conversation: Ann asked for an echo.",
    }
    assert [m["content"] for m in saved[1:]] == ["echoed"]
    assert "ai/memory/summarize" in runtime.checkpoints(out.instance_id)


# ---------------------------------------------------------------------------- MCP

#: A small MCP server over stdio (the official SDK), run as a program.
MCP_SERVER = Path(__file__).resolve().parents[2] / "support" / "mcp_numbers.py"


def test_mcp_tools_are_searched_and_called_over_stdio(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    log = tmp_path / "calls.log"
    monkeypatch.setenv("RUNTARA_MCP_COMMANDS", sys.executable)
    runtime.add_connection(
        "mcp-conn", "mcp", {"command": sys.executable, "args": [str(MCP_SERVER), str(log)]}
    )
    document = copy.deepcopy(corpus("ai_agent_mcp"))
    document["steps"]["mcp_github"]["inputMapping"] = {"query": imm("")}
    script = [
        tool_call("github_search", {"query": "add two numbers"}),
        tool_call("github_invoke", {"tool_name": "add_numbers", "args": {"a": 2, "b": 3}}),
        answer("2 + 3 = 5"),
    ]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(document, {"q": "What is 2 + 3?"})
    assert out.status == "completed", out.error
    names = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert names == ["github_search", "github_invoke"]
    found = json.loads(tool_messages(server.requests[1])[0])
    assert found["total_available"] == 2
    assert found["tools"][0]["name"] == "add_numbers"
    assert found["tools"][0]["inputSchema"]["required"] == ["a", "b"]
    called = json.loads(tool_messages(server.requests[2])[1])
    assert called["text"] == "5" and called["is_error"] is False
    assert log.read_text() == "add 2 3\n"


def test_an_mcp_command_the_operator_did_not_allow_is_refused(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNTARA_MCP_COMMANDS", raising=False)
    runtime.add_connection("mcp-conn", "mcp", {"command": "/bin/sh", "args": ["-c", "true"]})
    document = copy.deepcopy(corpus("ai_agent_mcp"))
    document["steps"]["mcp_github"]["inputMapping"] = {"query": imm("")}
    script = [tool_call("github_search", {"query": "x"}), answer("none")]
    with model_server(script) as server:
        connect(runtime, server)
        out = runtime.run(document, {"q": "?"})
    assert out.status == "completed", out.error
    error = json.loads(tool_messages(server.requests[1])[0])["error"]
    assert error["code"] == "MCP_COMMAND_NOT_ALLOWED"
    assert "RUNTARA_MCP_COMMANDS" in error["message"]


# ---------------------------------------------------------------------------- waits


def _in_background(
    runtime: Runtime, document: dict[str, Any], data: Any, instance_id: str
) -> tuple[threading.Thread, list[Outcome]]:
    module = load_module(Runtime.generate(document))
    results: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: results.append(
            runtime.run(document, data, instance_id=instance_id, module=module)
        )
    )
    thread.start()
    return thread, results


@pytest.mark.parametrize("name", ["ai_agent_wait_tool", "ai_agent_wait_tool_on_wait"])
def test_a_wait_tool_waits_durably_for_a_signal(runtime: Runtime, name: str) -> None:
    script = [tool_call("get_approval", {"question": "May I refund 20 EUR?"}), answer("Refunded.")]
    instance_id = f"wait-{name}"
    with model_server(script) as server:
        connect(runtime, server)
        thread, results = _in_background(runtime, corpus(name), {"q": "refund?"}, instance_id)
        # The signal goes to the tool call's own checkpoint key.
        wait_for(lambda: "ai/turn[1]" in runtime.checkpoints(instance_id), 20, interval=0.05)
        runtime.post(
            f"/v1/instances/{instance_id}/signals",
            {"checkpoint_id": "ai/tool[1]/ask_human", "payload": {"approved": True}},
        )
        thread.join(30)
    [out] = results
    assert out.status == "completed", out.error
    assert out.output == {"answer": "Refunded."}
    assert json.loads(tool_messages(server.requests[1])[0]) == {"approved": True}
    logs = [e["payload"]["message"] for e in runtime.events(instance_id, "workflow_log")]
    assert logs == (["Waiting for approval"] if name.endswith("on_wait") else [])


# ---------------------------------------------------------------------------- bounds, secrets


def test_the_loop_timeout_fails_the_step_between_turns(runtime: Runtime) -> None:
    nap = {
        "stepType": "Agent",
        "id": "nap",
        "agentId": "utils",
        "capabilityId": "delay-in-ms",
        "inputMapping": {"delay_value": imm(80)},
    }
    document = graph(
        ai_step(timeout=20), nap, finish(), edges=[("ai", "nap", "nap"), ("ai", "done")]
    )
    with model_server([tool_call("nap", {}), answer("never")]) as server:
        connect(runtime, server)
        out = runtime.run(document, {"q": "sleep"})
    assert out.status == "failed"
    assert out.error["code"] == "AI_TIMEOUT"
    assert len(server.requests) == 1


def test_a_connection_of_another_type_is_refused_clearly(runtime: Runtime) -> None:
    runtime.add_connection("openai-conn", "http_bearer", {"token": "t0ken-xyz"})
    out = runtime.run(corpus("ai_agent_single_shot"), {"question": "?"})
    assert out.status == "failed"
    assert "connection of type 'http_bearer' cannot be used here; expected one of openai" in (
        out.message or ""
    )


def test_the_api_key_reaches_no_checkpoint_event_or_store(runtime: Runtime) -> None:
    with model_server([tool_call("echo", {}), answer(f"my key is {API_KEY}")]) as server:
        connect(runtime, server)
        out = runtime.run(corpus("ai_agent_tool_loop"), {"q": "x"})
    assert out.status == "completed", out.error
    # A server echoing the key back: the answer is masked before it is checkpointed.
    assert out.output == {"answer": "my key is ***"}
    assert API_KEY not in json.dumps(runtime.events(out.instance_id))
    assert API_KEY.encode() not in runtime.database.read_bytes()
    wal = runtime.database.with_name(runtime.database.name + "-wal")
    assert not wal.exists() or API_KEY.encode() not in wal.read_bytes()


def test_a_non_durable_agent_saves_no_turn(runtime: Runtime) -> None:
    document = corpus("ai_agent_tool_loop")
    document["steps"]["ai"]["durable"] = False
    with model_server([tool_call("echo", {}), answer("ok")]) as server:
        connect(runtime, server)
        out = runtime.run(document, {"q": "x"})
    assert out.status == "completed", out.error
    keys = runtime.checkpoints(out.instance_id)
    assert not [k for k in keys if k == "ai" or k.startswith(("ai/turn", "ai/@"))]
    assert "ai/tool[1]/echo" in keys  # the tool step is durable itself


def test_hostile_text_in_an_agent_stays_data() -> None:
    """Prompts, names, schema descriptions and tool descriptions reach the generated
    module only as literals (the security suite's payloads)."""
    from tests.security.test_codegen_injection import MARKER, PAYLOADS

    for payload in PAYLOADS:
        document = corpus("ai_agent_structured")
        step = document["steps"]["ai"]
        step["name"] = payload
        step["config"]["systemPrompt"] = imm(payload)
        step["config"]["model"] = imm(payload)
        step["config"]["outputSchema"]["sentiment"]["description"] = payload
        document["steps"]["echo"] = {
            "stepType": "Agent",
            "id": "echo",
            "name": payload,
            "agentId": "utils",
            "capabilityId": "return-input",
        }
        document["executionPlan"].append({"fromStep": "ai", "toStep": "echo", "label": "echo"})
        source = Runtime.generate(document)
        module = load_module(source)
        assert payload in module.step_ai.__doc__
        assert not MARKER.exists()


def test_agents_in_a_parallel_split_keep_their_own_conversations(runtime: Runtime) -> None:
    def shout(body: dict[str, Any]) -> dict[str, Any]:
        return answer(str(body["messages"][-1]["content"]).upper())

    def echo_back(body: dict[str, Any]) -> dict[str, Any]:
        return tool_call("echo", {}) if len(body["messages"]) == 2 else shout(body)

    item = graph(
        ai_step(userPrompt=ref("data")),
        {
            "stepType": "Agent",
            "id": "echo",
            "agentId": "utils",
            "capabilityId": "return-input",
            "inputMapping": {"value": ref("data")},
        },
        finish("item_done", said=ref("steps.ai.outputs.response")),
        edges=[("ai", "echo", "echo"), ("ai", "item_done")],
    )
    split = {
        "stepType": "Split",
        "id": "each",
        "config": {"value": ref("data.words"), "parallelism": 3},
        "subgraph": item,
    }
    document = graph(split, finish(all=ref("steps.each.outputs")), edges=[("each", "done")])
    with model_server([echo_back, echo_back]) as server:
        connect(runtime, server)
        out = runtime.run(document, {"words": ["alpha", "beta", "gamma"]})
    assert out.status == "completed", out.error
    # Each item's second turn answers its own tool result, upper-cased.
    assert out.output == {"all": [{"said": w.upper()} for w in ("alpha", "beta", "gamma")]}
    keys = set(runtime.checkpoints(out.instance_id))
    assert {f"each/split[{i}]/ai/tool[1]/echo" for i in range(3)} <= keys
    assert len(server.requests) == 6
