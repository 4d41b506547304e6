"""The process runner alone: limits the kernel enforces, output files, kill, adoption."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from runtara.runtime.runners.base import LaunchSpec
from runtara.runtime.runners.process import ProcessRunner
from runtara.runtime.runners.resources import Limits


def spec(code: str, limits: Limits | None = None) -> LaunchSpec:
    return LaunchSpec(
        "t", "i", [sys.executable, "-c", code], {"PATH": os.environ["PATH"]}, limits or Limits()
    )


def test_memory_beyond_the_limit_fails_and_usage_is_measured(tmp_path: Path) -> None:
    async def scenario() -> None:
        runner = ProcessRunner(tmp_path)
        small = await runner.launch(spec("x = bytearray(40_000_000); print(len(x))"))
        ended = await small.wait()
        assert ended.exit_code == 0 and ended.peak_memory_bytes > 40_000_000
        assert small.drain_logs() == [("stdout", "40000000")]
        big = await runner.launch(
            spec("x = bytearray(400_000_000)", Limits(memory_bytes=128 << 20))
        )
        assert big.applied["rlimit_as_bytes"] == 128 << 20
        ended = await big.wait()
        assert ended.exit_code == 1
        assert ("stderr", "MemoryError") in big.drain_logs()

    asyncio.run(scenario())


def test_open_files_are_limited(tmp_path: Path) -> None:
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"

    async def scenario() -> None:
        handle = await ProcessRunner(tmp_path).launch(spec(code))
        await handle.wait()
        assert handle.drain_logs() == [("stdout", "1024")]

    asyncio.run(scenario())


def test_kill_takes_everything_the_process_started(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )

    async def scenario() -> None:
        handle = await ProcessRunner(tmp_path).launch(spec(code))
        lines: list[tuple[str, str]] = []
        while not lines:
            await asyncio.sleep(0.05)
            lines = handle.drain_logs()
        grandchild = int(lines[0][1])
        await handle.kill()
        ended = await handle.wait()
        assert ended.exit_code == -9
        for _ in range(100):
            if not Path(f"/proc/{grandchild}").exists() or _zombie(grandchild):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the grandchild survived")

    asyncio.run(scenario())


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def test_a_live_process_is_adopted_and_read_on_from_its_stored_offsets(tmp_path: Path) -> None:
    code = "import time\nfor i in range(6):\n    print(i, flush=True); time.sleep(0.1)"

    async def scenario() -> None:
        runner = ProcessRunner(tmp_path)
        first = await runner.launch(spec(code))
        seen: list[tuple[str, str]] = []
        while len(seen) < 2:
            await asyncio.sleep(0.05)
            seen += first.drain_logs()
        ref = first.ref  # as stored with the lines read so far
        adopted = await runner.adopt(ref, spec(code))
        assert adopted is not None
        await adopted.wait()
        rest = adopted.drain_logs()
        assert [line for _, line in seen + rest] == [str(i) for i in range(6)]
        assert await runner.adopt(ref, spec(code)) is None  # ended: nothing to adopt

    asyncio.run(scenario())
