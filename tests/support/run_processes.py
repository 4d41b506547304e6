"""Running ``runtara run`` (and ``runtara server --dev``) as real processes in a temp dir."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.polling import free_port
from tests.support.servers import Server, environment

__all__ = ["dev_server", "environment", "free_port", "runtara", "start_run", "write_json"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def runtara(
    cwd: Path, *args: str, timeout: float = 120, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``runtara ARGS`` in ``cwd``; ``url`` sets RUNTARA_URL (for the management commands)."""
    env = environment()
    if url is not None:
        env["RUNTARA_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Running:
    """A ``runtara run`` in progress; ``url`` is its embedded runtime (read from stderr)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.url = ""
        assert process.stderr is not None
        for line in process.stderr:
            self.lines.append(line)
            match = re.search(r" on (http://\S+) ", line)
            if match:
                self.url = match.group(1)
                break
        assert self.url, "".join(self.lines)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def wait_for(self, text: str) -> None:
        """Read stderr until a line holding ``text`` (kept in ``lines``)."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no line with {text!r}:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 60) -> tuple[str, str]:
        stdout, stderr = self.process.communicate(timeout=timeout)
        return stdout, "".join(self.lines) + stderr


@contextmanager
def start_run(cwd: Path, *args: str) -> Iterator[Running]:
    env = environment()
    process = subprocess.Popen(
        [sys.executable, "-m", "runtara", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Running(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return f"@{path}"


def bearer(tmp_path: Path, name: str, base_url: str, token: str = "t0ken-for-tests") -> str:
    """A ``--connection NAME=@file`` argument for an http_bearer connection."""
    body = {"integrationId": "http_bearer", "parameters": {"token": token, "base_url": base_url}}
    return f"{name}={write_json(tmp_path / f'{name}.json', body)}"


@contextmanager
def dev_server(tmp_path: Path, *, dev: bool = True, **env_vars: str) -> Iterator[str]:
    """``runtara server --dev`` (or, with ``dev=False``, a server that wants API keys)
    on a free port and a temp SQLite database; ``env_vars`` are added to its environment."""
    server = Server(
        f"sqlite:///{tmp_path / 'server.db'}",
        tmp_path / ".data",
        server_id="dev",
        env=env_vars,
        dev=dev,
        fast=False,
        cwd=tmp_path,
    )
    server.start(timeout=120)  # only bounds a broken start; a loaded CI machine is slow
    try:
        yield server.url
    finally:
        server.stop()
