"""kill -9 of an instance in the middle of an AiAgent's tool loop, then a rerun with the
same ``--id``: no model call that had answered is made again and no tool runs twice.

The model server (``tests.support.model_server``) and the tool's HTTP server live in this
test process, so they count every request across both processes of the instance. The
model call in flight at the kill (turn 3) is the only one sent twice: it was sent, but
its answer was never checkpointed. A second case kills the instance while a
WaitForSignal tool waits for a person, then signals the rerun.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.e2e.test_run_crash import _children
from tests.support.model_server import answer, model_server, tool_call
from tests.support.run_processes import runtara, start_run, write_json

API_KEY = "sk-crash-test-0123456789"


def _workflow() -> dict[str, Any]:
    charge = {
        "stepType": "Agent",
        "id": "charge",
        "name": "Charge a card",
        "agentId": "http",
        "capabilityId": "http-request",
        "maxRetries": 0,
        "inputMapping": {
            "method": {"valueType": "immediate", "value": "POST"},
            "url": {"valueType": "template", "value": "{{ data.shop }}/charge"},
            "max_retries": {"valueType": "immediate", "value": 0},
        },
    }
    agent = {
        "stepType": "AiAgent",
        "id": "ai",
        "connectionId": "llm",
        "config": {
            "systemPrompt": {"valueType": "immediate", "value": "Charge twice, then answer."},
            "userPrompt": {"valueType": "reference", "value": "data.q"},
            "maxIterations": 5,
        },
    }
    done = {
        "stepType": "Finish",
        "id": "done",
        "inputMapping": {
            "answer": {"valueType": "reference", "value": "steps.ai.outputs.response"},
            "turns": {"valueType": "reference", "value": "steps.ai.outputs.iterations"},
        },
    }
    return {
        "name": "ai-crash",
        "entryPoint": "ai",
        "steps": {"ai": agent, "charge": charge, "done": done},
        "executionPlan": [
            {"fromStep": "ai", "toStep": "charge", "label": "charge"},
            {"fromStep": "ai", "toStep": "done"},
        ],
    }


def _turn(body: dict[str, Any]) -> int:
    return sum(1 for m in body["messages"] if m["role"] == "assistant")


@pytest.mark.slow
def test_kill_9_mid_loop_then_rerun(tmp_path: Path, httpserver: HTTPServer) -> None:
    charges: Counter[int] = Counter()
    lock = threading.Lock()

    def charge(request: Request) -> Response:
        with lock:
            charges[json.loads(request.data)["n"]] += 1
        return Response(json.dumps({"ok": True}), content_type="application/json")

    httpserver.expect_request("/charge", method="POST").respond_with_handler(charge)
    reached, release = threading.Event(), threading.Event()
    held = {"first": True}

    def third_turn(body: dict[str, Any]) -> dict[str, Any]:
        if held["first"]:  # the first time: hold the answer until the instance is dead
            held["first"] = False
            reached.set()
            release.wait(60)
        return answer("Charged twice.")

    script = [
        tool_call("charge", {"body": {"n": 1}}),
        tool_call("charge", {"body": {"n": 2}}),
        third_turn,
    ]
    with model_server(script) as model:
        (tmp_path / "wf.json").write_text(json.dumps(_workflow()))
        connection = write_json(tmp_path / "llm.json", model.connection(api_key=API_KEY))
        data = write_json(
            tmp_path / "input.json", {"q": "pay", "shop": httpserver.url_for("").rstrip("/")}
        )
        args = ("run", "wf.json", "--id", "ai-crash", "--input", data)
        args += ("--connection", f"llm={connection}")
        with start_run(tmp_path, *args) as running:
            assert reached.wait(120), "the loop never reached its third turn"
            [instance] = _children(running.process.pid)
            os.kill(instance, signal.SIGKILL)
            _, stderr = running.finish()
            release.set()
        assert running.returncode == 1
        assert "without reporting an outcome; rerun with --id ai-crash to resume" in stderr
        assert [_turn(r) for r in model.requests] == [0, 1, 2]
        assert charges == {1: 1, 2: 1}

        done = runtara(tmp_path, *args, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"answer": "Charged twice.", "turns": 3}
        # Turns 1 and 2 came from checkpoints; turn 3, in flight at the kill, ran again.
        assert Counter(_turn(r) for r in model.requests) == {0: 1, 1: 1, 2: 2}
        resumed = model.requests[-1]["messages"]
        assert [m["role"] for m in resumed] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
        ]
    assert charges == {1: 1, 2: 1}
    assert all(API_KEY not in line for line in done.stderr.splitlines())


@pytest.mark.slow
def test_kill_9_while_a_wait_tool_waits_then_the_signal_after_the_rerun(tmp_path: Path) -> None:
    """Runtara's WaitForSignal-tool document under ``runtara run``: the instance is killed
    while its tool waits for a person; the rerun replays turn 1 from its checkpoint (the
    model is not asked again), waits again at the same key, and goes on with the payload."""
    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "runtara-corpus"
    document = corpus / "documents" / "fixtures" / "ai_agent_wait_tool.json"
    if not document.is_file():
        pytest.skip(f"the Runtara corpus is not at {corpus}")
    script = [tool_call("get_approval", {"question": "Refund 20 EUR?"}), answer("Refunded.")]
    waiting = "waiting for a signal to checkpoint 'ai/tool[1]/ask_human'"
    with model_server(script) as model:
        connection = write_json(tmp_path / "llm.json", model.connection(api_key=API_KEY))
        args = ("run", str(document), "--id", "ai-wait", "--input", '{"q": "refund?"}')
        args += ("--connection", f"openai-conn={connection}")
        with start_run(tmp_path, *args) as running:
            running.wait_for(waiting)
            [instance] = _children(running.process.pid)
            os.kill(instance, signal.SIGKILL)
            running.finish()
        assert running.returncode == 1
        with start_run(tmp_path, *args) as rerun:
            rerun.wait_for(waiting)
            sent = httpx.post(
                f"{rerun.url}/v1/instances/ai-wait/signals",
                json={"checkpoint_id": "ai/tool[1]/ask_human", "payload": {"approved": True}},
            )
            assert sent.status_code == 202, sent.text
            stdout, stderr = rerun.finish()
        assert rerun.returncode == 0, stderr
        assert json.loads(stdout) == {"answer": "Refunded."}
        assert [_turn(r) for r in model.requests] == [0, 1]
        tool_result = model.requests[1]["messages"][-1]
        assert (tool_result["role"], json.loads(tool_result["content"])) == (
            "tool",
            {"approved": True},
        )
