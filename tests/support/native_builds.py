"""``runtara compile`` as the native tests run it: once per file content, into one folder.

A workflow (or program) compiled by one test is reused by the next that runs the same
file; a changed copy (a test shortening a delay) compiles again. Only the module build
is per workflow: the launcher comes from ``native_cache``, built once and kept.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.support.servers import environment
from tests.support.services import skip_missing


class NativeCompiler:
    def __init__(self, cache: Path, root: Path) -> None:
        self.cache = cache
        self.root = root

    def __call__(self, file: Path) -> Path:
        """The ``runtara compile`` output folder of ``file`` (compiled now if need be)."""
        key = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
        output = self.root / f"{file.stem}-{key}"
        if not (output / "build.json").is_file():
            compiled = subprocess.run(
                [sys.executable, "-m", "runtara", "compile", str(file), "-o", str(output)],
                env={**environment(), "RUNTARA_CACHE_DIR": str(self.cache)},
                capture_output=True,
                text=True,
                timeout=1500,
            )
            if "Nuitka is not installed" in compiled.stderr or "no C compiler" in compiled.stderr:
                skip_missing("native toolchain", compiled.stderr.strip())
            assert compiled.returncode == 0, compiled.stderr
        return output
