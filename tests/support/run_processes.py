"""Running ``runtara run`` (and ``runtara server --dev``) as real processes in a temp dir."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def environment() -> dict[str, str]:
    """This process's environment without RUNTARA_* settings, importing this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def dev_server(tmp_path: Path, *, dev: bool = True, **env_vars: str) -> Iterator[str]:
    """``runtara server --dev`` (or, with ``dev=False``, a server that wants API keys)
    on a free port and a temp SQLite database; ``env_vars`` are added to its environment."""
    port = free_port()
    env = {**environment(), **env_vars}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtara",
            "server",
            *(["--dev"] if dev else []),
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'server.db'}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
