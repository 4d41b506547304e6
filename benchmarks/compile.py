"""Native compile times, image size and start-up of compiled workflows vs CPython.

Goals on 2 cores (issue 8): warm compile <= 3 s, image <= 15 MB compressed, start ->
first checkpoint <= 100 ms. Prints two tables:

1. ``runtara compile`` as a user runs it, for a JSON workflow (``examples/hello.json``)
   and a Python program (``examples/checkpoint_example.py``), one column each:

   - *cold*: empty runtara cache *and* empty ccache (the launcher is built);
   - *warm*: the launcher cached, this workflow's module never built (module cache
     emptied), so Nuitka compiles it;
   - *edited*: the workflow changed (a JSON description, a constant in the program),
     the usual edit-compile loop: Nuitka compiles the new module;
   - *unchanged*: identical code compiled again: the module build is reused;
   - the compressed image size, per layer.

   Each workflow's cold row starts from its own empty caches (so each is a true first
   compile); ``--skip-cold`` reuses the user's cache instead (seconds, not minutes;
   the warm row empties its compiled-module cache, which later compiles refill).
2. Start-up of the same module, native binary vs ``python3 module.py``: start -> first
   output (no runtime), start -> first checkpoint acknowledged (against ``runtara server
   --dev``), and a whole run of ``examples/hello.json``; medians, with ratios.

Run: ``python benchmarks/compile.py`` (``--skip-cold`` to reuse the caches).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import Server  # noqa: E402

HELLO = ROOT / "examples" / "hello.json"
PROGRAM = ROOT / "examples" / "checkpoint_example.py"
HELLO_INPUT = {"name": "ada", "language": "fr"}

FIRST_OUTPUT = """
from runtara.sdk import flow

print("ready", flush=True)
"""

FIRST_CHECKPOINT = """
import sys

from runtara.sdk import Runtara

