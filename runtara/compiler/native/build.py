"""A workflow's native binary: the cached launcher plus the workflow compiled as a module.

Per workflow only ``--mode=module --nofollow-imports --lto=no`` runs (about 2 s warm):
Nuitka compiles the generated module alone, under the name the launcher imports, and
the resulting extension is placed beside a copy of the launcher.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runtara.compiler.native.cache import cache_dir
from runtara.compiler.native.entrypoint import WORKFLOW_MODULE
from runtara.compiler.native.imports import check_imports
from runtara.compiler.native.launcher import (
    EXCLUDED_MODULES,
    Launcher,
    Progress,
    ensure_launcher,
)
from runtara.compiler.native.nuitka import (
    NativeBuildError,
    nuitka_command,
    run_nuitka,
    strip_binaries,
)
from runtara.compiler.native.toolchain import Toolchain, find_toolchain


@dataclass(frozen=True)
class NativeBuild:
    """What ``build_native`` produced: ``directory`` holds ``binary`` and everything it loads."""

    directory: Path
    binary: Path
    workflow_module: Path
    launcher: Launcher


def build_native(
    source: str,
    output: Path,
    *,
    filename: str = "workflow.py",
    cache: Path | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> NativeBuild:
    """Compile the workflow module ``source`` into ``output`` (replaced if present).

    Raises ``MissingToolError``, ``UnavailableImportError`` or ``NativeBuildError``.
    """
    cache = cache or cache_dir()
    toolchain = find_toolchain()
    launcher = ensure_launcher(toolchain, cache, jobs=jobs, progress=progress)
    check_imports(source, launcher.modules, filename, excluded=set(EXCLUDED_MODULES))
    with tempfile.TemporaryDirectory(prefix="runtara-module-") as scratch:
        module = compile_module(
            source, Path(scratch), toolchain, cache=cache, jobs=jobs, progress=progress
        )
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(launcher.dist, output, symlinks=True)
        placed = output / module.name
        shutil.copyfile(module, placed)
    return NativeBuild(output, output / launcher.binary.name, placed, launcher)


def compile_module(
    source: str,
    work: Path,
    toolchain: Toolchain,
    *,
    cache: Path,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Compile ``source`` as the extension module the launcher imports; return its path."""
    if progress:
        progress("compiling the workflow module")
    script = work / f"{WORKFLOW_MODULE}.py"
    script.write_text(source)
    out = work / "out"
    options = [
        "--mode=module",
        "--nofollow-imports",
        "--lto=no",
        "--no-pyi-file",  # type stubs: nobody imports this module from Python source
        f"--output-dir={out}",
    ]
    run_nuitka(nuitka_command(options, script, jobs=jobs), cache=cache, cwd=work, progress=progress)
    built = sorted(out.glob(f"{WORKFLOW_MODULE}.*.so"))
    if not built:
        raise NativeBuildError(f"Nuitka reported success but wrote no {WORKFLOW_MODULE}.*.so")
    strip_binaries(toolchain, out)
    return built[0]
