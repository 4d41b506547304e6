"""What makes generated code durable, against a real runtime: checkpoint keys, retries,
timeouts, debug events, embedded children, connections, pause, resume and cancel."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.compiler.codegen import CodegenError
from runtara.sdk import Runtara
from tests.support.flow_harness import (
    Outcome,
    Runtime,
    agent,
    chain,
    echo,
    finish,
    graph,
    imm,
    load_module,
    op,
    ref,
    start_runtime,
)
from tests.support.polling import wait_for


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from start_runtime(tmp_path_factory)


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """An HTTP server answering requests concurrently (pytest-httpserver's is serial)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_checkpoint_keys_are_scoped_by_position(runtime: Runtime) -> None:
    document = chain(
        {
            "stepType": "Split",
            "id": "orders",
            "config": {"value": imm(["a", "b"]), "sequential": True},
            "subgraph": chain(echo("charge", ref("data")), finish("f")),
        },
        {
            "stepType": "While",
            "id": "poll",
            "condition": op("LT", ref("loop.index"), imm(2)),
            "subgraph": chain(echo("get", ref("variables._index")), finish("f")),
        },
        finish(),
    )
    outcome = runtime.run(document)
    assert outcome.status == "completed"
    assert runtime.checkpoints(outcome.instance_id) == [
        "@start",
        "orders/split[0]/charge",
        "orders/split[0]",
        "orders/split[1]/charge",
        "orders/split[1]",
        "orders",
        "poll/while[0]/get",
        "poll/while[0]",
        "poll/while[1]/get",
        "poll/while[1]",
        "poll",
    ]


def _flaky(server: HTTPServer, failures: int, status: int) -> list[float]:
    """``failures`` answers of ``status``, then 200 {"ok": true}; returns request times."""
    seen: list[float] = []

    def answer(request: Request) -> Response:
        seen.append(time.monotonic())
        if len(seen) <= failures:
            return Response("busy", status=status)
        return Response(json.dumps({"ok": True}), content_type="application/json")

    server.expect_request("/flaky").respond_with_handler(answer)
    return seen


def _call(server: HTTPServer, **step: Any) -> dict[str, Any]:
    fetch = agent(
        "fetch", "http", "http-request", url=imm(server.url_for("/flaky")), max_retries=imm(0)
    )
    return chain(fetch | step, finish(body=ref("steps.fetch.outputs.body")))


def test_transient_errors_are_retried_with_doubling_delay(
    runtime: Runtime, httpserver: HTTPServer
) -> None:
    seen = _flaky(httpserver, failures=2, status=503)
    outcome = runtime.run(_call(httpserver, maxRetries=3, retryDelay=100))
    assert (outcome.status, outcome.output) == ("completed", {"body": {"ok": True}})
    assert len(seen) == 3
    first_wait, second_wait = seen[1] - seen[0], seen[2] - seen[1]
    assert first_wait >= 0.1 and second_wait >= 0.2  # retryDelay, then doubled
    retries = runtime.events(outcome.instance_id)
    attempts = [e["payload"]["attempt"] for e in retries if e["event_type"] == "retry_attempt"]
    assert attempts == [2, 3]


def test_a_retry_waits_as_long_as_the_servers_retry_after(
    runtime: Runtime, httpserver: HTTPServer
) -> None:
    """A 429 whose Retry-After the HTTP agent passes on (its own retries are off here)
    holds the step's next attempt back that long, not just ``retryDelay``."""
    seen: list[float] = []

    def answer(request: Request) -> Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "2"})
        return Response(json.dumps({"ok": True}), content_type="application/json")

    httpserver.expect_request("/flaky").respond_with_handler(answer)
    outcome = runtime.run(_call(httpserver, maxRetries=2, retryDelay=10))
    assert (outcome.status, outcome.output) == ("completed", {"body": {"ok": True}})
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 2.0


def test_permanent_errors_fail_at_once(runtime: Runtime, httpserver: HTTPServer) -> None:
    seen = _flaky(httpserver, failures=5, status=404)
    outcome = runtime.run(_call(httpserver, maxRetries=3, retryDelay=10))
    assert outcome.status == "failed"
    assert outcome.error["stepId"] == "fetch"
    assert outcome.error["category"] == "permanent"
    assert len(seen) == 1


