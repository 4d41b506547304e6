"""kill -9 at random moments of a workflow whose steps without side effects are saved
*buffered* (committed together, not one by one), on SQLite and PostgreSQL, with a
sequential and a parallel Split; reruns until it completes.

Each item draws a random number (a step without side effects, buffered), reshapes it
(more buffered steps), sends it in an HTTP call (a side effect), and reshapes the
answer (buffered again). Kills land while buffered records wait for their commit.
What must hold, whatever the kills lost:

* every item's call happened; again only in a later run, for a call in flight at a
  kill (at most ``parallelism`` per kill), never twice in one run: a completed side
  effect never runs again;
* every call of an item carried the same number: what a side effect was given never
  changes on a rerun (the buffered draw was durable before the call started);
* the workflow's output is what the calls received.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.client import Client
from tests.support.crash_processes import crash_server
from tests.support.polling import wait_for
from tests.support.run_processes import runtara
from tests.support.servers import environment

ITEMS = 120
KILLS = 3


def _agent(step_id: str, agent: str, capability: str, inputs: dict[str, object]) -> dict:
    return {
        "stepType": "Agent",
        "id": step_id,
        "agentId": agent,
        "capabilityId": capability,
        "inputMapping": inputs,
    }


def _ref(path: str) -> dict[str, str]:
    return {"valueType": "reference", "value": path}


def _workflow(parallelism: int) -> dict[str, object]:
    steps = {
        "draw": _agent("draw", "utils", "random-double", {}),
        "wrap": _agent("wrap", "utils", "return-input", {"value": _ref("steps.draw.outputs")}),
        "call": {
            **_agent(
                "call",
                "http",
                "http-request",
                {
                    "method": {"valueType": "immediate", "value": "POST"},
                    "url": {
                        "valueType": "template",
                        "value": "{{ variables.base }}/work/{{ data }}",
                    },
                    "body": _ref("steps.wrap.outputs"),
                    "max_retries": {"valueType": "immediate", "value": 0},
                },
            ),
            "maxRetries": 0,
        },
        "shape": _agent(
            "shape", "utils", "return-input", {"value": _ref("steps.call.outputs.body")}
        ),
        "item_done": {
            "stepType": "Finish",
            "id": "item_done",
            "inputMapping": {"got": _ref("steps.shape.outputs")},
        },
    }
    order = ["draw", "wrap", "call", "shape", "item_done"]
    split = {
        "stepType": "Split",
        "id": "items",
        "config": {
            "value": _ref("data.items"),
            "parallelism": parallelism,
            "sequential": parallelism == 1,
            "variables": {"base": _ref("data.base")},
        },
        "subgraph": {
            "entryPoint": "draw",
            "steps": steps,
            "executionPlan": [{"fromStep": a, "toStep": b} for a, b in itertools.pairwise(order)],
        },
    }
    done = {
        "stepType": "Finish",
        "id": "done",
        "inputMapping": {"items": _ref("steps.items.outputs")},
    }
    return {
        "name": "buffered-crash",
        "entryPoint": "items",
        "steps": {"items": split, "done": done},
        "executionPlan": [{"fromStep": "items", "toStep": "done"}],
    }


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    running = crash_server(db_url, tmp_path).start()
    yield running.url
    running.stop()


def _start(module: Path, url: str, data: object) -> subprocess.Popen[bytes]:
    env = {
        **environment(),
        "RUNTARA_URL": url,
        "RUNTARA_INSTANCE_ID": "buffered",
        "RUNTARA_TENANT_ID": "tenant-1",
        "RUNTARA_INPUT": json.dumps(data),
    }
    return subprocess.Popen(
        [sys.executable, str(module)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.slow
@pytest.mark.parametrize("parallelism", [1, 8])
def test_random_kills_mid_buffer_never_repeat_or_change_a_side_effect(
    server: str, tmp_path: Path, httpserver: HTTPServer, parallelism: int
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    bodies: dict[int, list[object]] = defaultdict(list)
    runs: dict[int, list[int]] = defaultdict(list)  # item -> the run of each call
    current = [0]
    lock = threading.Lock()

    def work(request: Request) -> Response:
        item = int(request.path.rsplit("/", 1)[1])
        with lock:
            bodies[item].append(json.loads(request.data))
            runs[item].append(current[0])
        return Response(json.dumps({"n": item, "got": json.loads(request.data)}))

    httpserver.expect_request(re.compile(r"^/work/\d+$"), method="POST").respond_with_handler(work)
    (tmp_path / "wf.json").write_text(json.dumps(_workflow(parallelism)))
    generated = runtara(tmp_path, "codegen", "wf.json", "-o", "wf.py")
    assert generated.returncode == 0, generated.stderr
    assert "pure=True" in (tmp_path / "wf.py").read_text()  # draw, wrap, shape are buffered
    data = {"items": list(range(ITEMS)), "base": httpserver.url_for("").rstrip("/")}

    for kill in range(KILLS):
        with lock:
            already = len(bodies)
            current[0] = kill
        target = min(
            ITEMS - 1, already + rng.randint(5, max(6, (ITEMS - already) // (KILLS - kill + 1)))
        )
        process = _start(tmp_path / "wf.py", server, data)
        try:

            def reached(target: int = target) -> bool:
                return len(bodies) >= target

            wait_for(
                reached,
                120,
                interval=0.0005,
                what=f"{target} items called (seed {seed})",
                process=process,
            )
            # Land between commits: a few buffered records are usually waiting now.
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait()
        # A request the killed process sent just before it died may still be handled:
        # let it arrive before later calls count as the next run's.
        time.sleep(1.0)

    with lock:
        current[0] = KILLS
    final = _start(tmp_path / "wf.py", server, data)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, f"seed {seed}: {err.decode()}"

    assert sorted(bodies) == list(range(ITEMS)), f"seed {seed}"
    again = {item: seen for item, seen in runs.items() if len(seen) > 1}
    assert all(len(set(seen)) == len(seen) for seen in runs.values()), f"seed {seed}: {again}"
    assert sum(len(seen) - 1 for seen in runs.values()) <= KILLS * parallelism, f"seed {seed}"
    for item, seen in bodies.items():
        assert all(body == seen[0] for body in seen), f"seed {seed}: item {item} got {seen}"
    with Client(server, tenant="tenant-1") as client:
        instance = client.get_instance("buffered")
    assert instance["status"] == "completed"
    assert instance["output"] == {
        "items": [{"got": {"n": item, "got": bodies[item][0]}} for item in range(ITEMS)]
    }, f"seed {seed}"
    assert instance["attempts"] == KILLS + 1
