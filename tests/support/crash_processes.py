"""Real processes for crash tests: a ``runtara server`` and the order-batch example."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.support.polling import wait_for
from tests.support.servers import Server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "checkpoint_example.py"


def crash_server(database_url: str, workdir: Path) -> Server:
    """The crash tests' ``runtara server --dev``: real timings, a secret key, in ``workdir``."""
    return Server(
        database_url,
        workdir / "data",
        server_id="crash",
        fast=False,
        env={"RUNTARA_SECRET_KEY": "crash-tests"},
        cwd=workdir,
    )


def start_example(
    url: str,
    instance_id: str,
    ledger: Path,
    *,
    delay_ms: float = 0,
    count: int = 1000,
    command: Sequence[str] = (sys.executable, str(EXAMPLE)),
) -> subprocess.Popen[bytes]:
    """The order batch as the README runs it (``command``: its native binary instead)."""
    env = {
        **os.environ,
        "RUNTARA_URL": url,
        "ORDER_BATCH_ID": instance_id,
        "ORDER_LEDGER": str(ledger),
        "ORDER_COUNT": str(count),
        "ORDER_DELAY_MS": str(delay_ms),
    }
    return subprocess.Popen(list(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ledger_lines(ledger: Path) -> list[int]:
    if not ledger.exists():
        return []
    return [int(line) for line in ledger.read_text().splitlines() if line]


def wait_for_lines(
    ledger: Path, count: int, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    wait_for(
        lambda: len(ledger_lines(ledger)) >= count,
        timeout,
        interval=0.002,
        what=f"the ledger to reach {count} lines",
        process=process,
    )