def test_retries_run_out(runtime: Runtime, httpserver: HTTPServer) -> None:
    seen = _flaky(httpserver, failures=5, status=503)
    outcome = runtime.run(_call(httpserver, maxRetries=1, retryDelay=10))
    assert (outcome.status, outcome.error["category"], len(seen)) == ("failed", "transient", 2)


def test_timeout_is_enforced(runtime: Runtime) -> None:
    slow = agent("slow", "utils", "delay-in-ms", delay_value=imm(3000))
    outcome = runtime.run(
        chain(slow | {"timeout": 100, "maxRetries": 1, "retryDelay": 10}, finish())
    )
    assert (outcome.status, outcome.message) == (
        "failed",
        "step 'slow' failed: timed out after 100 ms",
    )
    assert outcome.error["code"] == "TIMEOUT"


def test_debug_mode_emits_truncated_step_events(runtime: Runtime) -> None:
    big = "x" * 20_000
    document = {
        "executionGraph": chain(echo("small", imm({"k": 1})), echo("big", imm(big)), finish()),
        "debugMode": True,
    }
    outcome = runtime.run(document)
    assert outcome.status == "completed"
    starts = runtime.events(outcome.instance_id, "step_debug_start")
    ends = runtime.events(outcome.instance_id, "step_debug_end")
    assert [e["payload"]["step_id"] for e in starts] == ["small", "big"]
    assert starts[0]["payload"]["inputs"] == {"value": {"k": 1}}
    assert ends[0]["payload"]["outputs"] == {"k": 1}
    truncated = ends[1]["payload"]["outputs"]
    assert truncated["truncated"] is True and truncated["size"] == len(big) + 2
    assert len(truncated["preview"]) == 10 * 1024


def test_log_step_emits_one_workflow_log_event(runtime: Runtime) -> None:
    log = {
        "stepType": "Log",
        "id": "note",
        "level": "warn",
        "message": "order {{ data.id }}",
        "context": {"total": ref("data.total")},
    }
    outcome = runtime.run(chain(log, finish()), {"id": 7, "total": 9.5})
    [event] = runtime.events(outcome.instance_id, "workflow_log")
    payload = event["payload"]
    assert {k: payload[k] for k in ("step_id", "level", "message", "context")} == {
        "step_id": "note",
        "level": "warn",
        "message": "order 7",
        "context": {"total": 9.5},
    }


CHILD = {
    "name": "greeter",
    "inputSchema": {"who": {"type": "string", "required": True}},
    "variables": {"greeting": {"type": "string", "value": "Hello"}},
    "entryPoint": "say",
    "steps": {
        "say": finish(
            "say",
            text={"valueType": "template", "value": "{{ variables.greeting }}, {{ data.who }}"},
        )
    },
}


def test_embedded_child_runs_inside_the_instance(runtime: Runtime) -> None:
    embed = {
        "stepType": "EmbedWorkflow",
        "id": "call",
        "childWorkflowId": "greeter",
        "childVersion": "latest",
        "inputMapping": {"who": ref("data.name")},
    }
    outcome = runtime.run(
        chain(embed, finish(r=ref("steps.call.outputs"))),
        {"name": "Ada"},
        children={"greeter": CHILD},
    )
    assert (outcome.status, outcome.output) == ("completed", {"r": {"text": "Hello, Ada"}})
    assert "call/embed/say" not in runtime.checkpoints(outcome.instance_id)  # Finish: no checkpoint
    assert "call" in runtime.checkpoints(outcome.instance_id)


def test_embedded_child_input_is_checked_against_its_schema(runtime: Runtime) -> None:
    embed = {
        "stepType": "EmbedWorkflow",
        "id": "call",
        "childWorkflowId": "greeter",
        "childVersion": "latest",
        "inputMapping": {"who": ref("data.name")},
    }
    outcome = runtime.run(chain(embed, finish()), {"name": 42}, children={"greeter": CHILD})
    assert (outcome.status, outcome.message) == (
        "failed",
        "step 'call' failed: child workflow greeter: input does not match inputSchema: "
        "who: expected string, got integer",
    )


