"""The launcher: the image-side runtime compiled once with ``--standalone`` and cached.

A cold standalone build takes minutes; the workflow is therefore not part of it. The
launcher holds ``runtara.sdk``, ``runtara.agents`` and the standard library they (and
generated code) use, and imports the workflow module from beside itself at run time,
so each workflow costs only a ``--mode=module`` build of its own code.

The cache key covers everything that changes the result: runtara, Python and Nuitka
versions, the launcher spec, and a hash of the image-side sources, so editing the SDK
rebuilds the launcher and nothing else does.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import runtara
from runtara import __version__
from runtara.compiler.native import entrypoint
from runtara.compiler.native.nuitka import nuitka_command, run_nuitka, strip_binaries
from runtara.compiler.native.toolchain import Toolchain
from runtara.compiler.progress import Phase, Progress

#: The program name inside a launcher dist (and an image's entrypoint).
BINARY_NAME = "runtara-workflow"
#: Packages compiled into the launcher, whatever exists of them at build time.
IMAGE_SIDE_PACKAGES = ("runtara.sdk", "runtara.agents")
#: Standard-library modules generated code and agents may import, beyond those the
#: packages above pull in; ``_json`` because Nuitka leaves the accelerator out otherwise.
EXTRA_STDLIB_MODULES = (
    "_json",
    "base64",
    "concurrent.futures",
    "csv",
    "datetime",
    "decimal",
    "hashlib",
    "hmac",
    "http.client",
    "json",
    "math",
    "re",
    "ssl",
    "statistics",
    "unicodedata",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "xml.etree.ElementTree",
    "zlib",
    "zoneinfo",
)
#: Third-party packages the agents import (lazily, inside the capability): compiled
#: into the launcher with what they load (the sftp agent's paramiko brings cryptography,
#: bcrypt and PyNaCl, extension modules Nuitka copies beside the binary).
THIRD_PARTY_MODULES = ("paramiko",)
#: The modules that load ``OPTIONAL_ENTRIES``: a workflow that never imports one of
#: them (directly or through the agents it uses) is built without those files.
OPTIONAL_LOADERS = ("paramiko", "cryptography", "bcrypt", "nacl")
#: Top-level entries of the launcher dist that only ``OPTIONAL_LOADERS`` load: the
#: extension modules under paramiko (13 MB, 6 MB compressed). The binary of a workflow
#: without SFTP, and its image, leave them out; an image that carries them has them in
#: a layer of their own, so the runtime layer stays the same for every workflow.
OPTIONAL_ENTRIES = ("cryptography", "bcrypt", "nacl", "_cffi_backend.so")
#: Optional imports of the packages above that no agent uses (paramiko's ``invoke``
#: integration reads ssh config files for Fabric); left out of the launcher.
NOT_FOLLOWED = ("invoke", "gssapi", "sspi", "pywintypes", "win32api", "win32con")
#: Third-party modules an agent imports that the launcher leaves out: a workflow
#: using such an agent is refused by ``check_imports``. The MCP SDK (the mcp agent):
#: with its pydantic and web stack it would double the launcher; a workflow with an
#: ``mcp.*`` toolset is refused by the native build (run it interpreted).
EXCLUDED_MODULES: tuple[str, ...] = ("mcp", "mcp_types")

#: Launchers kept in the cache (each is ~25 MB; every change of the image-side sources
#: makes a new one), the most recently used first.
KEEP_LAUNCHERS = 3

#: The directory holding the ``runtara`` package being built from.
_PACKAGE_ROOT = Path(runtara.__file__).resolve().parent.parent


@dataclass(frozen=True)
class Launcher:
    """A built launcher: its dist directory and the modules it can import."""

    dist: Path
    modules: frozenset[str]

    @property
    def binary(self) -> Path:
        return self.dist / BINARY_NAME

    @property
    def optional_entries(self) -> tuple[str, ...]:
        """The ``OPTIONAL_ENTRIES`` this launcher's dist has."""
        return tuple(name for name in OPTIONAL_ENTRIES if (self.dist / name).exists())


def image_side_sources() -> list[Path]:
    """The Python files compiled into the launcher (what its cache key hashes)."""
    files = [Path(entrypoint.__file__).resolve(), _PACKAGE_ROOT / "runtara" / "__init__.py"]
    for package in IMAGE_SIDE_PACKAGES:
        directory = _PACKAGE_ROOT.joinpath(*package.split("."))
        found = sorted(directory.rglob("*.py"))
        if not found:
            raise FileNotFoundError(f"{directory}: image-side package {package} has no sources")
        files += found
    return files


def read_image_side_sources() -> dict[str, bytes]:
    """A snapshot of the image-side sources, by path relative to the package root.

    The launcher is built from this snapshot (not from the live tree), so what it
    contains is exactly what its key says, even if files change during the build.
    """
    return {
        path.relative_to(_PACKAGE_ROOT).as_posix(): path.read_bytes()
        for path in image_side_sources()
    }


