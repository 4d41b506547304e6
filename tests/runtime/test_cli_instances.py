"""``runtara instances ...`` against a real service, as a user runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.runtime.embedded import EmbeddedRuntime
from runtara.sdk import Runtara


@pytest.fixture
def runtime(db_url: str) -> Iterator[EmbeddedRuntime]:
    with EmbeddedRuntime(db_url) as running:
        yield running


def cli(
    runtime: EmbeddedRuntime, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "instances",
            *args,
            "--url",
            runtime.url,
            "--tenant",
            "tenant-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def runtara(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_get_pause_cancel_and_output(runtime: EmbeddedRuntime) -> None:
    rt = Runtara("job-1", "tenant-1", url=runtime.url).register()
    rt.checkpoint("step-1", {"ok": True})
    shown = json.loads(cli(runtime, "get", "job-1", "--format", "json").stdout)
    assert {k: shown[k] for k in ("id", "status", "output", "error")} == {
        "id": "job-1",
        "status": "running",
        "output": None,
        "error": None,
    }
    assert (
        json.loads(cli(runtime, "pause", "job-1", "--format", "json").stdout)["pending_signal"]
        == "pause"
    )
    assert (
        json.loads(cli(runtime, "resume", "job-1", "--format", "json").stdout)["pending_signal"]
        is None
    )
    checkpoints = json.loads(cli(runtime, "checkpoints", "job-1", "--format", "json").stdout)
    assert [c["checkpoint_id"] for c in checkpoints] == ["step-1"]
    sent = cli(runtime, "signal", "job-1", "approve", "--payload", '{"by": "ana"}')
    assert sent.returncode == 0
    assert rt.checkpoint("approve", None).custom_signal == {"by": "ana"}
    assert cli(runtime, "cancel", "job-1").returncode == 0
    assert rt.checkpoint("step-2", None).should_cancel
    out = json.loads(cli(runtime, "output", "job-1", "--format", "json").stdout)
    assert out["status"] == "cancelled"
    kinds = [
        e["event_type"]
        for e in json.loads(cli(runtime, "events", "job-1", "--format", "json").stdout)
    ]
    assert kinds == [
        "started",
        "pause_requested",
        "resume_requested",
        "signal_sent",
        "cancel_requested",
        "cancelled",
    ]


def test_errors_are_one_line_without_traceback(runtime: EmbeddedRuntime) -> None:
    missing = cli(runtime, "get", "nope")
    assert missing.returncode == 1
    assert "instance 'nope' not found" in missing.stderr and "Traceback" not in missing.stderr
    bad_json = cli(runtime, "signal", "nope", "step", "--payload", "{")
    assert bad_json.returncode == 2 and "--payload: invalid JSON at 1:2" in bad_json.stderr


def test_list_filters_by_a_known_status_and_refuses_an_unknown_one(
    runtime: EmbeddedRuntime,
) -> None:
    Runtara("job-done", "tenant-1", url=runtime.url).register().completed({"ok": True})
    Runtara("job-running", "tenant-1", url=runtime.url).register()
    listed = json.loads(cli(runtime, "list", "--status", "completed", "--format", "json").stdout)
    assert [i["id"] for i in listed] == ["job-done"]
    unknown = cli(runtime, "list", "--status", "finished")
    assert unknown.returncode == 2 and "'finished' is not one of 'pending'" in unknown.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:1", "runtime at http://127.0.0.1:1 is unreachable"),
        ("127.0.0.1:8001", "runtime URL '127.0.0.1:8001' is not valid"),
        ("http://[::1", "runtime URL 'http://[::1' is not valid"),
    ],
)
def test_a_bad_or_unreachable_url_is_one_line(url: str, message: str) -> None:
    result = runtara("instances", "list", "--url", url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {message}") and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user:pw@host/db", "unsupported database URL 'mysql://user:***@host/db'"),
        ("postgresql://user:pw@127.0.0.1:1/db", "cannot open postgresql://user:***@127.0.0.1:1/db"),
        ("sqlite:////proc/no-such-folder/x.db", "cannot open sqlite:////proc/no-such-folder/x.db"),
    ],
)
def test_server_reports_an_unusable_database_in_one_line(url: str, message: str) -> None:
    result = runtara("server", "--port", "0", "--database-url", url)
    assert result.returncode == 1
    assert (
        message in result.stderr and "Traceback" not in result.stderr and "pw" not in result.stderr
    )


def test_dev_server_on_a_sqlite_path_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").touch()
    url = f"sqlite:///{tmp_path}/a-file/x.db"
    result = runtara("server", "--port", "0", "--dev", "--database-url", url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open {url}: cannot keep the dev secret key")
    assert len(result.stderr.splitlines()) == 1


def test_server_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runtara("server", "--port", str(port), "--dev")
    assert result.returncode == 1
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "'abc' is not a whole number"), ("-5", "'-5' must be above 0")],
)
def test_server_refuses_a_bad_state_limit_naming_the_variable(value: str, message: str) -> None:
    result = runtara(
        "server", "--port", "0", "--dev", env={**os.environ, "RUNTARA_MAX_STATE_BYTES": value}
    )
    assert result.returncode == 2
    assert result.stderr == f"error: invalid setting: RUNTARA_MAX_STATE_BYTES={message}\n"


@pytest.mark.parametrize("columns", ["80", "40"])
def test_tables_never_cut_an_id_piped_or_on_a_narrow_terminal(
    runtime: EmbeddedRuntime, columns: str
) -> None:
    """Ids are for copying: each row is one line holding every id whole, even when the
    table is wider than the terminal (the table is then wider, not cut or wrapped)."""
    ids = [f"order-import-{n}-2026-12-04T18-00-00-with-a-long-correlation-suffix" for n in (1, 2)]
    checkpoint = "orders/split[12]/fetch-customer-details-from-the-crm/attempt-3"
    for instance_id in ids:
        rt = Runtara(instance_id, "tenant-1", url=runtime.url).register()
        rt.checkpoint(checkpoint, {"ok": True})
    env = {**os.environ, "COLUMNS": columns}
    listed = cli(runtime, "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [_cells(line) for line in listed.stdout.splitlines() if "order-import-" in line]
    assert sorted(row[0] for row in rows) == sorted(ids)  # one line each, whole
    assert all(row[1] == "running" for row in rows)
    saved = cli(runtime, "checkpoints", ids[0], env=env)
    assert saved.returncode == 0, saved.stderr
    (row,) = [_cells(line) for line in saved.stdout.splitlines() if "orders/" in line]
    assert row[1] == checkpoint


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│").split("│")]
