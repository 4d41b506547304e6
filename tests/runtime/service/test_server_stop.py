"""Stopping ``runtara server``: it says what it waits for, and an idle one stops at once
(the time is printed, measured here; speed limits belong in benchmarks)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runtara.client import Client
from runtara.runtime.server import stopping_message
from tests.support.polling import free_port
from tests.support.servers import WORKER, environment, instance_pids, wait_for


def _start(cwd: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runtara", "server", "--dev", "--port", str(port)],
        cwd=cwd,
        env=environment(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    ready = process.stderr.readline()
    assert ready.startswith("runtara server on "), ready
    return process, f"http://127.0.0.1:{port}"


def _interrupt(process: subprocess.Popen[str]) -> tuple[list[str], float]:
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    took = time.monotonic() - began
    print(f"runtara server stopped {took:.3f} s after Ctrl-C")
    return rest.splitlines(), took


def test_an_idle_server_says_it_waits_for_nothing_and_stops(tmp_path: Path) -> None:
    process, url = _start(tmp_path)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))):  # an idle connection: not waited for
        lines, _took = _interrupt(process)
    assert lines == [
        "stopping: no request in flight, nothing to wait for",
        "runtara server stopped",
    ]
    assert process.returncode == 130  # interrupted, as the exit-code table says


def test_a_stopping_server_names_the_instance_processes_it_leaves_running(
    tmp_path: Path,
) -> None:
    process, url = _start(tmp_path)
    out = tmp_path / "effects.txt"
    try:
        with Client(url, tenant="t1") as client:
            client.register_image("worker", command=[sys.executable, str(WORKER)])
            client.start_instance(
                "worker", {"items": 600, "effects": str(out), "delay": 0.1}, instance_id="long"
            )
            wait_for(lambda: out.exists() and out.read_text(), what="the first step")
        lines, _took = _interrupt(process)
        # the instance may be checkpointing at that moment: then that request is waited for
        assert re.fullmatch(
            r"stopping: (no request in flight, nothing to wait for|waiting for 1 request in "
            r"flight \(5 s at most\)); 1 instance process keeps running \(a server started "
            r"again adopts it\)(; Ctrl-C again to stop at once)?",
            lines[0],
        ), lines
        assert lines[-1] == "runtara server stopped"
        assert instance_pids("long", url)  # left running, for the next server to adopt
    finally:
        if process.poll() is None:
            process.kill()
        for pid in instance_pids("long", url):
            os.kill(pid, signal.SIGKILL)


def test_a_request_in_flight_is_named_and_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    """A client that sent half of its request body: the server says it waits for it."""
    process, url = _start(tmp_path)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(
            b"POST /v1/instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"image": '
        )
        # the server has read those headers once it answers a request sent after them
        assert httpx.get(f"{url}/health").status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        said = process.stderr.readline().rstrip("\n")
        assert said == (
            "stopping: waiting for 1 request in flight (5 s at most); Ctrl-C again to stop at once"
        )
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode != 0


def test_requests_in_flight_are_named_with_the_grace_period() -> None:
    assert stopping_message(requests=2, processes=3, grace_s=5) == (
        "stopping: waiting for 2 requests in flight (5 s at most); 3 instance processes keep "
        "running (a server started again adopts them); Ctrl-C again to stop at once"
    )
