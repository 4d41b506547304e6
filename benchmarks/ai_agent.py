"""What durability costs an AiAgent loop: time per turn, checkpointed vs bare calls.

    python benchmarks/ai_agent.py [--turns 20] [--rounds 3]

A scripted OpenAI-compatible server (``tests.support.model_server``) answers ``turns``
tool calls, then a final answer. The workflow runs the loop as an instance of an
embedded runtime (SQLite): every model answer and every tool call is checkpointed. The
baseline, measured in the same run against the same server, makes the same model calls
and tool calls directly, with no runtime at all. The difference per turn is what the
checkpoints (two per turn) add; a real model takes hundreds of milliseconds a turn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtara.agents.invoke import invoke  # noqa: E402
from runtara.runtime.embedded import EmbeddedRuntime  # noqa: E402
from tests.support.flow_harness import Runtime, load_module  # noqa: E402
from tests.support.model_server import ModelServer, answer, tool_call  # noqa: E402


def document(turns: int) -> dict[str, Any]:
    return {
        "entryPoint": "ai",
        "steps": {
            "ai": {
                "stepType": "AiAgent",
                "id": "ai",
                "connectionId": "llm",
                "config": {
                    "systemPrompt": {"valueType": "immediate", "value": "Echo, then answer."},
                    "userPrompt": {"valueType": "immediate", "value": "go"},
                    "maxIterations": turns + 1,
                },
            },
            "echo": {
                "stepType": "Agent",
                "id": "echo",
                "agentId": "utils",
                "capabilityId": "return-input",
                "inputMapping": {"value": {"valueType": "immediate", "value": "x"}},
            },
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {
                    "n": {"valueType": "reference", "value": "steps.ai.outputs.iterations"}
                },
            },
        },
        "executionPlan": [
            {"fromStep": "ai", "toStep": "echo", "label": "echo"},
            {"fromStep": "ai", "toStep": "done"},
        ],
    }


def bare(server: ModelServer, turns: int) -> None:
    """The same calls without a runtime: the conversation grows the same way."""
    connection = {"integration_id": "openai", "parameters": server.connection()["parameters"]}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for _ in range(turns + 1):
        reply = invoke("openai", "chat-completion", {"messages": messages}, connection=connection)
        messages.append(reply["message"])
        for call in reply["message"].get("tool_calls") or []:
            result = invoke("utils", "return-input", {"value": "x"})
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    turns = options.turns
    script = [tool_call("echo", {}) for _ in range(turns)] + [answer("done")]
    server = ModelServer(script).start()
    loop_s, bare_s = [], []
    try:
        with tempfile.TemporaryDirectory() as directory:
            database = Path(directory) / "runtara.db"
            with EmbeddedRuntime(f"sqlite:///{database}") as embedded:
                runtime = Runtime(embedded, database)
                runtime.add_connection("llm", "openai", server.connection()["parameters"])
                module = load_module(Runtime.generate(document(turns)))
                for _ in range(options.rounds):
                    start = time.perf_counter()
                    out = runtime.run(document(turns), module=module, instance_id=uuid.uuid4().hex)
                    loop_s.append(time.perf_counter() - start)
                    assert out.status == "completed" and out.output == {"n": turns + 1}, out
                    start = time.perf_counter()
                    bare(server, turns)
                    bare_s.append(time.perf_counter() - start)
    finally:
        server.stop()
    loop, base = statistics.median(loop_s), statistics.median(bare_s)
    per_turn = (loop - base) / (turns + 1) * 1000
    print(f"AiAgent loop, {turns} tool turns + 1 answer, median of {options.rounds} rounds")
    print(f"{'case':<44}{'wall s':>10}")
    print(f"{'bare calls (no runtime, baseline)':<44}{base:>10.3f}")
    print(f"{'durable loop (checkpoint per turn and call)':<44}{loop:>10.3f}")
    print(f"{'added per turn (ms)':<44}{per_turn:>10.1f}")


if __name__ == "__main__":
    main()
