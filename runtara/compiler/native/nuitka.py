"""Running Nuitka: the command line, its caches, its output, and stripping what it made."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import runtara
from runtara.compiler.native.toolchain import Toolchain
from runtara.compiler.progress import Count, Progress, ToolOutput
from runtara.errors import Error


class NativeBuildError(Error):
    """Nuitka failed; the message carries the end of its output."""


def nuitka_command(options: Sequence[str], source: Path, *, jobs: int | None) -> list[str]:
    command = [sys.executable, "-m", "nuitka", "--assume-yes-for-downloads", *options]
    if jobs:
        command.append(f"--jobs={jobs}")
    return [*command, str(source)]


def nuitka_environment(cache: Path, source_root: Path | None = None) -> dict[str, str]:
    """Nuitka's own cache lives under runtara's: an empty one turns a 2 s module build
    into 30 s. ccache is picked up from ``PATH`` when installed. Nuitka compiles the
    ``runtara`` found first on ``PYTHONPATH``: ``source_root`` (a snapshot) when given,
    else the package running this build, whatever else is installed."""
    root = source_root or Path(runtara.__file__).resolve().parents[1]
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "NUITKA_CACHE_DIR": str(cache / "nuitka"),
        # Nuitka otherwise asks the network for a newer release on every fresh cache:
        # a build must not depend on (or wait for) anything outside this machine.
        "NUITKA_UPDATE_CHECK": "never",
        "PYTHONPATH": python_path,
    }


def run_nuitka(
    command: Sequence[str],
    *,
    cache: Path,
    cwd: Path,
    source_root: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """Run Nuitka, passing each output line to ``progress`` (and, while it compiles C,
    how many of its C files are compiled); raise with the tail on failure."""
    tail: deque[str] = deque(maxlen=15)
    watching = _CFiles(cwd, progress) if progress else None
    with (
        watching or contextlib.nullcontext(),
        subprocess.Popen(
            command,
            cwd=cwd,
            env=nuitka_environment(cache, source_root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if not line:
                continue
            tail.append(line)
            if progress:
                progress(ToolOutput(line))
        returncode = process.wait()
    if returncode != 0:
        output = "\n".join(tail)
        raise NativeBuildError(f"Nuitka failed (exit {returncode}):\n{output}")


class _CFiles:
    """Counts, every second, the C files of the Nuitka build under ``cwd``
    (``*.build/``, or one folder down: ``--output-dir``) and the object files compiled
    from them so far: the C compiler's part of a build is most of its time (minutes for
    a launcher) and Nuitka prints nothing meanwhile."""

    def __init__(self, cwd: Path, progress: Progress, every: float = 1.0) -> None:
        self._cwd = cwd
        self._progress = progress
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="nuitka-c-files", daemon=True)

    def __enter__(self) -> _CFiles:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        shown = (0, 0)
        while True:
            stopping = self._stop.wait(self._every)
            counted = self.count()  # once more at the end: the build's last figures
            if counted[1] and counted != shown:
                shown = counted
                self._progress(Count(*counted, "C files"))
            if stopping:
                return

    def count(self) -> tuple[int, int]:
        sources = objects = 0
        for build in [*self._cwd.glob("*.build"), *self._cwd.glob("*/*.build")]:
            for _root, _dirs, files in os.walk(build):
                for name in files:
                    if name.endswith(".c"):
                        sources += 1
                    elif name.endswith((".o", ".os")):  # .os in a module build
                        objects += 1
        return min(objects, sources), sources


def strip_binaries(toolchain: Toolchain, directory: Path) -> None:
    """``strip --strip-unneeded`` the shared objects (Nuitka copies them unstripped:
    29 MB -> 24 MB for a launcher); nothing happens without ``strip``."""
    if toolchain.strip is None:
        return
    objects = sorted(str(path) for path in directory.rglob("*.so*") if path.is_file())
    if objects:
        subprocess.run([toolchain.strip, "--strip-unneeded", *objects], check=True)
