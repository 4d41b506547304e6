"""Ports and waiting, written once for every test and fixture.

Tests wait on something they can observe (a port that accepts, an endpoint that
answers, a status, a line in a file) through ``wait_for``, never on a fixed sleep; the
timeout only bounds how long a broken run hangs, so it is generous and not asserted on.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (bound to port 0, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 60,
    interval: float = 0.05,
    what: str = "",
    *,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    With ``process``, stop as soon as it exits (it will never become ready); ``log`` is a
    file whose tail goes into the failure message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"{_name(what, predicate)}: the process exited with "
                f"{process.returncode}{_tail(log)}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {_name(what, predicate)}{_tail(log)}")
        time.sleep(interval)


#: Statuses an instance never leaves: waiting for another one after these is a failure.
ENDED = frozenset({"completed", "failed", "cancelled"})


def wait_status(
    client: Any, instance_id: str, *statuses: str, timeout: float = 90
) -> dict[str, Any]:
    """The instance once its status is one of ``statuses``, through the management API.

    ``client`` is a ``runtara.client.Client`` or an ``httpx.Client`` on the server's base
    URL. An instance that ends in another status fails at once (with its record), rather
    than after ``timeout``.
    """

    def reached() -> dict[str, Any] | None:
        if isinstance(client, httpx.Client):
            answer = client.get(f"/v1/instances/{instance_id}")
            if answer.status_code != 200:
                return None
            state: dict[str, Any] = answer.json()
        else:
            state = client.get_instance(instance_id)
        assert state["status"] not in ENDED - set(statuses), state
        return state if state["status"] in statuses else None

    found: dict[str, Any] = wait_for(
        reached, timeout, what=f"{instance_id} to become {' or '.join(statuses)}"
    )
    return found


def answers(url: str, verify: Any = True) -> bool:
    """Whether an HTTP server answers ``url`` at all (any status)."""
    try:
        httpx.get(url, timeout=1, verify=verify)
    except httpx.TransportError:
        return False
    return True


def healthy(url: str) -> bool:
    """Whether a runtara server at ``url`` answers ``/health`` with 200."""
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _name(what: str, predicate: Callable[[], Any]) -> str:
    return what or getattr(predicate, "__name__", repr(predicate))


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return f"\n{log.read_text(errors='replace')[-2000:]}"
