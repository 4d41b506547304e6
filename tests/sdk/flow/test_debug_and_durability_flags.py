"""``breakpoint: true`` under ``debugMode`` and ``durable: false`` on a step, as Runtara has
them: the instance suspends before the breakpoint step and ``resume`` continues; a step
that is not durable leaves no checkpoint and runs again when the instance resumes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flow_harness import Runtime, chain, echo, finish, ref, start_runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from start_runtime(tmp_path_factory)


def document(*, debug: bool) -> dict[str, Any]:
    cheap = {**echo("cheap", ref("data.n")), "durable": False}
    stop = {**echo("stop", ref("steps.cheap.outputs")), "breakpoint": True}
    return {
        "executionGraph": chain(cheap, stop, finish(n=ref("steps.stop.outputs"))),
        "debugMode": debug,
    }


def test_a_breakpoint_suspends_before_its_step_and_resume_goes_on(runtime: Runtime) -> None:
    instance_id = "breakpoint-1"
    first = runtime.run(document(debug=True), {"n": 7}, instance_id=instance_id)
    assert (first.status, first.exit_code) == ("suspended", 3)
    hit = runtime.events(instance_id, "breakpoint_hit")
    assert [e["payload"]["step_id"] for e in hit] == ["stop"]
    assert hit[0]["payload"]["inputs"] == {"value": 7}
    # Suspended before the step: it has not run, and the durable record is not there.
    assert "stop" not in runtime.checkpoints(instance_id)
    started = [e["payload"]["step_id"] for e in runtime.events(instance_id, "step_debug_start")]
    assert started == ["cheap"]

    runtime.post(f"/v1/instances/{instance_id}/resume")
    second = runtime.run(document(debug=True), {"n": 7}, instance_id=instance_id)
    assert (second.status, second.output) == ("completed", {"n": 7})
    # One stop per breakpoint: the resumed instance went on into the step.
    assert len(runtime.events(instance_id, "breakpoint_hit")) == 1
    started = [e["payload"]["step_id"] for e in runtime.events(instance_id, "step_debug_start")]
    # The step with durable: false ran again on resume; the breakpoint step once.
    assert started == ["cheap", "cheap", "stop"]


def test_a_step_that_is_not_durable_leaves_no_checkpoint(runtime: Runtime) -> None:
    outcome = runtime.run(document(debug=False), {"n": 1})
    assert (outcome.status, outcome.output) == ("completed", {"n": 1})
    checkpoints = runtime.checkpoints(outcome.instance_id)
    assert "stop" in checkpoints and "cheap" not in checkpoints


def test_breakpoints_are_ignored_outside_debug_mode(runtime: Runtime) -> None:
    outcome = runtime.run(document(debug=False), {"n": 2})
    assert outcome.status == "completed"
    assert runtime.events(outcome.instance_id, "breakpoint_hit") == []
