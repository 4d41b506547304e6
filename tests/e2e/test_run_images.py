"""A JSON workflow registered as an image (``runtara images register --workflow``) runs
through the process runner, interpreted: a durable Delay ends the process, the
scheduler starts it again when due, and the instance completes with its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.polling import wait_for
from tests.support.run_processes import dev_server, runtara

NAPPER = {
    "name": "napper",
    "entryPoint": "nap",
    "steps": {
        "nap": {
            "stepType": "Delay",
            "id": "nap",
            "durationMs": {"valueType": "reference", "value": "data.ms"},
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {
                "slept": {"valueType": "reference", "value": "steps.nap.outputs.durationMs"}
            },
        },
    },
    "executionPlan": [{"fromStep": "nap", "toStep": "done"}],
}


def test_workflow_image_sleeps_without_a_process_and_completes(tmp_path: Path) -> None:
    (tmp_path / "napper.json").write_text(json.dumps(NAPPER))
    with dev_server(tmp_path) as url:
        registered = runtara(
            tmp_path,
            "images",
            "register",
            "napper",
            "--tenant",
            "default",
            "--workflow",
            "napper.json",
            url=url,
        )
        assert registered.returncode == 0, registered.stderr
        started = runtara(
            tmp_path,
            "instances",
            "start",
            "napper",
            "--tenant",
            "default",
            "--input",
            '{"ms": 1500}',
            "--format",
            "json",
            url=url,
        )
        assert started.returncode == 0, started.stderr
        instance_id = json.loads(started.stdout)["id"]
        api = httpx.Client(base_url=url, headers={"X-Runtara-Tenant": "default"})

        def completed() -> dict[str, Any] | None:
            state: dict[str, Any] = api.get(f"/v1/instances/{instance_id}").json()
            assert state["status"] not in ("failed", "cancelled"), state
            return state if state["status"] == "completed" else None

        state = wait_for(completed, 60, interval=0.1, what=f"{instance_id} to complete")
        assert state["output"] == {"slept": 1500}
        events = api.get(f"/v1/instances/{instance_id}/events").json()["events"]
        kinds = [e["event_type"] for e in events]
        assert "sleeping" in kinds
        assert kinds.count("launched") == 2  # started again after the sleep
