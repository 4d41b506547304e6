"""The process runner: an instance as a child process of the server.

Each launch runs in its own session (so a kill reaches everything it started), with
rlimits (address space, CPU seconds, open files) and, where the machine allows, a
cgroup bounding its real memory and CPU share. Output goes to files in the instance's
work directory rather than pipes: a process outlives a server that crashes, keeps
writing, and the next server adopts it and goes on reading (``ref`` records the pid,
its start time -- pids are reused -- and the files).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtara.runtime.runners import environment
from runtara.runtime.runners.base import Exited, Launched, LaunchError, LaunchSpec, LogLines, Runner
from runtara.runtime.runners.cgroups import Cgroups, InstanceCgroup
from runtara.runtime.runners.resources import Limits

#: How often an adopted process (not our child: no wait()) is checked for life.
ADOPTED_POLL_SECONDS = 0.2


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (tells a reused pid apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(pid: int, start: int) -> bool:
    if process_start_time(pid) != start:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait() is missing


class LogTail:
    """Complete lines appended to a file since the last read."""

    def __init__(self, path: Path, stream: str, offset: int = 0) -> None:
        self.path = path
        self.stream = stream
        self.offset = offset
        self._partial = b""

    @property
    def consumed(self) -> int:
        """Bytes of the file handed out as lines (a partial last line is not)."""
        return self.offset - len(self._partial)

    def read(self, *, final: bool = False) -> LogLines:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            chunk = b""
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        if final and self._partial:
            lines.append(self._partial)
            self._partial = b""
        return [(self.stream, line.decode("utf-8", "replace").rstrip("\r")) for line in lines]


def _rlimits(limits: Limits) -> list[tuple[int, int]]:
    found = [(resource.RLIMIT_NOFILE, limits.open_files)]
    if limits.memory_bytes is not None:
        found.append((resource.RLIMIT_AS, limits.memory_bytes))
    if limits.timeout_s is not None:
        # A backstop under the wall-clock timeout: CPU seconds of all its threads.
        threads = limits.cpus or os.cpu_count() or 1
        found.append((resource.RLIMIT_CPU, math.ceil(limits.timeout_s * threads) + 1))
    return found


def _preexec(rlimits: list[tuple[int, int]], procs_files: list[str]) -> Callable[[], None]:
    """Runs in the child between fork and exec: join the cgroup, then lower the limits."""

    def setup() -> None:
        pid = str(os.getpid())
        for procs in procs_files:
            with open(procs, "w") as f:  # plain open(): keep fork-to-exec minimal
                f.write(pid)
        for which, value in rlimits:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 5))

    return setup


class ProcessHandle(Launched):
    """A launched (or adopted) instance process."""

    def __init__(
        self,
        pid: int,
        start: int,
        logs_dir: Path,
        cgroup: InstanceCgroup | None,
        applied: dict[str, Any],
        popen: subprocess.Popen[bytes] | None,
        offsets: tuple[int, int] = (0, 0),
    ) -> None:
        self.pid = pid
        self.start = start
        self.cgroup = cgroup
        self.applied = applied
        self.logs_dir = logs_dir
        self._popen = popen
        self._tails = [
            LogTail(logs_dir / "stdout.log", "stdout", offsets[0]),
            LogTail(logs_dir / "stderr.log", "stderr", offsets[1]),
        ]
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[Exited] = self._loop.create_future()
        if popen is not None:
            threading.Thread(target=self._reap, name=f"runtara-wait-{pid}", daemon=True).start()
        else:
            self._poller = self._loop.create_task(self._poll_adopted())

    @property
    def ref(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "start": self.start,
                "logs": str(self.logs_dir),
                "offsets": [tail.consumed for tail in self._tails],
                "cgroups": [str(d) for d in self.cgroup.dirs] if self.cgroup else [],
            }
        )

    # -- ending ----------------------------------------------------------------------

    def _reap(self) -> None:
        _, status, usage = os.wait4(self.pid, 0)
        assert self._popen is not None
        code = os.waitstatus_to_exitcode(status)
        self._popen.returncode = code
        exited = Exited(
            code,
            peak_memory_bytes=self._peak_memory(usage.ru_maxrss * 1024),
            cpu_time_ms=round((usage.ru_utime + usage.ru_stime) * 1000),
        )
        self._cleanup()
        self._loop.call_soon_threadsafe(self._settle, exited)

    async def _poll_adopted(self) -> None:
        while _alive(self.pid, self.start):
            await asyncio.sleep(ADOPTED_POLL_SECONDS)
        peak = self._peak_memory(None)
        await asyncio.to_thread(self._cleanup)
        self._settle(Exited(None, peak_memory_bytes=peak))

    def _peak_memory(self, rusage_peak: int | None) -> int | None:
        cgroup_peak = self.cgroup.peak_memory_bytes() if self.cgroup else None
        return rusage_peak if rusage_peak else cgroup_peak

    def _settle(self, exited: Exited) -> None:
        if not self._exited.done():
            self._exited.set_result(exited)

    def _cleanup(self) -> None:
        """Whatever the process left behind in its session or cgroup goes with it."""
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup is not None:
            for _ in range(50):
                for pid in self.cgroup.pids():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                if not self.cgroup.pids():
                    break
                time.sleep(0.02)
            self.cgroup.remove()

    async def wait(self) -> Exited:
        return await asyncio.shield(self._exited)

    def is_running(self) -> bool:
        return not self._exited.done()

    # -- stopping --------------------------------------------------------------------

    def _signal(self, sig: int) -> None:
        if self._exited.done():
            return
        if self._popen is None and not _alive(self.pid, self.start):
            return  # an adopted pid may have been reused: never signal a stranger
        with contextlib.suppress(OSError):
            os.killpg(self.pid, sig)
        if sig == signal.SIGKILL and self.cgroup is not None:
            for pid in self.cgroup.pids():
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)

    async def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    async def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def discard(self) -> None:
        if not self._exited.done():
            return
        shutil.rmtree(self.logs_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.logs_dir.parent.rmdir()  # the instance's directory, once empty

    # -- output ----------------------------------------------------------------------

    def drain_logs(self) -> LogLines:
        final = self._exited.done()
        lines: LogLines = []
        for tail in self._tails:
            lines.extend(tail.read(final=final))
        return lines


def _instance_dir(root: Path, tenant_id: str, instance_id: str) -> Path:
    """A directory per instance; ids are hashed (they may hold any character)."""
    digest = hashlib.sha256(f"{tenant_id}\0{instance_id}".encode()).hexdigest()[:24]
    return root / digest


class ProcessRunner(Runner):
    name = "process"

    def __init__(self, work_dir: Path, *, cgroups: Cgroups | None = None) -> None:
        self.work_dir = work_dir
        self.cgroups = cgroups if cgroups is not None else Cgroups()

    async def launch(self, spec: LaunchSpec) -> ProcessHandle:
        popen, logs_dir, cgroup, applied = await asyncio.to_thread(self._spawn, spec)
        start = process_start_time(popen.pid) or 0
        return ProcessHandle(popen.pid, start, logs_dir, cgroup, applied, popen)

    def _spawn(
        self, spec: LaunchSpec
    ) -> tuple[subprocess.Popen[bytes], Path, InstanceCgroup | None, dict[str, Any]]:
        argv = list(spec.argv or ())
        if not argv:
            raise LaunchError("the image has no command to run")
        home = _instance_dir(self.work_dir, spec.tenant_id, spec.instance_id)
        logs_dir = home / f"launch-{time.time_ns()}"
        logs_dir.mkdir(parents=True, exist_ok=True)
        limits = spec.limits
        cgroup = self.cgroups.create(logs_dir.name + "-" + home.name, limits)
        applied: dict[str, Any] = {"runner": self.name, "open_files": limits.open_files}
        if limits.memory_bytes is not None:
            applied["rlimit_as_bytes"] = limits.memory_bytes
        if limits.timeout_s is not None:
            applied["timeout_s"] = limits.timeout_s
        if cgroup is not None:
            applied.update(cgroup.applied)
        if limits.cpus is not None and "cgroup_cpus" not in applied:
            applied["cpus_not_enforced"] = "no writable cpu cgroup on this machine"
        try:
            with (
                (logs_dir / "stdout.log").open("wb") as out,
                (logs_dir / "stderr.log").open("wb") as err,
            ):
                popen = subprocess.Popen(
                    argv,
                    env=environment.allowed(spec.environment),
                    cwd=spec.workdir or home,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                    preexec_fn=_preexec(_rlimits(limits), cgroup.procs_files() if cgroup else []),
                )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:  # ValueError: NUL
            if cgroup is not None:
                cgroup.remove()
            raise LaunchError(f"cannot start {argv[0]!r}: {exc}") from None
        return popen, logs_dir, cgroup, applied

    async def adopt(self, ref: str, spec: LaunchSpec) -> ProcessHandle | None:
        try:
            data = json.loads(ref)
            pid, start, logs_dir = int(data["pid"]), int(data["start"]), Path(data["logs"])
        except (ValueError, KeyError, TypeError):
            return None
        if not _alive(pid, start):
            return None
        # Reading goes on where the former server's last stored batch ended.
        stored = data.get("offsets") or [0, 0]
        offsets = (int(stored[0]), int(stored[1]))
        cgroup = None
        if data.get("cgroups"):
            cgroup = InstanceCgroup([Path(d) for d in data["cgroups"]], self.cgroups.version, {})
        return ProcessHandle(pid, start, logs_dir, cgroup, {}, None, offsets)
