"""``runtara run`` answers its instance from the store over a socket (no HTTP server):
each answer must be the one the HTTP service gives to the same request, errors included.

The same requests go to a real embedded ``runtara`` service (HTTP) and to an
``InstanceChannel`` over another store; statuses and bodies are compared, apart from
clock readings. A last test runs an instance process over the channel's socket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.local.channel import InstanceChannel
from runtara.runtime.settings import Settings
from runtara.runtime.store import instances, open_store

BASE = "/v1/instance/default/inst-1"
MAX_STATE = 4096

#: (method, path under BASE, content type, body); run in this order on both.
REQUESTS: list[tuple[str, str, str | None, bytes | None]] = [
    ("GET", "", None, None),  # not registered yet: 404
    ("POST", "/register", None, None),
    ("GET", "", None, None),
    ("POST", "/checkpoints/k1", "application/json", b'{"a": 1}'),
    ("POST", "/checkpoints/k1", "application/json", b'{"a": 2}'),
    ("GET", "/checkpoints/k1", None, None),
    ("GET", "/checkpoints/missing", None, None),
    ("POST", "/checkpoints/a%2Fb", "application/octet-stream", b"\x00\x01"),
    ("GET", "/checkpoints/a%2Fb", None, None),
    ("POST", "/checkpoints/nan", "application/json", b'{"a": NaN}'),
    ("POST", "/checkpoints/bad", "application/json", b"{oops"),
    ("POST", "/checkpoints/big", "application/octet-stream", b"x" * (MAX_STATE + 1)),
    ("POST", "/heartbeat", None, None),
    ("POST", "/events", "application/json", b'{"events": [{"subtype": "s", "payload": {"x": 1}}]}'),
    ("POST", "/events", "application/json", b'{"events": "no"}'),
    ("POST", "/events", "application/json", b"not json"),
    ("POST", "/retries", "application/json", b'{"key": "k1", "attempt": 1, "error": "e"}'),
    ("POST", "/retries", "application/json", b'{"key": "k1", "attempt": 0}'),
    ("POST", "/sleep", "application/json", b'{"key": "nap", "duration_ms": 0}'),
    ("POST", "/sleep", "application/json", b'{"key": "nap", "duration_ms": -1}'),
    ("POST", "/signals/w/poll", None, None),
    ("POST", "/signals/w/wait", "application/json", b'{"timeout_ms": 0}'),
    ("POST", "/signals/ack", "application/json", b'{"signal": "bogus"}'),
    (
        "POST",
        "/checkpoints",
        "application/json",
        b'{"checkpoints": [{"key": "b1", "state": "e30=", "content_type": "application/json"}]}',
    ),
    (
        "POST",
        "/checkpoints",
        "application/json",
        b'{"checkpoints": [{"key": "b2", "state": "AA=="}, {"key": "k1", "state": "e30="}]}',
    ),
    (
        "POST",
        "/checkpoints",
        "application/json",
        b'{"checkpoints": [{"key": "b3", "state": "not base64!"}]}',
    ),
    ("POST", "/checkpoints", "application/json", b'{"checkpoints": "no"}'),
    ("GET", "/checkpoints?after=0&limit=2", None, None),
    # (later pages hold the sleep's and the wait's clock readings)
    ("GET", "/checkpoints?limit=0", None, None),
    ("GET", "/checkpoints?after=x", None, None),
    ("GET", "/connections/none", None, None),  # answered by the app itself
    ("POST", "/failed", "application/json", b'{"error": null}'),
    ("POST", "/completed", "application/json", b'{"output": {"done": true}}'),
    ("POST", "/checkpoints/late", "application/json", b"{}"),  # ended: refused
    ("POST", "/register", None, None),
    ("POST", "/nowhere", None, None),
]

#: Clock readings differ between the two runs.
VOLATILE = {"wake_at", "remaining_ms"}


def _comparable(status: int, body: bytes) -> tuple[int, Any]:
    try:
        document = json.loads(body) if body else None
    except ValueError:
        return status, body
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if k not in VOLATILE}
    return status, document


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RUNTARA_MAX_STATE_BYTES", str(MAX_STATE))
    return Settings.from_env(database_url=f"sqlite:///{tmp_path / 'channel.db'}", dev=True)


def test_every_answer_is_the_http_services_answer(tmp_path: Path, settings: Settings) -> None:
    over_http = []
    with (
        EmbeddedRuntime(f"sqlite:///{tmp_path / 'http.db'}") as runtime,
        httpx.Client(base_url=runtime.url) as client,
    ):
        for method, path, content_type, body in REQUESTS:
            headers = {"content-type": content_type} if content_type else {}
            answer = client.request(method, BASE + path, content=body, headers=headers)
            over_http.append(_comparable(answer.status_code, answer.content))

    store = open_store(settings.database_url, secret_key=settings.effective_secret_key())
    channel = InstanceChannel(store, settings, "default", "inst-1")
    try:
        direct = []
        for method, path, content_type, body in REQUESTS:
            header = {"method": method, "path": BASE + path, "content_type": content_type}
            direct.append(_comparable(*channel.answer(header, body or b"")))
    finally:
        channel.close()
        store.close()

    for request, http_answer, channel_answer in zip(REQUESTS, over_http, direct, strict=True):
        assert channel_answer == http_answer, request[:2]
    statuses = {status for status, _ in direct}
    assert {200, 404, 409, 413, 422} <= statuses  # the list exercises the refusals too


def test_an_instance_process_runs_over_the_socket(tmp_path: Path, settings: Settings) -> None:
    program = tmp_path / "instance.py"
    program.write_text(
        "from runtara.sdk import Runtara\n"
        "rt = Runtara.from_env().register()\n"
        "first = rt.checkpoint('one', {'n': 1})\n"
        "again = rt.checkpoint('one', {'n': 2})\n"
        "rt.event('seen', {'found': again.existing_state is not None})\n"
        "rt.completed({'input': rt.input, 'stored': again.existing_state})\n"
    )
    store = open_store(settings.database_url, secret_key=settings.effective_secret_key())
    channel = InstanceChannel(store, settings, "default", "proc-1").start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "RUNTARA_URL": channel.url,
        "RUNTARA_INSTANCE_ID": "proc-1",
        "RUNTARA_TENANT_ID": "default",
        "RUNTARA_INPUT": json.dumps({"x": 1}),
    }
    try:
        process = subprocess.Popen(
            [sys.executable, str(program)], env=env, pass_fds=(channel.child_fd,)
        )
        channel.started_child()
        assert process.wait(timeout=60) == 0
        found = store.run(instances.get_instance, "default", "proc-1")
    finally:
        channel.close()
        store.close()
    assert found.status == "completed"
    assert found.output == {"input": {"x": 1}, "stored": {"n": 1}}
