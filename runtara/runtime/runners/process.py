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
import concurrent.futures
import contextlib
import errno
import hashlib
import json
import math
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtara.runtime.runners import environment, forkserver, tiers
from runtara.runtime.runners.base import Exited, Launched, LaunchError, LaunchSpec, LogLines, Runner
from runtara.runtime.runners.cgroups import Cgroups, InstanceCgroup
from runtara.runtime.runners.resources import Limits
from runtara.runtime.runners.tiers import ALLOCATOR_ENVIRONMENT

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
            grown = os.stat(self.path).st_size > self.offset  # one call, not an open
        except OSError:
            grown = False
        if not grown and not (final and self._partial):
            return []
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


def _rlimits(limits: Limits, argv0: str) -> list[tuple[int, int]]:
    found = [(resource.RLIMIT_NOFILE, limits.open_files)]
    if limits.memory_bytes is not None:
        space = limits.memory_bytes + tiers.program_allowance(argv0)
        found.append((resource.RLIMIT_AS, space))
    if limits.stack_bytes is not None:
        found.append((resource.RLIMIT_STACK, limits.stack_bytes))
    if limits.timeout_s is not None:
        # A backstop under the wall-clock timeout: CPU seconds of all its threads.
        threads = limits.cpus or os.cpu_count() or 1
        found.append((resource.RLIMIT_CPU, math.ceil(limits.timeout_s * threads) + 1))
    return found


