"""Native workflow binaries with Nuitka: a launcher built once, a module per workflow.

    >>> build = build_native(generated_source, Path("out/bin"))
    >>> build.binary          # out/bin/runtara-workflow, runs the workflow

See ``launcher`` for the cached runtime and ``build`` for the per-workflow step.
"""

from __future__ import annotations

from runtara.compiler.native.build import NativeBuild, build_native, compile_module
from runtara.compiler.native.cache import cache_dir
from runtara.compiler.native.imports import UnavailableImportError, check_imports
from runtara.compiler.native.launcher import BINARY_NAME, Launcher, ensure_launcher
from runtara.compiler.native.nuitka import NativeBuildError
from runtara.compiler.native.toolchain import MissingToolError, Toolchain, find_toolchain

__all__ = [
    "BINARY_NAME",
    "Launcher",
    "MissingToolError",
    "NativeBuild",
    "NativeBuildError",
    "Toolchain",
    "UnavailableImportError",
    "build_native",
    "cache_dir",
    "check_imports",
    "compile_module",
    "ensure_launcher",
    "find_toolchain",
]