def third_party_versions() -> dict[str, str]:
    """The installed versions of the third-party distributions compiled into the
    launcher (paramiko and what it loads): upgrading one means a new launcher."""
    versions = {}
    for distribution in ("paramiko", "cryptography", "bcrypt", "pynacl", "cffi"):
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[distribution] = "absent"
    return versions


def launcher_key(toolchain: Toolchain, sources: dict[str, bytes] | None = None) -> str:
    """``<runtara>-py<X.Y>-nuitka<V>-<hash>``: the hash covers the spec above and the
    bytes of every image-side source, so any change to them means a new launcher."""
    digest = hashlib.sha256()
    spec: list[object] = [__version__, sys.version, toolchain.nuitka_version]
    spec += [IMAGE_SIDE_PACKAGES, third_party_versions()]
    modules = [EXTRA_STDLIB_MODULES, THIRD_PARTY_MODULES, NOT_FOLLOWED, EXCLUDED_MODULES]
    digest.update(repr([*spec, *modules]).encode())
    for relative, content in sorted((sources or read_image_side_sources()).items()):
        digest.update(relative.encode() + b"\0" + content + b"\0")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return f"{__version__}-{python}-nuitka{toolchain.nuitka_version}-{digest.hexdigest()[:16]}"


def ensure_launcher(
    toolchain: Toolchain,
    cache: Path,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Launcher:
    """The cached launcher for this runtara/Python/Nuitka and these sources; built if absent.

    Concurrent builds of the same key wait for each other (a file lock) instead of
    building twice; a finished launcher appears atomically (a directory rename).
    """
    sources = read_image_side_sources()
    key = launcher_key(toolchain, sources)
    directory = cache / "launchers" / key
    directory.parent.mkdir(parents=True, exist_ok=True)
    with _locked(directory.parent / f"{key}.lock"):
        if not (directory / "modules.json").is_file():
            _build(toolchain, cache, directory, sources, jobs=jobs, progress=progress)
            _prune(directory.parent, keep=KEEP_LAUNCHERS)
        os.utime(directory)  # most recently used: kept by _prune
    modules = json.loads((directory / "modules.json").read_text())
    # built into the interpreter (linked statically into the launcher), not in the report
    return Launcher(directory / "dist", frozenset(modules) | set(sys.builtin_module_names))


def _build(
    toolchain: Toolchain,
    cache: Path,
    directory: Path,
    sources: dict[str, bytes],
    *,
    jobs: int | None,
    progress: Progress | None,
) -> None:
    if progress:
        progress(Phase("building the runtime launcher (once per runtara version; a few minutes)"))
    with tempfile.TemporaryDirectory(prefix="launcher-", dir=directory.parent) as scratch:
        work = Path(scratch)
        source_root = work / "src"
        for relative, content in sources.items():
            (source_root / relative).parent.mkdir(parents=True, exist_ok=True)
            (source_root / relative).write_bytes(content)
        main_script = work / "entrypoint.py"
        shutil.copyfile(source_root / "runtara/compiler/native/entrypoint.py", main_script)
        options = [
            "--standalone",
            f"--output-dir={work}",
            f"--output-filename={BINARY_NAME}",
            f"--report={work / 'report.xml'}",
            f"--nofollow-import-to={entrypoint.WORKFLOW_MODULE}",
            "--no-deployment-flag=excluded-module-usage",
            *(f"--include-package={package}" for package in IMAGE_SIDE_PACKAGES),
            *(f"--include-module={module}" for module in EXTRA_STDLIB_MODULES),
            *(f"--include-module={module}" for module in THIRD_PARTY_MODULES),
            *(f"--nofollow-import-to={module}" for module in (*NOT_FOLLOWED, *EXCLUDED_MODULES)),
        ]
        run_nuitka(
            nuitka_command(options, main_script, jobs=jobs),
            cache=cache,
            cwd=work,
            source_root=source_root,
            progress=progress,
        )
        dist = work / "entrypoint.dist"
        strip_binaries(toolchain, dist)
        modules = sorted(_report_modules(work / "report.xml"))
        final = work / "launcher"
        final.mkdir()
        dist.rename(final / "dist")
        (final / "modules.json").write_text(json.dumps(modules, indent=0))
        if directory.exists():
            shutil.rmtree(directory)
        final.rename(directory)
    if progress:
        progress(Phase(f"runtime launcher cached in {directory}"))


def _prune(launchers: Path, *, keep: int) -> None:
    """Delete all but the ``keep`` most recently used launchers."""
    built = [path for path in launchers.iterdir() if (path / "modules.json").is_file()]
    built.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in built[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
        (launchers / f"{stale.name}.lock").unlink(missing_ok=True)


def _report_modules(report: Path) -> set[str]:
    """Every module Nuitka put in the build, from its compilation report."""
    tree = ElementTree.parse(report)
    return {
        name
        for element in tree.getroot().iter("module")
        if (name := element.get("name")) and name != "__main__"
    }


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
