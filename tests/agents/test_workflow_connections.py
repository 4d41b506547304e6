"""The HTTP agent with each connection type through a real workflow run (`runtara run`),
and no secret in any stored row or file afterwards."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SECRET = "wf-secret-9f8e7d6c5b4a"

FINISH = {
    "id": "done",
    "stepType": "Finish",
    "inputMapping": {
        "user": {"valueType": "reference", "value": "steps.me.outputs.body.user"},
        "status": {"valueType": "reference", "value": "steps.me.outputs.status_code"},
    },
}
CALL: dict[str, Any] = {
    "id": "me",
    "stepType": "Agent",
    "agentId": "http",
    "capabilityId": "http-request",
    "maxRetries": 0,
    "inputMapping": {"url": {"valueType": "immediate", "value": "/me"}},
}

#: The connection handed over by the Agent step's connectionId.
WORKFLOW = {
    "name": "whoami",
    "entryPoint": "me",
    "steps": {"me": {**CALL, "connectionId": "api"}, "done": FINISH},
    "executionPlan": [{"fromStep": "me", "toStep": "done"}],
}

#: The connection fetched by a Connection step and mapped as ``_connection``.
WORKFLOW_WITH_CONNECTION_STEP = {
    "name": "whoami",
    "entryPoint": "conn",
    "steps": {
        "conn": {
            "id": "conn",
            "stepType": "Connection",
            "connectionId": "api",
            "integrationId": "http_bearer",
        },
        "me": {
            **CALL,
            "inputMapping": {
                **CALL["inputMapping"],
                "_connection": {"valueType": "reference", "value": "steps.conn.outputs"},
            },
        },
        "done": FINISH,
    },
    "executionPlan": [{"fromStep": "conn", "toStep": "me"}, {"fromStep": "me", "toStep": "done"}],
}

CONNECTIONS: dict[str, tuple[dict[str, Any], str, str]] = {
    "bearer": ({"token": SECRET}, "Authorization", f"Bearer {SECRET}"),
    "api_key": ({"api_key": SECRET, "header_name": "X-Key"}, "X-Key", SECRET),
    "basic": (
        {"username": "ada", "password": SECRET},
        "Authorization",
        "Basic " + base64.b64encode(f"ada:{SECRET}".encode()).decode(),
    ),
}
INTEGRATIONS = {"bearer": "http_bearer", "api_key": "http_api_key", "basic": "http_basic"}


def run_workflow(
    tmp_path: Path, connection: dict[str, Any], workflow: dict[str, Any] = WORKFLOW
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "wf.json").write_text(json.dumps(workflow))
    (tmp_path / "conn.json").write_text(json.dumps(connection))
    return subprocess.run(
        [sys.executable, "-m", "runtara", "run", "wf.json", "--connection", "api=@conn.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_text(data_dir: Path) -> str:
    """Every row of every table, plus every file the run left behind, as one string."""
    parts: list[str] = []
    with sqlite3.connect(data_dir / "runtara.db") as db:
        tables = [row[0] for row in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):
                parts.extend(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                )
    for path in data_dir.rglob("*"):
        if path.is_file() and path.name != "runtara.db":
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def secured(header: str, expected: str) -> Any:
    def handler(request: Request) -> Response:
        if request.headers.get(header) != expected:
            return Response(
                json.dumps({"error": "invalid credentials"}), 401, content_type="application/json"
            )
        return Response(json.dumps({"user": "ada"}), content_type="application/json")

    return handler


@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_connection_types_through_a_workflow(
    kind: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    parameters, header, expected = CONNECTIONS[kind]
    httpserver.expect_request("/me").respond_with_handler(secured(header, expected))
    connection = {
        "integrationId": INTEGRATIONS[kind],
        "parameters": {**parameters, "base_url": httpserver.url_for("/")},
    }

    result = run_workflow(tmp_path, connection)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"user": "ada", "status": 200}
    stored = stored_text(tmp_path / ".data")
    assert '"user": "ada"' in stored.replace(
        '"user":"ada"', '"user": "ada"'
    )  # the scan sees outputs
    assert SECRET not in stored
    assert SECRET not in result.stdout + result.stderr


def test_wrong_token_fails_the_run_naming_the_401(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/me").respond_with_handler(
        secured("Authorization", "Bearer the-right-one")
    )
    connection = {
        "integrationId": "http_bearer",
        "parameters": {"token": SECRET, "base_url": httpserver.url_for("/")},
    }

    result = run_workflow(tmp_path, connection)

    assert result.returncode == 1
    assert "status 401" in result.stderr
    assert "/me" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert SECRET not in stored_text(tmp_path / ".data")


def test_connection_step_mapped_as_connection_input(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/me").respond_with_handler(
        secured("Authorization", f"Bearer {SECRET}")
    )
    connection = {
        "integrationId": "http_bearer",
        "parameters": {"token": SECRET, "base_url": httpserver.url_for("/")},
    }

    result = run_workflow(tmp_path, connection, WORKFLOW_WITH_CONNECTION_STEP)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"user": "ada", "status": 200}
    assert SECRET not in stored_text(tmp_path / ".data")
