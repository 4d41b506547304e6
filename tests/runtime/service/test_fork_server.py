"""Instances forked from the warm fork server (``RUNTARA_FORK_SERVER=on``) run as a
spawned interpreter would: exit status, uncaught errors, their own session, only the
environment they were given, their folder, no stdin, limits set before their code runs;
and launches that are not this Python go on being spawned."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from runtara.runtime.runners.base import LaunchError, LaunchSpec
from runtara.runtime.runners.process import ProcessRunner
from runtara.runtime.runners.resources import Limits

PROBE = """
import json, os, resource, sys
print(json.dumps({
    "sid_is_pid": os.getsid(0) == os.getpid(),
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "stdin": os.readlink("/proc/self/fd/0"),
    "argv": sys.argv,
    "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    "main": __name__,
}))
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProcessRunner:
    monkeypatch.setenv("RUNTARA_FORK_SERVER", "on")
    return ProcessRunner(tmp_path / "work")


def _spec(argv: list[str], limits: Limits | None = None, workdir: str | None = None) -> LaunchSpec:
    env = {"PATH": os.environ["PATH"], "RUNTARA_INSTANCE_ID": "i", "NOT_ALLOWED": "x"}
    return LaunchSpec("t", "i", argv, env, limits or Limits(), workdir=workdir)


def test_a_forked_instance_is_set_up_as_a_spawned_one(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    import json

    script = tmp_path / "probe.py"
    script.write_text(PROBE)

    async def scenario() -> dict[str, object]:
        handle = await runner.launch(
            _spec([sys.executable, str(script), "a1"], Limits(open_files=77), str(tmp_path))
        )
        assert handle.applied["started_by"] == "fork server"
        ended = await handle.wait()
        assert ended.exit_code == 0
        [(stream, line)] = handle.drain_logs()
        assert stream == "stdout"
        return json.loads(line)

    seen = asyncio.run(scenario())
    assert seen["sid_is_pid"] is True
    assert seen["env"] == {"PATH": os.environ["PATH"], "RUNTARA_INSTANCE_ID": "i"}
    assert seen["cwd"] == str(tmp_path)
    assert seen["stdin"] == os.devnull
    assert seen["argv"] == [str(script), "a1"]
    assert seen["nofile"] == 77
    assert seen["main"] == "__main__"


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("import sys; sys.exit(3)", 3, None),
        ("raise SystemExit('bye')", 1, "bye"),
        ("raise ValueError('boom')", 1, "ValueError: boom"),
        ("print('fine')", 0, None),
    ],
)
def test_exit_status_and_errors_are_the_interpreters(
    runner: ProcessRunner, code: str, status: int, stderr: str | None
) -> None:
    async def scenario() -> None:
        handle = await runner.launch(_spec([sys.executable, "-c", code]))
        ended = await handle.wait()
        assert ended.exit_code == status
        lines = [line for stream, line in handle.drain_logs() if stream == "stderr"]
        if stderr is None:
            assert lines == []
        else:
            assert lines[-1] == stderr

    asyncio.run(scenario())


def test_other_programs_are_spawned_and_a_missing_one_is_refused(runner: ProcessRunner) -> None:
    async def scenario() -> None:
        handle = await runner.launch(_spec(["sh", "-c", "echo $$"]))
        assert "started_by" not in handle.applied
        assert (await handle.wait()).exit_code == 0
        assert handle.drain_logs() == [("stdout", str(handle.pid))]  # the exec'd pid itself
        with pytest.raises(LaunchError, match="cannot start '/no/such/program'"):
            await runner.launch(_spec(["/no/such/program"]))

    asyncio.run(scenario())


def test_a_child_outlives_its_fork_server_and_its_end_is_still_seen(
    runner: ProcessRunner,
) -> None:
    async def scenario() -> None:
        handle = await runner.launch(_spec([sys.executable, "-c", "import time; time.sleep(1)"]))
        assert runner.fork_server is not None and runner.fork_server._process is not None
        runner.fork_server._process.send_signal(signal.SIGKILL)
        ended = await asyncio.wait_for(handle.wait(), 30)
        assert ended.exit_code is None  # not a child of ours: its status is unknown
        again = await runner.launch(_spec([sys.executable, "-c", "print('again')"]))
        assert (await again.wait()).exit_code == 0  # a new fork server

    asyncio.run(scenario())
