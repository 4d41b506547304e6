"""kill -9 of a running instance in the middle of a 1,000-item Split, then a rerun with
the same ``--id``: every item's HTTP call happened exactly once, except that the call in
flight when the process died may happen twice (it was sent, but its result was not yet
checkpointed; that window is inherent to any at-least-once side effect)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.run_processes import runtara, start_run

ITEMS = 1000


def _workflow(parallelism: int) -> dict[str, object]:
    call = {
        "stepType": "Agent",
        "id": "call",
        "agentId": "http",
        "capabilityId": "http-request",
        "maxRetries": 0,
        "inputMapping": {
            "method": {"valueType": "immediate", "value": "POST"},
            "url": {"valueType": "template", "value": "{{ variables.base }}/work/{{ data }}"},
            "max_retries": {"valueType": "immediate", "value": 0},
        },
    }
    item_done = {
        "stepType": "Finish",
        "id": "item_done",
        "inputMapping": {"n": {"valueType": "reference", "value": "steps.call.outputs.body.n"}},
    }
    split = {
        "stepType": "Split",
        "id": "items",
        "config": {
            "value": {"valueType": "reference", "value": "data.items"},
            "parallelism": parallelism,
            "sequential": parallelism == 1,
            "variables": {"base": {"valueType": "reference", "value": "data.base"}},
        },
        "subgraph": {
            "entryPoint": "call",
            "steps": {"call": call, "item_done": item_done},
            "executionPlan": [{"fromStep": "call", "toStep": "item_done"}],
        },
    }
    done = {
        "stepType": "Finish",
        "id": "done",
        "inputMapping": {"count": {"valueType": "reference", "value": "steps.items.outputs"}},
    }
    return {
        "name": "crash-test",
        "entryPoint": "items",
        "steps": {"items": split, "done": done},
        "executionPlan": [{"fromStep": "items", "toStep": "done"}],
    }


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("parallelism", [1, 8])
def test_kill_9_mid_split_then_rerun(
    tmp_path: Path, httpserver: HTTPServer, parallelism: int
) -> None:
    calls: Counter[int] = Counter()
    lock = threading.Lock()
    halfway = threading.Event()

    def work(request: Request) -> Response:
        item = int(request.path.rsplit("/", 1)[1])
        with lock:
            calls[item] += 1
            if len(calls) >= ITEMS // 2:
                halfway.set()
        return Response(json.dumps({"n": item}), content_type="application/json")

    httpserver.expect_request(re.compile(r"^/work/\d+$"), method="POST").respond_with_handler(work)
    (tmp_path / "wf.json").write_text(json.dumps(_workflow(parallelism)))
    data = {"items": list(range(ITEMS)), "base": httpserver.url_for("").rstrip("/")}
    (tmp_path / "input.json").write_text(json.dumps(data))
    args = ("run", "wf.json", "--id", "crashy", "--input", f"@{tmp_path / 'input.json'}")

    with start_run(tmp_path, *args) as running:
        assert halfway.wait(120), "the run never got half way"
        [instance] = _children(running.process.pid)
        os.kill(instance, signal.SIGKILL)
        _, stderr = running.finish()
    assert running.returncode == 1
    assert "without reporting an outcome; rerun with --id crashy to resume" in stderr
    with lock:
        before = sum(calls.values())
    assert ITEMS // 2 <= before < ITEMS

    done = runtara(tmp_path, *args, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"count": [{"n": i} for i in range(ITEMS)]}

    assert sorted(calls) == list(range(ITEMS))
    twice = [item for item, n in calls.items() if n > 1]
    assert all(n <= 2 for n in calls.values())
    assert len(twice) <= parallelism  # only the calls in flight at the kill
