"""Real ``runtara server`` processes (the one way tests start one), and ways to look at them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from runtara.client import Client
from tests.support.polling import free_port, healthy, wait_for, wait_status

__all__ = ["FAST_ENV", "Server", "effects", "environment", "free_port", "wait_for", "wait_status"]

ROOT = Path(__file__).resolve().parents[2]

PROGRAMS = Path(__file__).parent / "programs"
WORKER = PROGRAMS / "worker.py"

#: Fast settings so crash, cancel and wake paths show within a test's patience.
FAST_ENV = {
    "RUNTARA_RESTART_BACKOFF_SECONDS": "0.2",
    "RUNTARA_CANCEL_GRACE_SECONDS": "1",
    "RUNTARA_LEASE_SECONDS": "5",
    "RUNTARA_POLL_SECONDS": "0.1",
}


def environment() -> dict[str, str]:
    """This process's environment without RUNTARA_* settings, importing this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Server:
    """``runtara server --dev`` in a child process; ``kill()`` is SIGKILL, ``start()`` again
    (on the same port, so clients keep their URL).

    ``fast`` applies ``FAST_ENV`` (short backoff, grace, lease and poll); ``args`` are
    extra command-line arguments; ``cwd`` is where the server runs.
    """

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        server_id: str,
        env: dict[str, str] | None = None,
        dev: bool = True,
        host: str = "127.0.0.1",
        fast: bool = True,
        args: tuple[str, ...] = (),
        cwd: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.dev = dev
        self.host = host
        self.database_url = database_url
        self.data_dir = data_dir
        self.args = args
        self.cwd = cwd
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **environment(),
            **(FAST_ENV if fast else {}),
            "RUNTARA_DATA_DIR": str(data_dir),
            "RUNTARA_SERVER_ID": server_id,
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"server-{server_id}.log"

    def start(self, timeout: float = 90) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runtara",
                    "server",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--database-url",
                    self.database_url,
                    *(["--dev"] if self.dev else []),
                    *self.args,
                ],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        wait_for(
            lambda: healthy(self.url),
            timeout,
            what=f"the server at {self.url} to answer /health",
            process=self.process,
            log=self.log,
        )
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def scheduler_passes(self) -> int:
        """How many claim passes the server's scheduler has completed (from /metrics)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        match = re.search(r"^runtara_scheduler_passes_total (\S+)$", text, re.M)
        assert match, "the server exports no runtara_scheduler_passes_total"
        return int(float(match[1]))

    def wait_scheduler_passes(self, count: int = 3) -> None:
        """Wait until the scheduler has looked ``count`` more times at what is due: what
        has not started by then was not going to (in place of sleeping a while)."""
        target = self.scheduler_passes() + count
        wait_for(lambda: self.scheduler_passes() >= target, what=f"{count} scheduler passes")

    def client(self, tenant: str | None = None, api_key: str | None = None) -> Client:
        """Tenant ``t1`` on a --dev server; with a tenant API key, that key's tenant."""
        return Client(self.url, api_key, tenant=tenant or (None if api_key else "t1"))


def instance_pids(instance_id: str, url: str | None = None) -> list[int]:
    """Processes on this machine whose environment names the instance (its live processes);
    with ``url``, only those of the server there (other test runs may use the same ids)."""
    marker = f"RUNTARA_INSTANCE_ID={instance_id}".encode()
    server = f"RUNTARA_URL={url}".encode() if url else None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker in environ and state != "Z" and (server is None or server in environ):
            found.append(int(entry.name))
    return found


def effects(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split()]
