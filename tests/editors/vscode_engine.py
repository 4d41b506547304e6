"""VS Code's JSON engine (vscode-json-languageservice under Node), driven from Python.

The npm packages (pinned by ``vscode/package-lock.json``) are installed once into a cache
directory keyed by the lock file's hash, outside the work tree, so every clone and CI run
on a machine shares one install: ``~/.cache/runtara/vscode-json-<hash>`` (or
``$RUNTARA_NODE_CACHE``). ``.ci/services.sh`` installs Node and npm where they are missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "vscode"
ROOT = HERE.parents[2]


class EngineUnavailable(RuntimeError):
    """Node or npm is missing, or the packages cannot be installed (message says which)."""


def install() -> Path:
    """The directory holding the npm packages (``node_modules``), installed if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise EngineUnavailable("node and npm are needed (.ci/services.sh installs them)")
    lock = (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (HERE / "package.json").read_bytes()).hexdigest()[:12]
    base = Path(os.environ.get("RUNTARA_NODE_CACHE", Path.home() / ".cache" / "runtara"))
    target = base / f"vscode-json-{digest}"
    if not (target / "node_modules" / ".installed").exists():
        staging = base / f".vscode-json-{digest}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, staging / name)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise EngineUnavailable(f"npm ci failed: {done.stderr.strip()[-500:]}")
        (staging / "node_modules" / ".installed").touch()
        try:
            staging.rename(target)  # atomic: a concurrent install (xdist) may have won
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return target


class VsCodeJson:
    """One Node process running ``driver.mjs``; requests are answered in order."""

    def __init__(self, schema: Path | None = None) -> None:
        packages = install()
        command = ["node", str(HERE / "driver.mjs")]
        if schema is not None:
            command += ["--schema", str(Path(schema).resolve())]
        self._process = subprocess.Popen(
            command,
            cwd=packages,
            env={**os.environ, "RUNTARA_NODE_PACKAGES": str(packages)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> VsCodeJson:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, **request: Any) -> dict[str, Any]:
        """Send one request; return the whole answer (``result``, ``ms`` or ``error``)."""
        assert self._process.stdin and self._process.stdout
        with self._lock:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the Node driver exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _result(self, **request: Any) -> Any:
        answer = self.request(**request)
        if "error" in answer:
            raise RuntimeError(f"vscode-json-languageservice: {answer['error']}")
        return answer["result"]

    def complete(self, uri: str, text: str, line: int, character: int) -> list[dict[str, Any]]:
        """Completion items at (0-based) line and character."""
        items: list[dict[str, Any]] = self._result(
            op="complete", uri=uri, text=text, line=line, character=character
        )["items"]
        return items

    def hover(self, uri: str, text: str, line: int, character: int) -> str:
        """The hover text (markdown), "" when there is none."""
        hover = self._result(op="hover", uri=uri, text=text, line=line, character=character)
        if not hover:
            return ""
        contents = hover["contents"]
        parts = contents if isinstance(contents, list) else [contents]
        return "\n\n".join(p if isinstance(p, str) else p.get("value", "") for p in parts)

    def validate(self, uri: str, text: str) -> list[dict[str, Any]]:
        diagnostics: list[dict[str, Any]] = self._result(op="validate", uri=uri, text=text)
        return diagnostics

    def ajv_strict(self, schema: Path) -> list[str]:
        """What Ajv in strict mode says about a schema (nothing when it compiles clean)."""
        complaints: list[str] = self._result(op="ajv", schema=str(Path(schema).resolve()))[
            "complaints"
        ]
        return complaints


def position_of(text: str, needle: str, *, occurrence: int = 1, after: int = 0) -> tuple[int, int]:
    """(line, character), 0-based, of ``after`` characters into the n-th ``needle``."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    offset += after
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)
