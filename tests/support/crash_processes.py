"""Real processes for crash tests: a ``runtara server`` and the order-batch example."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "checkpoint_example.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database_url: str, port: int, workdir: Path, *args: str
) -> subprocess.Popen[bytes]:
    """``runtara server --dev`` on ``port``; returns once ``/health`` answers."""
    log = open(workdir / f"server-{port}.log", "ab")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtara",
            "server",
            "--dev",
            "--port",
            str(port),
            "--database-url",
            database_url,
            *args,
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUNTARA_SECRET_KEY": "crash-tests"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not become healthy within 30 s")


def start_example(
    url: str, instance_id: str, ledger: Path, *, delay_ms: float = 0, count: int = 1000
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RUNTARA_URL": url,
        "ORDER_BATCH_ID": instance_id,
        "ORDER_LEDGER": str(ledger),
        "ORDER_COUNT": str(count),
        "ORDER_DELAY_MS": str(delay_ms),
    }
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def ledger_lines(ledger: Path) -> list[int]:
    if not ledger.exists():
        return []
    return [int(line) for line in ledger.read_text().splitlines() if line]


def wait_for_lines(
    ledger: Path, count: int, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while len(ledger_lines(ledger)) < count:
        if process.poll() is not None:
            raise AssertionError(
                f"process ended early ({process.returncode}): {process.stderr and process.stderr.read()!r}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"ledger did not reach {count} lines in {timeout} s")
        time.sleep(0.002)