def _clamped(rlimits: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) as the child sets them: never above the hard limit it
    inherits; a CPU limit keeps 5 s between soft (SIGXCPU) and hard (SIGKILL)."""
    found = []
    for which, value in rlimits:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        found.append((which, value, value if which != resource.RLIMIT_CPU else value + 5))
    return found


#: ``prlimit`` options by resource.
_PRLIMIT = {
    resource.RLIMIT_NOFILE: "--nofile",
    resource.RLIMIT_AS: "--as",
    resource.RLIMIT_STACK: "--stack",
    resource.RLIMIT_CPU: "--cpu",
}
#: Joins the cgroups (the procs files are its arguments up to ``--``), then becomes the
#: rest of its arguments: the same steps as ``_preexec``, in the same order, by exec.
#: The shell's own ``PWD`` is unset first: the instance gets the allow-listed
#: environment and nothing more.
_JOIN = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift;'
    ' unset PWD OLDPWD; exec "$@"'
)


def _launcher(
    argv: list[str], rlimits: list[tuple[int, int]], procs_files: list[str]
) -> list[str] | None:
    """``argv`` behind ``sh`` (cgroups) and ``prlimit`` (limits), which set up in the child
    what ``_preexec`` would; None when either is missing (``_preexec`` is used then).

    Without a ``preexec_fn``, ``subprocess`` starts the child with ``vfork``: a fork of
    the whole multi-threaded server, holding the GIL, cost 10-30 ms a launch, and every
    launch waited for the ones before it.
    """
    shell, prlimit = shutil.which("sh"), shutil.which("prlimit")
    if shell is None or prlimit is None:
        return None
    limits = [f"{_PRLIMIT[which]}={soft}:{hard}" for which, soft, hard in _clamped(rlimits)]
    command = [prlimit, *limits, "--", *argv]
    if not procs_files:
        return command
    return [shell, "-c", _JOIN, "sh", *procs_files, "--", *command]


def _check_executable(argv0: str, env: dict[str, str], cwd: str | Path) -> None:
    """The error ``Popen`` raises for a program that cannot be run (the launcher would
    only find out after it started)."""
    if os.sep in argv0:
        candidate = argv0 if os.path.isabs(argv0) else os.path.join(cwd, argv0)
        found = candidate if os.path.isfile(candidate) else None
    else:
        found = shutil.which(argv0, mode=os.F_OK, path=os.pathsep.join(os.get_exec_path(env)))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv0)
    if not os.access(found, os.X_OK) or os.path.isdir(found):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), argv0)


def _preexec(rlimits: list[tuple[int, int]], procs_files: list[str]) -> Callable[[], None]:
    """Runs in the child between fork and exec: join the cgroup, then lower the limits."""
    limits = _clamped(rlimits)

    def setup() -> None:
        pid = str(os.getpid())
        for procs in procs_files:
            with open(procs, "w") as f:  # plain open(): keep fork-to-exec minimal
                f.write(pid)
        for which, soft, hard in limits:
            resource.setrlimit(which, (soft, hard))

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
        *,
        reaped: concurrent.futures.Future[dict[str, Any] | None] | None = None,
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
        elif reaped is not None:
            reaped.add_done_callback(self._reaped_by_fork_server)
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

    def _reaped_by_fork_server(
        self, reaped: concurrent.futures.Future[dict[str, Any] | None]
    ) -> None:
        """The fork server read the child's exit (called on its reader thread, which
        must go on reading: the rest happens on the event loop and a worker thread)."""
        self._loop.call_soon_threadsafe(
            lambda: setattr(self, "_poller", self._loop.create_task(self._forked_ended(reaped)))
        )

    async def _forked_ended(self, reaped: concurrent.futures.Future[dict[str, Any] | None]) -> None:
        found = reaped.result()
        if found is None:  # the fork server died first: watch the pid as an adopted one
            await self._poll_adopted()
            return
        exited = Exited(
            int(found["code"]),
            peak_memory_bytes=self._peak_memory(int(found["maxrss_kb"]) * 1024),
            cpu_time_ms=int(found["cpu_ms"]),
        )
        await asyncio.to_thread(self._cleanup)
        self._settle(exited)

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


class ForkServer:
    """The runner's side of ``forkserver.py``: one warm process, started on first use
    (again if it died), asked for one child at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._exits: dict[int, concurrent.futures.Future[dict[str, Any] | None]] = {}
        self._exits_lock = threading.Lock()

    def fork(
        self, request: dict[str, Any]
    ) -> tuple[int, concurrent.futures.Future[dict[str, Any] | None]]:
        """Start a child; its pid and a future of its exit (None: the fork server died
        first, so the exit is known only by watching the pid)."""
        with self._lock:
            process = self._ensure()
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
            except OSError as exc:
                raise OSError(f"the fork server is gone ({exc})") from None
            answer = self._answers.get()
        if answer is None:
            raise OSError("the fork server ended")
        if "error" in answer:
            raise OSError(answer["error"])
        return int(answer["pid"]), self._exit_of(int(answer["pid"]))

    def _exit_of(self, pid: int) -> concurrent.futures.Future[dict[str, Any] | None]:
        with self._exits_lock:
            return self._exits.setdefault(pid, concurrent.futures.Future())

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._answers = queue.SimpleQueue()
        process = subprocess.Popen(
            [sys.executable, "-m", "runtara.runtime.runners.forkserver"],
            env={**environment.from_server(), **ALLOCATOR_ENVIRONMENT},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        threading.Thread(
            target=self._read, args=(process, self._answers), name="runtara-forkserver", daemon=True
        ).start()
        self._process = process
        return process

    def _read(
        self, process: subprocess.Popen[bytes], answers: queue.SimpleQueue[dict[str, Any] | None]
    ) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            message = json.loads(line)
            if "exit" in message:
                self._exit_of(int(message["exit"])).set_result(message)
            else:
                if "pid" in message:
                    self._exit_of(int(message["pid"]))  # before its exit can be read
                answers.put(message)
        answers.put(None)
        process.wait()
        with self._exits_lock:
            for future in self._exits.values():
                if not future.done():
                    future.set_result(None)

    def close(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()


def _fork_server_enabled() -> bool:
    """``RUNTARA_FORK_SERVER=on``: Python instances are forked from a warm process.

    Off by default: a forked instance's ``/proc/PID/environ`` is the fork server's
    (the kernel keeps the environment a process was executed with), and what finds an
    instance's processes by their environment (the test suite, an operator's ``ps e``)
    would not see them; the limits, session, files and environment they run with are
    the same either way.
    """
    return os.environ.get("RUNTARA_FORK_SERVER", "off").lower() in ("on", "1", "true", "yes")


def _same_python(argv0: str, env: dict[str, str]) -> bool:
    found = (
        argv0
        if os.sep in argv0
        else shutil.which(argv0, path=os.pathsep.join(os.get_exec_path(env)))
    )
    return found is not None and os.path.realpath(found) == os.path.realpath(sys.executable)


class ProcessRunner(Runner):
    name = "process"

    def __init__(self, work_dir: Path, *, cgroups: Cgroups | None = None) -> None:
        self.work_dir = work_dir
        self.cgroups = cgroups if cgroups is not None else Cgroups()
        self.fork_server = ForkServer() if _fork_server_enabled() else None
        # Launches wait on disk and on the fork server: on threads of their own, so that
        # a burst of them leaves asyncio's default pool (the store's reads) free.
        self._spawner = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="runtara-spawn")

    async def launch(self, spec: LaunchSpec) -> ProcessHandle:
        loop = asyncio.get_running_loop()
        popen, logs_dir, cgroup, applied = await loop.run_in_executor(
            self._spawner, self._spawn, spec
        )
        if isinstance(popen, tuple):  # forked by the fork server
            pid, reaped = popen
            start = process_start_time(pid) or 0
            return ProcessHandle(pid, start, logs_dir, cgroup, applied, None, reaped=reaped)
        start = process_start_time(popen.pid) or 0
        return ProcessHandle(popen.pid, start, logs_dir, cgroup, applied, popen)

    def _spawn(
        self, spec: LaunchSpec
    ) -> tuple[
        subprocess.Popen[bytes] | tuple[int, concurrent.futures.Future[dict[str, Any] | None]],
        Path,
        InstanceCgroup | None,
        dict[str, Any],
    ]:
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
            applied["rlimit_as_bytes"] = limits.memory_bytes + tiers.program_allowance(argv[0])
        if limits.timeout_s is not None:
            applied["timeout_s"] = limits.timeout_s
        if cgroup is not None:
            applied.update(cgroup.applied)
        if limits.cpus is not None and "cgroup_cpus" not in applied:
            applied["cpus_not_enforced"] = "no writable cpu cgroup on this machine"
        env = environment.allowed(spec.environment)
        cwd = spec.workdir or home
        rlimits, procs = _rlimits(limits, argv[0]), cgroup.procs_files() if cgroup else []
        if (
            self.fork_server is not None
            and forkserver.runnable(argv)
            and _same_python(argv[0], env)
        ):
            try:
                if any("\x00" in part for part in [*argv, *env, *env.values()]):
                    raise ValueError("embedded null byte")
                forked = self.fork_server.fork(
                    {
                        "argv": argv,
                        "env": env,
                        "cwd": str(cwd),
                        "stdout": str(logs_dir / "stdout.log"),
                        "stderr": str(logs_dir / "stderr.log"),
                        "rlimits": _clamped(rlimits),
                        "procs": procs,
                    }
                )
            except (OSError, ValueError) as exc:
                if cgroup is not None:
                    cgroup.remove()
                raise LaunchError(f"cannot start {argv[0]!r}: {exc}") from None
            applied["started_by"] = "fork server"
            return forked, logs_dir, cgroup, applied
        launcher = _launcher(argv, rlimits, procs)
        try:
            if launcher is not None:
                _check_executable(argv[0], env, cwd)
            with (
                (logs_dir / "stdout.log").open("wb") as out,
                (logs_dir / "stderr.log").open("wb") as err,
            ):
                popen = subprocess.Popen(
                    launcher or argv,
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                    preexec_fn=None if launcher is not None else _preexec(rlimits, procs),
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