def test_start_scenario_alias_and_missing_child() -> None:
    embed = {
        "stepType": "StartScenario",
        "id": "call",
        "childScenarioId": "nobody",
        "childVersion": 1,
    }
    with pytest.raises(CodegenError, match=r"E051 step 'call': unknown child workflow 'nobody'"):
        Runtime.generate(chain(embed, finish()))


def test_connection_reaches_the_agent_and_is_never_stored(
    runtime: Runtime, httpserver: HTTPServer
) -> None:
    token = "tok-" + "s3cr3t" * 4
    runtime.add_connection(
        "api", "http_bearer", {"token": token, "base_url": httpserver.url_for("/")}
    )
    httpserver.expect_request(
        "/me", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json({"user": "ada"})
    document = graph(
        {
            "stepType": "Connection",
            "id": "conn",
            "connectionId": "api",
            "integrationId": "http_bearer",
        },
        agent("me", "http", "http-request", url=imm("/me"), _connection=ref("steps.conn.outputs")),
        finish(user=ref("steps.me.outputs.body.user")),
        edges=[("conn", "me"), ("me", "done")],
        executionGraph=None,
    )
    document.pop("executionGraph")
    outcome = runtime.run({"executionGraph": document, "debugMode": True})
    assert (outcome.status, outcome.output) == ("completed", {"user": "ada"})
    assert "conn" not in runtime.checkpoints(outcome.instance_id)
    assert token.encode() not in runtime.database.read_bytes()
    wal = runtime.database.with_name(runtime.database.name + "-wal")
    assert not wal.exists() or token.encode() not in wal.read_bytes()


def _in_background(
    runtime: Runtime, document: dict[str, Any], instance_id: str
) -> tuple[threading.Thread, list[Outcome]]:
    module = load_module(Runtime.generate(document))
    results: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: results.append(runtime.run(document, instance_id=instance_id, module=module))
    )
    thread.start()
    return thread, results


APPROVAL = chain(
    echo("before", imm("ready")),
    {"stepType": "WaitForSignal", "id": "approve", "pollIntervalMs": 20},
    finish(decision=ref("steps.approve.outputs")),
)


def test_pause_resume_and_signal(runtime: Runtime) -> None:
    instance_id = "approval-1"
    thread, results = _in_background(runtime, APPROVAL, instance_id)
    wait_for(lambda: "before" in runtime.checkpoints(instance_id))
    runtime.post(f"/v1/instances/{instance_id}/pause")
    thread.join(10)
    assert (results[0].status, results[0].exit_code) == ("suspended", 3)

    runtime.post(f"/v1/instances/{instance_id}/resume")
    thread, results = _in_background(runtime, APPROVAL, instance_id)
    # sent while the rerun may still be starting: a signal waits for its WaitForSignal
    runtime.post(
        f"/v1/instances/{instance_id}/signals",
        {"checkpoint_id": "approve", "payload": {"approved": True}},
    )
    thread.join(10)
    assert (results[0].status, results[0].output) == ("completed", {"decision": {"approved": True}})


def test_cancel_stops_at_the_next_checkpoint(runtime: Runtime) -> None:
    instance_id = "cancel-1"
    document = chain(
        {
            "stepType": "While",
            "id": "spin",
            "condition": {"type": "value", **imm(True)},
            "config": {"maxIterations": 10_000},
            "subgraph": chain(
                agent("nap", "utils", "delay-in-ms", delay_value=imm(5)), finish("f")
            ),
        },
        finish(),
    )
    thread, results = _in_background(runtime, document, instance_id)
    wait_for(lambda: len(runtime.checkpoints(instance_id)) > 4)
    runtime.post(f"/v1/instances/{instance_id}/cancel")
    thread.join(10)
    assert (results[0].status, results[0].exit_code) == ("cancelled", 3)


def test_execution_timeout_fails_the_instance_past_any_handler(runtime: Runtime) -> None:
    loop = {
        "stepType": "While",
        "id": "spin",
        "condition": {"type": "value", **imm(True)},
        "config": {"maxIterations": 1000},
        "subgraph": chain(agent("nap", "utils", "delay-in-ms", delay_value=imm(100)), finish("f")),
    }
    document = graph(
        loop,
        finish("caught", r=imm("handled")),
        finish(),
        edges=[("spin", "caught", "onError"), ("spin", "done")],
        executionTimeoutSeconds=1,
    )
    outcome = runtime.run(document)  # 1000 naps of 100 ms: only the timeout ends it early
    assert (outcome.status, outcome.error) == (
        "failed",
        {
            "message": "workflow timed out after 1 s (executionTimeoutSeconds)",
            "code": "WORKFLOW_TIMEOUT",
        },
    )


