"""A warm Python that forks instance processes: ``python -m runtara.runtime.runners.forkserver``.

Starting a Python instance the usual way costs an interpreter start and its imports
(60-100 ms of CPU each): a thousand sleepers due in one second kept both cores busy for
a minute. This process has imported the image side once (``runtara.sdk``, its flow,
the agents) and forks a child per launch, in about a millisecond. The child becomes
what ``python SCRIPT ARGS`` or ``python -c CODE ARGS`` would have been, with the same
isolation as a spawned one (``process.py``): its own session, the cgroups joined and
the rlimits lowered before any of its code runs, ``stdin`` from ``/dev/null`` and its
output into its log files, its environment exactly the allow-listed one it was given,
its working directory. The runner's server reads each child's exit status and usage
from here (a child of this process, not of the server).

Requests and answers are JSON lines on stdin / stdout:

    -> {"argv": [...], "env": {...}, "cwd": "...", "stdout": PATH, "stderr": PATH,
        "rlimits": [[resource, soft, hard], ...], "procs": [cgroup.procs, ...]}
    <- {"pid": N} or {"error": "..."}          (one per request, in order)
    <- {"exit": N, "code": C, "maxrss_kb": K, "cpu_ms": M}   (when child N ends)

It is single-threaded (forking a threaded process is unsafe) and ends when its stdin
closes; the children live on in their own sessions, as spawned ones would.

The process runner uses it with ``RUNTARA_FORK_SERVER=on`` (off by default: see
``process._fork_server_enabled``), for argv that is this interpreter running a script
or ``-c`` code; anything else is spawned as before.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import selectors
import signal
import sys
import traceback
from typing import Any

#: Imported before any fork, so no child pays for them.
WARM = (
    "runtara.sdk",
    "runtara.sdk.flow",
    "runtara.agents",
    "runtara.agents.invoke",
    "runtara.agents.http",
    "runtara.agents.transform",
    "runtara.agents.text",
    "runtara.agents.utils",
    "json",
    "http.client",
)


def runnable(argv: list[str]) -> bool:
    """Whether ``argv`` is this interpreter running a script or ``-c`` code, which a
    fork of this process can become."""
    if len(argv) < 2:
        return False
    if argv[1] == "-c":
        return len(argv) >= 3
    return not argv[1].startswith("-")


def _child(request: dict[str, Any]) -> None:
    """In the forked child: set up as ``process.py`` does, then run; never returns."""
    code = 1
    try:
        os.setsid()
        pid = str(os.getpid())
        for procs in request.get("procs", []):
            with open(procs, "w") as f:
                f.write(pid)
        for which, soft, hard in request.get("rlimits", []):
            resource.setrlimit(which, (soft, hard))
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), line_buffering=True, write_through=unbuffered
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), line_buffering=True, write_through=True
        )
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        code = _run(request["argv"])
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _run(argv: list[str]) -> int:
    """Run as ``python ARGV[1:]`` would; the exit status."""
    import atexit
    import runpy
    import threading

    try:
        if argv[1] == "-c":
            sys.argv = ["-c", *argv[3:]]
            sys.path[0] = ""
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            exec(compile(argv[2], "<string>", "exec"), namespace)
        else:
            sys.argv = argv[1:]
            sys.path[0] = os.path.dirname(os.path.abspath(argv[1]))
            runpy.run_path(argv[1], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
        code = 1
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    return code


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _answer(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def _reap() -> None:
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _answer(
            {
                "exit": pid,
                "code": os.waitstatus_to_exitcode(status),
                "maxrss_kb": usage.ru_maxrss,
                "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000),
            }
        )


def serve() -> None:
    for name in WARM:
        with contextlib.suppress(ImportError):
            __import__(name)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "request")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                _launch(line)
        _reap()


def _launch(line: bytes) -> None:
    try:
        request = json.loads(line)
        pid = os.fork()
    except (OSError, ValueError) as exc:
        _answer({"error": f"{type(exc).__name__}: {exc}"})
        return
    if pid == 0:
        _child(request)
    _answer({"pid": pid})


if __name__ == "__main__":
    serve()
