"""``runtara run`` and ``runtara codegen`` as a user meets them: bad input is one clear
line and exit 1, Ctrl-C then a rerun with the same ``--id`` resumes, a compiled output
directory runs its binary."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.support.polling import wait_for
from tests.support.run_processes import (
    EXAMPLES,
    dev_server,
    environment,
    runtara,
    start_run,
    write_json,
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "{oops"], "error: --input: invalid JSON at 1:2"),
        (
            ["--input", "@missing.json"],
            "error: --input @missing.json: cannot read: No such file or directory",
        ),
        (["--connection", "api"], "error: --connection 'api': expected ID=@FILE.json"),
        (["--connection", "api=conn.json"], "error: --connection 'api=conn.json': expected ID="),
        (
            ["--connection", "api=@nowhere.json"],
            "error: --connection api @nowhere.json: cannot read: No such file or directory",
        ),
        (["--connection", "api=@notjson.json"], "error: --connection api @notjson.json: invalid"),
        (
            ["--connection", "api=@conn.json"],
            'the file must hold {"integrationId": "...", "parameters": {...}}',
        ),
        (
            ["--connection", "api=@unknown.json"],
            "error: --connection api: unknown integration_id 'ftp'; known: http_api_key,",
        ),
        (
            ["--connection", "api=@incomplete.json"],
            "error: --connection api: http_bearer: parameter 'token' is required",
        ),
        (["--id", "../../etc"], "error: --id '../../etc': use 1-200 letters, digits and"),
        (["--id", "a b"], "error: --id 'a b': use 1-200 letters"),
        (["--server", "localhost:8001"], "error: --server 'localhost:8001': expected an http://"),
        (["--server", "http://127.0.0.1:9"], "error: runtime at http://127.0.0.1:9 is unreachable"),
        (["--child", "nochild.json"], "nochild.json:1:1: S000 cannot read file"),
    ],
)
def test_bad_arguments_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    write_json(tmp_path / "conn.json", {"token": "x"})
    write_json(tmp_path / "unknown.json", {"integrationId": "ftp", "parameters": {}})
    write_json(tmp_path / "incomplete.json", {"integrationId": "http_bearer", "parameters": {}})
    (tmp_path / "notjson.json").write_text("{token")
    done = runtara(tmp_path, "run", str(EXAMPLES / "hello.json"), *args)
    assert done.returncode in (1, 2)
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / ".data" / "runs" / "etc").exists()  # an id never names a path


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {**environment(), "RUNTARA_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    done = subprocess.run(
        [sys.executable, "-m", "runtara", "run", str(EXAMPLES / "hello.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: cannot open postgresql://nobody@127.0.0.1:9/none")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_unreadable_workflow_exits_2_as_validate_does(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"entryPoint": ')
    for command in ("run", "codegen"):
        for name in ("broken.json", "missing.json"):
            done = runtara(tmp_path, command, name)
            assert done.returncode == 2, done.stderr
            assert done.stderr.startswith(f"{name}:1:"), done.stderr
            assert "S000" in done.stderr and "Traceback" not in done.stderr


def test_invalid_workflow_reports_every_problem(tmp_path: Path) -> None:
    document = {
        "entryPoint": "nope",
        "steps": {"a": {"stepType": "Finish", "id": "a", "name": "x"}},
    }
    (tmp_path / "bad.json").write_text(json.dumps(document, indent=2))
    for command in ("run", "codegen"):
        done = runtara(tmp_path, command, "bad.json")
        assert done.returncode == 1
        assert "bad.json:2:17: E001" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_codegen_writes_a_module(tmp_path: Path) -> None:
    done = runtara(tmp_path, "codegen", str(EXAMPLES / "hello.json"), "-o", "hello.py")
    assert done.returncode == 0, done.stderr
    source = (tmp_path / "hello.py").read_text()
    compile(source, "hello.py", "exec")
    assert "def graph_main(run: flow.Run, sc: flow.Scope) -> Any:" in source


def test_failed_run_names_the_step(tmp_path: Path) -> None:
    document = {
        "entryPoint": "stop",
        "steps": {
            "stop": {
                "stepType": "Error",
                "id": "stop",
                "category": "permanent",
                "code": "NO",
                "message": "nope",
            }
        },
    }
    (tmp_path / "wf.json").write_text(json.dumps(document))
    done = runtara(tmp_path, "run", "wf.json")
    assert done.returncode == 1
    assert "failed: step 'stop' failed: nope" in done.stderr


DELAYED = {
    "name": "delayed",
    "entryPoint": "ping",
    "steps": {
        "ping": {
            "stepType": "Agent",
            "id": "ping",
            "agentId": "http",
            "capabilityId": "http-request",
            "inputMapping": {"url": {"valueType": "reference", "value": "data.url"}},
        },
        "nap": {
            "stepType": "Delay",
            "id": "nap",
            "durationMs": {"valueType": "immediate", "value": 3000},
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {
                "pong": {"valueType": "reference", "value": "steps.ping.outputs.body"}
            },
        },
    },
    "executionPlan": [{"fromStep": "ping", "toStep": "nap"}, {"fromStep": "nap", "toStep": "done"}],
}


def test_ctrl_c_then_rerun_resumes(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ping").respond_with_json("pong")
    (tmp_path / "wf.json").write_text(json.dumps(DELAYED))
    args = (
        "run",
        "wf.json",
        "--id",
        "nap-1",
        "--input",
        json.dumps({"url": httpserver.url_for("/ping")}),
    )
    with start_run(tmp_path, *args) as running:
        running.wait_for("sleeping")
        started_sleep = time.monotonic()
        twice = runtara(tmp_path, *args)  # the same instance, while the first run holds it
        assert twice.returncode == 1
        assert "instance nap-1 is being run by another `runtara run` here" in twice.stderr
        running.process.send_signal(signal.SIGINT)
        _, stderr = running.finish()
    assert running.returncode == 130
    assert "interrupted; rerun with --id nap-1 to resume" in stderr

    done = runtara(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"pong": "pong"}
    assert time.monotonic() - started_sleep >= 3.0  # the delay was kept, not restarted or skipped
    assert len(httpserver.log) == 1  # the step before the delay did not run again


def test_run_a_compiled_output_directory(tmp_path: Path) -> None:
    """``runtara run DIR`` runs DIR's binary (here a stand-in executable for the Nuitka one)."""
    out = tmp_path / "out"
    (out / "bin").mkdir(parents=True)
    generated = runtara(
        tmp_path, "codegen", str(EXAMPLES / "hello.json"), "-o", str(out / "hello.py")
    )
    assert generated.returncode == 0, generated.stderr
    binary = out / "bin" / "runtara-workflow"
    binary.write_text(f"#!/bin/sh\nexec {sys.executable} {out / 'hello.py'}\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    build = {
        "workflow": "hello",
        "version": "1",
        "tag": "hello:1",
        "source": "hello.py",
        "binary": "bin/runtara-workflow",
        "image": "image.tar",
        "image_digest": "",
        "image_config_digest": "",
        "image_size": 0,
        "memory_tier": "XL",
        "runtara_version": "0",
    }
    (out / "build.json").write_text(json.dumps(build))
    done = runtara(tmp_path, "run", str(out), "--input", '{"name": "ada"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hello, Ada!", "language": "en"}

    (out / "build.json").unlink()
    done = runtara(tmp_path, "run", str(out))
    assert done.returncode == 1
    assert "not a `runtara compile` output (no build.json)" in done.stderr


CALLS_API = {
    "name": "calls-api",
    "entryPoint": "get",
    "steps": {
        "get": {
            "stepType": "Agent",
            "id": "get",
            "agentId": "http",
            "capabilityId": "http-request",
            "connectionId": "api",
            "inputMapping": {"url": {"valueType": "immediate", "value": "/who"}},
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {"who": {"valueType": "reference", "value": "steps.get.outputs.body"}},
        },
    },
    "executionPlan": [{"fromStep": "get", "toStep": "done"}],
}


def test_connection_files_reach_a_server_and_replace_what_it_held(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """``--connection`` with ``--server``: stored through the management API (checked
    there), and a file of another type replaces the stored connection."""
    httpserver.expect_request("/who", headers={"Authorization": "Bearer one"}).respond_with_json(
        "bearer"
    )
    httpserver.expect_request("/who", headers={"X-API-Key": "two"}).respond_with_json("key")
    (tmp_path / "wf.json").write_text(json.dumps(CALLS_API))
    base = httpserver.url_for("/")
    bearer = {"integrationId": "http_bearer", "parameters": {"token": "one", "base_url": base}}
    api_key = {"integrationId": "http_api_key", "parameters": {"api_key": "two", "base_url": base}}
    with dev_server(tmp_path) as url:
        for body, expected in ((bearer, "bearer"), (api_key, "key")):
            connection = f"api={write_json(tmp_path / 'api.json', body)}"
            done = runtara(tmp_path, "run", "wf.json", "--server", url, "--connection", connection)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == {"who": expected}
        stored = httpx.get(f"{url}/v1/connections/api", headers={"X-Runtara-Tenant": "default"})
        assert stored.json()["integration_id"] == "http_api_key"


def _processes_running(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_sigterm_stops_the_instance_process_too(tmp_path: Path, httpserver: HTTPServer) -> None:
    """``timeout 60 runtara run ...`` (SIGTERM) must not leave the instance running
    without its runtime; the rerun resumes after the step that had finished."""
    httpserver.expect_request("/ping").respond_with_json("pong")
    (tmp_path / "wf.json").write_text(json.dumps(DELAYED))
    args = ("run", "wf.json", "--id", "term-1", "--input")
    args += (json.dumps({"url": httpserver.url_for("/ping")}),)
    with start_run(tmp_path, *args) as running:
        running.wait_for("sleeping")
        running.process.send_signal(signal.SIGTERM)
        _, stderr = running.finish()
    assert "interrupted; rerun with --id term-1 to resume" in stderr
    module = ".data/runs/default/term-1/workflow.py"  # the instance process's argument
    wait_for(lambda: not _processes_running(module), 10, what="the instance process to end")

    done = runtara(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert len(httpserver.log) == 1


def test_pause_exits_3_and_a_rerun_goes_on(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ping").respond_with_json("pong")
    (tmp_path / "wf.json").write_text(json.dumps(DELAYED))
    with dev_server(tmp_path) as url:
        args = ("run", "wf.json", "--server", url, "--id", "p-1", "--input")
        args += (json.dumps({"url": httpserver.url_for("/ping")}),)
        with start_run(tmp_path, *args) as running:
            running.wait_for("sleeping")
            tenant = {"X-Runtara-Tenant": "default"}
            assert httpx.post(f"{url}/v1/instances/p-1/pause", headers=tenant).status_code < 300
            stdout, stderr = running.finish()
        assert running.returncode == 3, stderr
        assert "paused; rerun with --id p-1 to go on" in stderr and stdout == ""

        done = runtara(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"pong": "pong"}
        assert len(httpserver.log) == 1


def test_a_server_that_does_not_let_instances_register_is_one_clear_failure(
    tmp_path: Path,
) -> None:
    """Outside dev mode an instance cannot register itself: no traceback, a hint."""
    admin = {"RUNTARA_ADMIN_KEY": "adm1n-key-for-tests"}
    with dev_server(tmp_path, dev=False, **admin) as url:
        done = subprocess.run(
            [sys.executable, "-m", "runtara", "run", str(EXAMPLES / "hello.json"), "--server", url],
            cwd=tmp_path,
            env={**environment(), "RUNTARA_API_KEY": admin["RUNTARA_ADMIN_KEY"]},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "without registering (is --server a `runtara server --dev`?)" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_connection_that_was_never_given_says_how_to_give_it(tmp_path: Path) -> None:
    (tmp_path / "wf.json").write_text(json.dumps(CALLS_API))
    done = runtara(tmp_path, "run", "wf.json")
    assert done.returncode == 1
    assert "step 'get' failed: connection 'api' is not stored for this tenant" in done.stderr
    assert "--connection api=@FILE.json" in done.stderr and "Traceback" not in done.stderr
