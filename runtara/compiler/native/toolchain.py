"""The tools a native build needs, found up front so a missing one is one clear line."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from dataclasses import dataclass

from runtara.errors import Error


class MissingToolError(Error):
    """A tool the native build needs is not installed."""


@dataclass(frozen=True)
class Toolchain:
    nuitka_version: str
    c_compiler: str
    patchelf: str
    strip: str | None
    ccache: str | None


def find_toolchain() -> Toolchain:
    """Nuitka, a C compiler (``$CC``, gcc, cc or clang) and patchelf are required;
    ``strip`` and ``ccache`` are used when present."""
    try:
        nuitka_version = importlib.metadata.version("nuitka")
    except importlib.metadata.PackageNotFoundError:
        raise MissingToolError("Nuitka is not installed: pip install 'runtara[native]'") from None
    candidates = [os.environ.get("CC", ""), "gcc", "cc", "clang"]
    compiler = next((path for name in candidates if name and (path := shutil.which(name))), None)
    if compiler is None:
        raise MissingToolError(
            "no C compiler found (tried $CC, gcc, cc, clang): install gcc (apt-get install gcc)"
        )
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        raise MissingToolError(
            "patchelf not found: Nuitka needs it for standalone builds (apt-get install patchelf)"
        )
    return Toolchain(
        nuitka_version=nuitka_version,
        c_compiler=compiler,
        patchelf=patchelf,
        strip=shutil.which("strip"),
        ccache=shutil.which("ccache"),
    )
