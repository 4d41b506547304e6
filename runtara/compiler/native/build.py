"""A workflow's native binary: the cached launcher plus the workflow compiled as a module.

Per workflow only ``--mode=module --nofollow-imports --lto=no`` runs (about 2 s warm):
Nuitka compiles the generated module alone, under the name the launcher imports, and
the resulting extension is placed beside a copy of the launcher. Builds are kept by
content, so compiling unchanged generated code again skips Nuitka altogether.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runtara.compiler.native.cache import cache_dir
from runtara.compiler.native.entrypoint import WORKFLOW_MODULE
from runtara.compiler.native.imports import check_imports, third_party_needs
from runtara.compiler.native.launcher import (
    EXCLUDED_MODULES,
    OPTIONAL_LOADERS,
    Launcher,
    ensure_launcher,
)
from runtara.compiler.native.main_guard import expose_main_guard
from runtara.compiler.native.nuitka import (
    NativeBuildError,
    nuitka_command,
    run_nuitka,
    strip_binaries,
)
from runtara.compiler.native.toolchain import Toolchain, find_toolchain
from runtara.compiler.progress import Phase, Progress

#: Compiled workflow modules kept in the cache (each under 1 MB), most recently used first.
KEEP_MODULES = 50


@dataclass(frozen=True)
class NativeBuild:
    """What ``build_native`` produced: ``directory`` holds ``binary`` and everything it loads."""

    directory: Path
    binary: Path
    workflow_module: Path
    launcher: Launcher
    #: The launcher's optional entries (``OPTIONAL_ENTRIES``) this build carries: all of
    #: them when the workflow loads paramiko (the sftp agent), else none.
    carried: tuple[str, ...] = ()


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
    module = _cached_module(source, launcher, cache)
    if module is None:
        with tempfile.TemporaryDirectory(prefix="runtara-module-") as scratch:
            built = compile_module(
                source, Path(scratch), toolchain, cache=cache, jobs=jobs, progress=progress
            )
            module = _store_module(built, source, launcher, cache)
    elif progress:
        progress(Phase("workflow module unchanged: reusing its build"))
    optional = launcher.optional_entries
    needs = third_party_needs(source, set(OPTIONAL_LOADERS), filename) if optional else set()
    carried = optional if needs else ()
    left_out = set(optional) - set(carried)
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(
        launcher.dist,
        output,
        symlinks=True,
        ignore=lambda directory, names: (
            [name for name in names if name in left_out] if Path(directory) == launcher.dist else []
        ),
    )
    placed = output / module.name
    shutil.copyfile(module, placed)
    return NativeBuild(output, output / launcher.binary.name, placed, launcher, carried)


def _module_directory(source: str, launcher: Launcher, cache: Path) -> Path:
    """Where the build of ``source`` for ``launcher`` is kept: the same generated code
    compiled again (a rebuild, CI) costs a copy instead of a Nuitka run."""
    compiled = expose_main_guard(source)  # what Nuitka is given
    key = hashlib.sha256(f"{launcher.dist.parent.name}\0{compiled}".encode()).hexdigest()
    return cache / "modules" / key[:32]


def _cached_module(source: str, launcher: Launcher, cache: Path) -> Path | None:
    found = sorted(_module_directory(source, launcher, cache).glob(f"{WORKFLOW_MODULE}.*.so"))
    if not found:
        return None
    os.utime(found[0].parent)  # most recently used: kept by _prune_modules
    return found[0]


def _store_module(built: Path, source: str, launcher: Launcher, cache: Path) -> Path:
    directory = _module_directory(source, launcher, cache)
    partial = directory.with_name(f"{directory.name}.{os.getpid()}.partial")
    partial.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, partial / built.name)
    if directory.exists():
        shutil.rmtree(partial)
    else:
        partial.rename(directory)
    _prune_modules(directory.parent, keep=KEEP_MODULES)
    return directory / built.name


def _prune_modules(modules: Path, *, keep: int) -> None:
    kept = [path for path in modules.iterdir() if path.is_dir() and "." not in path.name]
    kept.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in kept[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


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
        progress(Phase("compiling the workflow module"))
    script = work / f"{WORKFLOW_MODULE}.py"
    script.write_text(expose_main_guard(source))
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
