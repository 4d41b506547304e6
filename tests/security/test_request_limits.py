"""Issue 11 item 8: the rest of the list, each refused or served the way a user relies on."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtara.agents.errors import PermanentError
from runtara.agents.invoke import invoke
from runtara.runtime.api import storable
from runtara.runtime.embedded import EmbeddedRuntime
from tests.security.conftest import Secured


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRuntime]:
    monkeypatch.setenv("RUNTARA_BODY_TIMEOUT_SECONDS", "1")
    with EmbeddedRuntime(f"sqlite:///{tmp_path / 'runtara.db'}") as runtime:
        yield runtime


def test_a_stalled_request_body_gets_a_408_and_its_connection_closed(
    dev: EmbeddedRuntime,
) -> None:
    host, port = dev.url.removeprefix("http://").split(":")
    for path in ("/v1/instance/t/i/checkpoints/k", "/v1/instance/t/i/completed"):
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                'Content-Length: 100\r\n\r\n{"out'.encode()
            )
            answer = b""
            while chunk := conn.recv(65536):  # ends when the server closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"RUNTARA_BODY_TIMEOUT_SECONDS" in answer


def test_long_checkpoint_keys_are_read_back_and_states_never_choose_their_type(
    dev: EmbeddedRuntime,
) -> None:
    with httpx.Client(base_url=dev.url, headers={"x-runtara-tenant": "t"}, timeout=60) as http:
        http.post("/v1/instance/t/i/register")
        key = "k" * 900
        html = b"<script>alert(1)</script>"
        saved = http.post(
            f"/v1/instance/t/i/checkpoints/{key}",
            content=html,
            headers={"content-type": "text/html"},
        )
        assert saved.status_code == 200, saved.text
        read = http.get(f"/v1/instances/i/checkpoints/{key}")
        assert read.status_code == 200 and read.content == html
        assert read.headers["content-type"] == "application/octet-stream"
        assert read.headers["x-content-type-options"] == "nosniff"
        assert read.headers["x-runtara-content-type"] == "text/html"
        http.post("/v1/instance/t/i/checkpoints/j", json={"a": 1})
        as_json = http.get("/v1/instances/i/checkpoints/j")
        assert as_json.headers["content-type"] == "application/json" and as_json.json() == {"a": 1}


def test_an_infinite_timeout_is_refused_when_registering(secured: Secured) -> None:
    with secured.tenant() as tenant:
        body = '{"name": "flow", "workflow": {"name": "x", "steps": {}, "entryPoint": "x"}, "timeout": 1e999}'
        refused = tenant.post(
            "/v1/images", content=body, headers={"content-type": "application/json"}
        )
    assert refused.status_code == 422 and "timeout" in refused.json()["detail"]


def test_runtara_run_takes_an_input_larger_than_the_environment_does(tmp_path: Path) -> None:
    workflow = {
        "name": "echo",
        "steps": {
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {"size": {"valueType": "reference", "value": "data.n"}},
            }
        },
        "entryPoint": "done",
    }
    (tmp_path / "wf.json").write_text(json.dumps(workflow))
    (tmp_path / "input.json").write_text(json.dumps({"n": 7, "pad": "x" * (300 * 1024)}))
    env = {k: v for k, v in os.environ.items() if k != "RUNTARA_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "runtara", "run", "wf.json", "--input", "@input.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"size": 7}


def to_csv(value: object, **options: object) -> str:
    result = invoke(
        "csv", "to-csv", {"value": value, "output_format": "text", **options}, step_id="s"
    )
    assert isinstance(result, str)
    return result


def test_csv_output_neutralises_formulas_by_default() -> None:
    rows = [{"link": '=HYPERLINK("http://x")', "cmd": "@SUM(A1)", "n": -5, "t": "-3.5", "ok": "a"}]
    cells = next(csv.reader(io.StringIO(to_csv(rows).splitlines()[1])))
    assert cells == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "-5", "-3.5", "a"]
    raw = next(csv.reader(io.StringIO(to_csv(rows, neutralize_formulas=False).splitlines()[1])))
    assert raw[0] == '=HYPERLINK("http://x")'
    assert to_csv([{"+cmd": 1}]).splitlines()[0] == "'+cmd"


def nested_xml(depth: int) -> str:
    """``depth`` levels, each with a repeated tag (an array: two JSON levels), as base64."""
    text = "<a><b/><b/>" * depth + "</a>" * depth
    return base64.b64encode(text.encode()).decode()


def test_xml_deeper_than_its_limit_is_refused_by_the_agent() -> None:
    with pytest.raises(PermanentError) as refused:
        invoke("xml", "from-xml", {"data": nested_xml(64)}, step_id="s")
    assert refused.value.code == "XML_FORBIDDEN"


def test_xml_at_its_limit_fits_what_the_runtime_stores() -> None:
    parsed = invoke("xml", "from-xml", {"data": nested_xml(63)}, step_id="s")  # 64 with <b/>
    state = {"outputs": {"steps": {"parse": parsed}}}
    storable.check(json.loads(json.dumps(state)))