runtime = Runtara.from_env()
runtime.register()
runtime.checkpoint("first", {"ok": True})
print("checkpointed", flush=True)
runtime.completed({"ok": True})
"""

console = Console()


def compile_time(workflow: Path, output: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "runtara", "compile", str(workflow), "-o", str(output)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"runtara compile {workflow.name} failed:\n{result.stderr}")
    return time.perf_counter() - started


def time_to_line(command: Sequence[str], env: dict[str, str], expected: str) -> float:
    """Seconds from spawn to the first stdout line (which must be ``expected``)."""
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        elapsed = time.perf_counter() - started
        process.wait()
    if line != expected:
        raise RuntimeError(f"{command[0]}: expected {expected!r}, got {line!r}")
    return elapsed


def time_to_exit(command: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextmanager
def dev_server(directory: Path, python_path: Path) -> Iterator[str]:
    """``runtara server --dev`` importing the snapshot at ``python_path``."""
    server = Server(
        f"sqlite:///{directory / 'bench.db'}",
        directory / "data",
        server_id="bench",
        fast=False,
        env={"PYTHONPATH": str(python_path)},
        cwd=directory,
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def snapshot(work: Path) -> Path:
    """A copy of the ``runtara`` package, imported by everything this benchmark runs: it
    measures one version of the code even while the working tree is being edited (an
    edit to the SDK would otherwise rebuild the launcher in the middle of a row)."""
    shutil.copytree(
        ROOT / "runtara", work / "src" / "runtara", ignore=shutil.ignore_patterns("__pycache__")
    )
    return work / "src"


def instance_env(url: str, python_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "LANG": "C",
        "PYTHONPATH": str(python_path),
        "RUNTARA_URL": url,
        "RUNTARA_INSTANCE_ID": f"bench-{uuid.uuid4().hex[:12]}",
        "RUNTARA_TENANT_ID": "bench",
        "RUNTARA_INSTANCE_TOKEN": "",
        "RUNTARA_INPUT": json.dumps(HELLO_INPUT),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="reuse the existing caches")
    parser.add_argument("--runs", type=int, default=15, help="start-up samples per row")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="runtara-bench-") as scratch:
        work = Path(scratch)
        code = snapshot(work)
        sys.path.insert(0, str(code))
        from runtara.compiler.native import build_native
        from runtara.compiler.native.cache import cache_dir
        from runtara.compiler.native.workflow import read_build

        env = {**os.environ, "PYTHONPATH": str(code)}
        cache = cache_dir()
        columns = {
            workflow: compile_rows(workflow, work / workflow.stem, env, cold=not args.skip_cold)
            for workflow in (HELLO, PROGRAM)
        }
        table = Table(title="runtara compile (goals: warm <= 3 s, image <= 15 MB)")
        table.add_column("measure", no_wrap=True)
        for workflow in columns:
            table.add_column(workflow.name, justify="right")
        for measure in next(iter(columns.values())):
            table.add_row(measure, *(rows[measure] for rows in columns.values()))
        console.print(table)
        if not args.skip_cold:  # the start-up rows use the JSON workflow's caches
            cache = work / HELLO.stem / "cache"
        build = read_build(work / HELLO.stem / "u0")

        startup = Table(title=f"start-up, native vs CPython (median of {args.runs})")
        for column in ("measure", "native ms", "CPython ms", "native / CPython"):
            startup.add_column(column, justify="right" if column != "measure" else "left")

        def add_row(label: str, native: list[float], cpython: list[float]) -> None:
            n, c = median_ms(native), median_ms(cpython)
            startup.add_row(label, f"{n:.0f}", f"{c:.0f}", f"{n / c:.2f}")

        for label, program, expected, needs_server in (
            ("start -> first output", FIRST_OUTPUT, "ready", False),
            ("start -> first checkpoint", FIRST_CHECKPOINT, "checkpointed", True),
        ):
            built = build_native(program, work / f"bin-{expected}", cache=cache)
            module = work / f"{expected}.py"
            module.write_text(program)
            with dev_server(work, code) if needs_server else _no_server() as url:
                native = [
                    time_to_line([str(built.binary)], instance_env(url, code), expected)
                    for _ in range(args.runs)
                ]
                cpython = [
                    time_to_line([sys.executable, str(module)], instance_env(url, code), expected)
                    for _ in range(args.runs)
                ]
            add_row(label, native, cpython)

        hello = work / HELLO.stem / "u0"
        hello_source = (hello / build.source).resolve()
        with dev_server(work, code) as url:
            native = [
                time_to_exit([str(hello / build.binary)], instance_env(url, code))
                for _ in range(args.runs)
            ]
            cpython = [
                time_to_exit([sys.executable, str(hello_source)], instance_env(url, code))
                for _ in range(args.runs)
            ]
        add_row("hello.json, whole run (6 steps)", native, cpython)
        console.print(startup)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        console.print(f"[dim]load average during the run: {load} (2 cores: above 2 inflates times)")


def compile_rows(workflow: Path, work: Path, env: dict[str, str], *, cold: bool) -> dict[str, str]:
    """The compile measures of ``workflow`` (see the module doc), by row name."""
    from runtara.compiler.native.cache import cache_dir
    from runtara.compiler.native.workflow import read_build
    from runtara.compiler.oci.layout import OciImage

    work.mkdir()
    if cold:
        cache = work / "cache"
        env = {**env, "RUNTARA_CACHE_DIR": str(cache), "CCACHE_DIR": str(work / "ccache")}
    else:
        cache = Path(env.get("RUNTARA_CACHE_DIR") or cache_dir())
    rows: dict[str, str] = {}
    if cold:
        console.print(f"[dim]{workflow.name}: cold compile (builds the launcher: minutes)...")
        rows["cold: empty caches, launcher built"] = _seconds(
            [compile_time(workflow, work / "cold", env)]
        )
    else:
        compile_time(workflow, work / "cold", env)  # the launcher exists from here on
        rows["cold: empty caches, launcher built"] = "skipped"
    warm = []
    for n in range(3):
        shutil.rmtree(cache / "modules", ignore_errors=True)
        warm.append(compile_time(workflow, work / f"w{n}", env))
    rows["warm: module built (median of 3)"] = _seconds(warm)
    edited = [compile_time(_edited(workflow, work, n), work / f"e{n}", env) for n in range(3)]
    rows["edited: module changed (median of 3)"] = _seconds(edited)
    unchanged = [compile_time(workflow, work / f"u{n}", env) for n in range(3)]
    rows["unchanged: module reused (median of 3)"] = _seconds(unchanged)

    build = read_build(work / "u0")
    with OciImage(work / "u0" / build.image) as image:
        layers = [blob.size for blob in image.blobs[1:]]
    names = ("rootfs", "runtime", "workflow")
    sizes = ", ".join(f"{n} {s / 1e6:.2f}" for n, s in zip(names, layers, strict=True))
    rows["image, compressed MB (per layer)"] = f"{sum(layers) / 1e6:.1f} ({sizes})"
    return rows


def _seconds(samples: list[float]) -> str:
    return f"{statistics.median(samples):.1f} s"


def _edited(workflow: Path, directory: Path, n: int) -> Path:
    """``workflow`` edited: a JSON workflow gets another description (the generated
    module's docstring changes), a program another value of its first constant."""
    edit = f"edit {n} at {time.time()}"
    edited = directory / f"edited-{n}{workflow.suffix}"
    if workflow.suffix == ".py":
        source = workflow.read_text()
        constant = re.search(r'^[A-Z_]+ = "([^"]*)"$', source, re.M)
        if constant is None:
            raise SystemExit(f"{workflow}: no string constant to edit")
        start, end = constant.span(1)
        edited.write_text(source[:start] + edit + source[end:])
        return edited
    document = json.loads(workflow.read_text())
    graph = document.get("executionGraph", document)
    graph["description"] = edit
    edited.write_text(json.dumps(document))
    return edited


@contextmanager
def _no_server() -> Iterator[str]:
    yield "http://127.0.0.1:9"


if __name__ == "__main__":
    main()
