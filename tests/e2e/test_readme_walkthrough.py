"""The README's server walkthroughs, run as a new user runs them: from a working
directory of the user's own (a copy of ``examples/``), with default settings -- the
data directory and SQLite database are the relative defaults under ``.data`` -- on
SQLite and on PostgreSQL (``RUNTARA_DATABASE_URL``). Only the port is chosen, with the
``--port`` flag, so parallel tests do not collide."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import DIALECTS, postgres_schema_url
from tests.support.polling import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


class User:
    """A shell in ``home``: runs ``runtara`` and ``python`` with the user's environment."""

    def __init__(self, home: Path, url: str, env: dict[str, str]) -> None:
        self.home = home
        self.env = {**env, "RUNTARA_URL": url}

    def runtara(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtara", *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str) -> Any:
        done = self.runtara(*args, "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def python(self, script: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, script],
            cwd=self.home,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _environment(database_url: str | None) -> dict[str, str]:
    """The test runner's environment without any RUNTARA_* setting: the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_")}
    if database_url:
        env["RUNTARA_DATABASE_URL"] = database_url
    return env


@pytest.fixture(params=DIALECTS)
def user(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[User]:
    """``runtara server --dev --port P`` started in the user's own directory."""
    home = tmp_path / "home"
    shutil.copytree(ROOT / "examples", home / "examples")
    fresh_schema = postgres_schema_url() if request.param == "postgresql" else None
    with fresh_schema or contextlib.nullcontext() as database_url:
        env = _environment(database_url)
        port = free_port()
        log = (tmp_path / "server.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "runtara", "server", "--dev", "--port", str(port)],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _healthy(url, server), what=f"the server on {url}")
            yield User(home, url, env)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            log.close()


def _healthy(url: str, server: subprocess.Popen[bytes]) -> bool:
    if server.poll() is not None:
        raise AssertionError(f"the server exited with status {server.returncode}")
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_checkpointed_batch_survives_a_kill(user: User) -> None:
    """``python examples/checkpoint_example.py``, killed half way, run again."""
    ledger = user.home / ".data" / "order-ledger.txt"  # the example's default
    first = user.python("examples/checkpoint_example.py", ORDER_DELAY_MS="1")
    wait_for(lambda: _count(ledger) >= 300 or first.poll() is not None, what="300 orders done")
    first.send_signal(signal.SIGKILL)
    first.wait()
    rerun = user.python("examples/checkpoint_example.py", ORDER_DELAY_MS="1")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "all 1000 orders processed" in err
    assert ledger.read_text().split() == [str(n) for n in range(1, 1001)]
    shown = user.json("instances", "get", "order-batch-001", "--tenant", "tenant-1")
    assert (shown["status"], shown["output"]) == ("completed", {"processed": 1000})


def test_workflow_image_runs_on_default_settings(user: User) -> None:
    """The "Operate instances" block: register a JSON workflow, start it, read it back."""
    registered = user.runtara(
        "images", "register", "orders", "--tenant", "acme", "--workflow", "examples/hello.json"
    )
    assert registered.returncode == 0, registered.stderr
    started = user.json(
        "instances", "start", "orders", "--tenant", "acme", "--input", '{"name": "ada"}'
    )
    instance_id = started["id"]
    done = wait_for(
        lambda: (
            (i := user.json("instances", "get", instance_id, "--tenant", "acme"))["status"]
            in ("completed", "failed")
            and i
        ),
        timeout=120,
        what=f"{instance_id} to finish",
    )
    logs = user.runtara("instances", "logs", instance_id, "--tenant", "acme")
    assert done["status"] == "completed", logs.stdout + logs.stderr
    assert done["output"] == {"message": "Hello, Ada!", "language": "en"}
    listed = user.runtara("instances", "list", "--tenant", "acme")
    assert listed.returncode == 0 and instance_id in listed.stdout


def _count(ledger: Path) -> int:
    return len(ledger.read_text().split()) if ledger.exists() else 0