@pytest.mark.parametrize(("parallelism", "expected_peak"), [(1, 1), (4, 4)])
def test_split_parallelism_is_real_and_bounded(
    runtime: Runtime, threaded_server: HTTPServer, parallelism: int, expected_peak: int
) -> None:
    httpserver = threaded_server
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow(request: Request) -> Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    call = agent("call", "http", "http-request", url=imm(httpserver.url_for("/slow")))
    document = chain(
        {
            "stepType": "Split",
            "id": "fan",
            "config": {"value": imm(list(range(8))), "parallelism": parallelism},
            "subgraph": chain(call, finish("f", i=ref("variables._index"))),
        },
        finish(r=ref("steps.fan.outputs")),
    )
    started = time.monotonic()
    outcome = runtime.run(document)
    elapsed = time.monotonic() - started
    assert outcome.output == {"r": [{"i": i} for i in range(8)]}
    assert peak[0] == expected_peak
    assert elapsed >= 8 / parallelism * 0.2


def test_nested_split_keys(runtime: Runtime) -> None:
    inner = {
        "stepType": "Split",
        "id": "inner",
        "config": {"value": ref("data"), "sequential": True},
        "subgraph": chain(echo("leaf", ref("data")), finish("f", v=ref("steps.leaf.outputs"))),
    }
    document = chain(
        {
            "stepType": "Split",
            "id": "outer",
            "config": {"value": ref("data"), "sequential": True},
            "subgraph": chain(inner, finish("f", row=ref("steps.inner.outputs"))),
        },
        finish(r=ref("steps.outer.outputs")),
    )
    outcome = runtime.run(document, [[1, 2], [3]])
    assert outcome.output == {"r": [{"row": [{"v": 1}, {"v": 2}]}, {"row": [{"v": 3}]}]}
    keys = runtime.checkpoints(outcome.instance_id)
    assert "outer/split[0]/inner/split[1]/leaf" in keys
    assert "outer/split[1]/inner/split[0]/leaf" in keys


def test_retried_split_item_does_not_repeat_its_finished_steps(
    runtime: Runtime, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/a").respond_with_json({"a": 1})
    flaky = _flaky(httpserver, failures=1, status=503)
    first = agent("first", "http", "http-request", url=imm(httpserver.url_for("/a")))
    second = agent(
        "second", "http", "http-request", url=imm(httpserver.url_for("/flaky")), max_retries=imm(0)
    ) | {"maxRetries": 0}
    document = chain(
        {
            "stepType": "Split",
            "id": "each",
            "config": {"value": imm(["only"]), "maxRetries": 1, "retryDelay": 10},
            "subgraph": chain(first, second, finish("f", ok=ref("steps.second.outputs.body.ok"))),
        },
        finish(r=ref("steps.each.outputs")),
    )
    outcome = runtime.run(document)
    assert (outcome.status, outcome.output) == ("completed", {"r": [{"ok": True}]})
    assert [r.path for r, _ in httpserver.log].count("/a") == 1
    assert len(flaky) == 2


def test_a_handled_failure_is_checkpointed(runtime: Runtime) -> None:
    risky = {"stepType": "Agent", "id": "risky", "agentId": "utils", "capabilityId": "calculate"}
    document = graph(
        risky | {"inputMapping": {"expression": imm("1 / 0")}, "maxRetries": 0},
        finish("handled", error=ref("steps.error")),
        finish(),
        edges=[("risky", "handled", "onError"), ("risky", "done")],
    )
    outcome = runtime.run(document)
    error = {
        "message": "step 'risky' (utils:calculate): division by zero",
        "stepId": "risky",
        "code": "CALC_ERROR",
        "category": "permanent",
    }
    assert outcome.output == {"error": error}
    assert runtime.checkpoints(outcome.instance_id) == ["@start", "risky"]
    replayed = Runtara(outcome.instance_id, "codegen-tests", url=runtime.url)
    assert replayed.get_checkpoint("risky") == {"@failed": error}
