"""``runtara run`` and ``runtara codegen`` as a user meets them: bad input is one clear
line and exit 1, Ctrl-C then a rerun with the same ``--id`` resumes, a compiled output
directory runs its binary."""

from __future__ import annotations

import json
import signal
import stat
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.flow.processes import EXAMPLES, runtara, start_run, write_json


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "{oops"], "error: --input: invalid JSON at 1:2"),
        (
            ["--input", "@missing.json"],
            "error: --input missing.json: cannot read: No such file or directory",
        ),
        (["--connection", "api"], "error: --connection 'api': expected ID=@FILE.json"),
        (
            ["--connection", "api=@conn.json"],
            'the file must hold {"integrationId": "...", "parameters": {...}}',
        ),
    ],
)
def test_bad_arguments_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    write_json(tmp_path / "conn.json", {"token": "x"})
    done = runtara(tmp_path, "run", str(EXAMPLES / "hello.json"), *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


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
        assert running.process.stderr is not None
        for line in running.process.stderr:
            running.lines.append(line)
            if "sleeping" in line:
                break
        started_sleep = time.monotonic()
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
