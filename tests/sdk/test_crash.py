"""Crashes with real processes and SIGKILL, on SQLite and PostgreSQL: the order batch
resumes where it stopped: no order is lost and no order's side effect happens twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.client import Client
from tests.support.crash_processes import (
    crash_server,
    ledger_lines,
    start_example,
    wait_for_lines,
)

ALL_ORDERS = list(range(1, 1001))


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    running = crash_server(db_url, tmp_path).start()
    yield running.url
    running.stop()


def finish(process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode()


def test_killed_example_continues_with_the_next_order(server: str, tmp_path: Path) -> None:
    url = server
    ledger = tmp_path / "ledger.txt"
    first = start_example(url, "batch-kill", ledger, delay_ms=2)
    wait_for_lines(ledger, 500, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = ledger_lines(ledger)
    assert 500 <= len(done_before) < 1000

    finish(start_example(url, "batch-kill", ledger))
    # The order in flight at the kill ran again (at least once) and its idempotency key
    # kept its effect single: every order exactly once, in order.
    assert ledger_lines(ledger) == ALL_ORDERS
    with Client(url, tenant="tenant-1") as client:
        instance = client.get_instance("batch-kill")
        assert (instance["status"], instance["output"]) == ("completed", {"processed": 1000})
        assert instance["attempts"] == 2


def test_ctrl_c_on_the_example_is_one_line_and_the_rerun_continues(
    server: str, tmp_path: Path
) -> None:
    url = server
    ledger = tmp_path / "ledger.txt"
    first = start_example(url, "batch-ctrl-c", ledger, delay_ms=2)
    wait_for_lines(ledger, 100, first)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=30)
    assert first.returncode == 130
    assert b"Traceback" not in err and b"run the same command again" in err

    finish(start_example(url, "batch-ctrl-c", ledger))
    assert ledger_lines(ledger) == ALL_ORDERS


def test_server_killed_mid_batch_is_survived(db_url: str, tmp_path: Path) -> None:
    server = crash_server(db_url, tmp_path).start()
    url = server.url
    ledger = tmp_path / "ledger.txt"
    example = start_example(url, "batch-server-kill", ledger, delay_ms=1)
    try:
        wait_for_lines(ledger, 300, example)
        server.kill()
        time.sleep(0.5)  # the server stays down a while; the example retries meanwhile
        assert example.poll() is None
        server.start()  # the same port again
        finish(example)
        assert ledger_lines(ledger) == ALL_ORDERS  # every order exactly once, in order
        with Client(url, tenant="tenant-1") as client:
            assert client.get_instance("batch-server-kill")["status"] == "completed"
            saved = client.list_checkpoints("batch-server-kill", limit=1000)
            assert [c["checkpoint_id"] for c in saved] == [
                f"durable::process_order::{n}" for n in ALL_ORDERS
            ]
    finally:
        example.kill()
        server.stop()


def test_pause_stops_at_the_next_checkpoint_and_resume_finishes(
    server: str, tmp_path: Path
) -> None:
    url = server
    ledger = tmp_path / "ledger.txt"
    example = start_example(url, "batch-pause", ledger, delay_ms=2)
    wait_for_lines(ledger, 100, example)
    with Client(url, tenant="tenant-1") as client:
        client.pause_instance("batch-pause")
        finish(example, timeout=10)
        paused_at = ledger_lines(ledger)
        assert len(paused_at) < 1000
        assert client.get_instance("batch-pause")["status"] == "suspended"
        command = ["instances", "resume", "batch-pause", "--url", url, "--tenant", "tenant-1"]
        resumed = subprocess.run(
            [sys.executable, "-m", "runtara", *command], capture_output=True, text=True, timeout=60
        )
        assert resumed.returncode == 0 and "run its script again to continue" in resumed.stderr
        finish(start_example(url, "batch-pause", ledger))
        assert ledger_lines(ledger) == ALL_ORDERS
        assert client.get_instance("batch-pause")["status"] == "completed"


def test_cancel_stops_at_the_next_checkpoint(server: str, tmp_path: Path) -> None:
    url = server
    ledger = tmp_path / "ledger.txt"
    example = start_example(url, "batch-cancel", ledger, delay_ms=2)
    wait_for_lines(ledger, 100, example)
    with Client(url, tenant="tenant-1") as client:
        client.cancel_instance("batch-cancel")
        finish(example, timeout=10)
        stopped_at = ledger_lines(ledger)
        assert len(stopped_at) < 1000 and stopped_at == list(range(1, len(stopped_at) + 1))
        assert client.get_instance("batch-cancel")["status"] == "cancelled"
        rerun = start_example(url, "batch-cancel", ledger)
        rerun.communicate(timeout=30)
        assert rerun.returncode != 0  # a cancelled instance does not start again
        assert ledger_lines(ledger) == stopped_at


def test_example_with_a_malformed_url_says_so_in_one_line(tmp_path: Path) -> None:
    example = start_example("localhost:8001", "batch-bad-url", tmp_path / "ledger.txt")
    _, err = example.communicate(timeout=30)
    assert example.returncode == 1
    assert err == b"error: runtime URL must be http(s)://host:port, got 'localhost:8001'\n"
