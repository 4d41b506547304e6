"""Every example in ``examples/`` runs with ``runtara run`` as a user would run it:
a real process, the embedded runtime on SQLite, a local HTTP server standing in for
the APIs the example calls, connections passed with ``--connection``. Each runs twice:
interpreted, and compiled (``runtara compile``, then ``runtara run DIR``); the Python
example is compiled too, and its binary killed half way as the README kills the script."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.client import Client
from runtara.compiler.native.workflow import read_build
from tests.support.crash_processes import (
    crash_server,
    ledger_lines,
    start_example,
    wait_for_lines,
)
from tests.support.model_server import answer, model_server, tool_call
from tests.support.native_builds import NativeCompiler
from tests.support.polling import wait_for
from tests.support.run_processes import EXAMPLES, bearer, dev_server, runtara, start_run, write_json
from tests.support.services import skip_missing

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: What a test hands to ``runtara run``: the workflow file, or its ``runtara compile`` folder.
Example = Callable[[Path], str]


@pytest.fixture(
    params=[
        "interpreted",
        pytest.param("native", marks=[pytest.mark.native, pytest.mark.timeout(1500)]),
    ]
)
def example(request: pytest.FixtureRequest) -> Example:
    """Each example runs twice: ``runtara run FILE`` (generated module under CPython) and
    ``runtara run DIR`` of ``runtara compile FILE`` (the native binary), same assertions."""
    if request.param == "interpreted":
        return str
    compiler: NativeCompiler = request.getfixturevalue("native_compiler")
    return lambda file: str(compiler(file))


def test_hello(tmp_path: Path, example: Example) -> None:
    done = runtara(
        tmp_path,
        "run",
        example(EXAMPLES / "hello.json"),
        "--input",
        '{"name": "ada lovelace", "language": "es"}',
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "Hola, Ada Lovelace!", "language": "es"}


def test_hello_rejects_input_outside_the_schema(tmp_path: Path, example: Example) -> None:
    done = runtara(
        tmp_path, "run", example(EXAMPLES / "hello.json"), "--input", '{"language": "pl"}'
    )
    assert done.returncode == 1
    assert "failed: input does not match inputSchema: language: 'pl' is not one of" in done.stderr
    assert done.stdout == ""


def test_order_processing(tmp_path: Path, example: Example, httpserver: HTTPServer) -> None:
    orders = {"orders": [{"id": 1, "total": "10.5"}, {"id": 2, "total": 2000}]}
    httpserver.expect_request(
        "/orders", query_string="status=open", headers=AUTH
    ).respond_with_json(orders)
    httpserver.expect_request("/orders/1/charge", method="POST", headers=AUTH).respond_with_json(
        {"payment_id": "p-1"}
    )
    httpserver.expect_request("/orders/2/charge", method="POST").respond_with_json(
        {"error": "card declined"}, status=402
    )
    done = runtara(
        tmp_path,
        "run",
        example(EXAMPLES / "order_processing.json"),
        "--input",
        json.dumps({"api_base_url": httpserver.url_for("").rstrip("/")}),
        "--connection",
        bearer(tmp_path, "orders-api", httpserver.url_for("/"), TOKEN),
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["processed"] == 2
    assert output["results"][0] == {"order_id": 1, "status": "charged", "payment_id": "p-1"}
    failed = output["results"][1]
    assert (failed["order_id"], failed["status"]) == (2, "failed")
    assert "402" in failed["error"]
    charge = next(r for r, _ in httpserver.log if r.path == "/orders/1/charge")
    assert charge.json == {
        "amount": 10.5,
        "currency": "EUR",
        "idempotency_key": "order-1-attempt-0",
    }


def _run_onboarding(
    tmp_path: Path,
    httpserver: HTTPServer,
    user: dict[str, str],
    *,
    delay_ms: int,
    sessions: int,
    example: Example = str,
) -> subprocess.CompletedProcess[str]:
    """onboarding.json with its three days shortened to ``delay_ms``, against a local API
    whose user had ``sessions`` since sign-up."""
    document = json.loads((EXAMPLES / "onboarding.json").read_text())
    graph = document.get("executionGraph", document)
    graph["variables"]["follow_up_delay_ms"]["value"] = delay_ms
    workflow = tmp_path / "onboarding.json"
    workflow.write_text(json.dumps(document))
    httpserver.expect_request("/messages", method="POST", headers=AUTH).respond_with_json(
        {"id": "m"}
    )
    httpserver.expect_request("/users/u1/activity").respond_with_json({"sessions": sessions})
    return runtara(
        tmp_path,
        "run",
        example(workflow),
        "--input",
        json.dumps(
            {
                "api_base_url": httpserver.url_for("").rstrip("/"),
                "user": {"id": "u1", "email": "a@example.com", **user},
            }
        ),
        "--connection",
        bearer(tmp_path, "messaging-api", httpserver.url_for("/"), TOKEN),
    )


def test_onboarding_durable_delay_waits_and_completes(
    tmp_path: Path, httpserver: HTTPServer, example: Example
) -> None:
    started = time.monotonic()
    done = _run_onboarding(
        tmp_path, httpserver, {"name": "Ada"}, delay_ms=1500, sessions=0, example=example
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user_id": "u1", "follow_up_sent": True}
    assert time.monotonic() - started >= 1.5
    assert "sleeping 1.5 s" in done.stderr
    sent = [r.json["template"] for r, _ in httpserver.log if r.path == "/messages"]
    assert sent == ["welcome", "getting-started"]
    assert httpserver.log[0][0].json["subject"] == "Welcome aboard, Ada!"


@pytest.mark.parametrize("user", [{"name": ""}, {}], ids=["empty name", "no name"])
def test_onboarding_without_a_name_welcomes_without_an_empty_one(
    tmp_path: Path, httpserver: HTTPServer, user: dict[str, str]
) -> None:
    done = _run_onboarding(tmp_path, httpserver, user, delay_ms=0, sessions=2)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user_id": "u1", "follow_up_sent": False}
    (welcome,) = [r.json for r, _ in httpserver.log if r.path == "/messages"]
    assert welcome["subject"] == "Welcome aboard!"


def test_polling(tmp_path: Path, example: Example, httpserver: HTTPServer) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/reports/r1/build", method="POST").respond_with_json(
        {"queued": True}
    )
    httpserver.expect_request("/reports/r1").respond_with_json(
        {"status": "ready", "download_url": f"{base}/files/r1.txt"}
    )
    httpserver.expect_request("/files/r1.txt").respond_with_data(
        "total,42\n", content_type="text/plain"
    )
    done = runtara(
        tmp_path,
        "run",
        example(EXAMPLES / "polling.json"),
        "--input",
        json.dumps({"api_base_url": base, "report_id": "r1"}),
        "--connection",
        bearer(tmp_path, "reports-api", httpserver.url_for("/"), TOKEN),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"report": "total,42\n", "polls": 1}


FEED = """<?xml version="1.0"?>
<catalog>
  <product sku="b-1"><sku>b-1</sku><name>Dune</name><category>books</category><stock>3</stock></product>
  <product sku="m-1"><sku>m-1</sku><name>Kind of Blue</name><category>music</category><stock>0</stock></product>
  <product sku="g-1"><sku>g-1</sku><name>Go</name><category>games</category><stock>5</stock></product>
</catalog>"""


def test_xml_import(tmp_path: Path, example: Example, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/xml")
    httpserver.expect_request("/catalogue", method="PUT", headers=AUTH).respond_with_json(
        {}, status=204
    )
    done = runtara(
        tmp_path,
        "run",
        example(EXAMPLES / "xml_import.json"),
        "--input",
        json.dumps(
            {
                "feed_url": httpserver.url_for("/feed.xml"),
                "api_base_url": httpserver.url_for("").rstrip("/"),
            }
        ),
        "--connection",
        bearer(tmp_path, "shop-api", httpserver.url_for("/"), TOKEN),
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["status"] == 204
    assert [p["sku"] for p in output["products_in_stock"]] == ["b-1", "g-1"]
    pushed = next(r for r, _ in httpserver.log if r.path == "/catalogue").json
    assert {k: [p["sku"] for p in v] for k, v in pushed["products"]["groups"].items()} == {
        "books": ["b-1"],
        "music": [],
        "games": ["g-1"],
    }


def test_approval_waits_for_a_signal(
    tmp_path: Path, example: Example, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/approval-requests", method="POST", headers=AUTH).respond_with_json(
        {}, status=201
    )
    httpserver.expect_request(
        "/expenses/e1/decision", method="PUT", headers=AUTH
    ).respond_with_json({})
    expense = {"id": "e1", "amount": 900, "requester": "ada"}
    with start_run(
        tmp_path,
        "run",
        example(EXAMPLES / "approval.json"),
        "--id",
        "expense-e1",
        "--input",
        json.dumps({"api_base_url": httpserver.url_for("").rstrip("/"), "expense": expense}),
        "--connection",
        bearer(tmp_path, "approvals-api", httpserver.url_for("/"), TOKEN),
    ) as running:
        wait_for(
            lambda: any(r.path == "/approval-requests" for r, _ in httpserver.log),
            30,
            what="the manager to be asked",
        )
        answer = httpx.post(
            f"{running.url}/v1/instances/expense-e1/signals",
            json={
                "checkpoint_id": "wait_for_manager",
                "payload": {"decision": "approve", "comment": "ok"},
            },
        )
        assert answer.status_code == 202
        stdout, stderr = running.finish()
    assert running.returncode == 0, stderr
    assert json.loads(stdout) == {"expense_id": "e1", "approved": True, "decided_by": "manager"}
    recorded = next(r for r, _ in httpserver.log if r.path == "/expenses/e1/decision").json
    assert recorded == {"approved": True, "comment": "ok"}


def _approval(tmp_path: Path, httpserver: HTTPServer, *, wait_ms: int | None = None) -> Path:
    """approval.json; with ``wait_ms``, its three-day wait for the manager shortened."""
    document = json.loads((EXAMPLES / "approval.json").read_text())
    if wait_ms is not None:
        document["steps"]["wait_for_manager"]["timeoutMs"] = wait_ms
    workflow = tmp_path / "approval.json"
    workflow.write_text(json.dumps(document))
    return workflow


def _run_approval(tmp_path: Path, httpserver: HTTPServer, workflow: Path) -> tuple[int, str, str]:
    expense = {"id": "e2", "amount": 900, "requester": "ada"}
    done = runtara(
        tmp_path,
        "run",
        str(workflow),
        "--input",
        json.dumps({"api_base_url": httpserver.url_for("").rstrip("/"), "expense": expense}),
        "--connection",
        bearer(tmp_path, "approvals-api", httpserver.url_for("/"), TOKEN),
    )
    return done.returncode, done.stdout, done.stderr


def test_approval_says_the_manager_could_not_be_asked_when_the_api_fails(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Not "no decision within 3 days": the request for a decision itself failed."""
    httpserver.expect_request("/approval-requests", method="POST").respond_with_json(
        {"error": "no such manager"}, status=400
    )
    code, stdout, stderr = _run_approval(tmp_path, httpserver, _approval(tmp_path, httpserver))
    assert code == 1 and stdout == ""
    assert "could not ask the manager for a decision (the approvals API failed)" in stderr
    assert "within 3 days" not in stderr
    assert not any(r.path.startswith("/expenses") for r, _ in httpserver.log)


def test_approval_rejects_when_no_decision_comes_in_time(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/approval-requests", method="POST").respond_with_json({}, 201)
    workflow = _approval(tmp_path, httpserver, wait_ms=500)
    code, stdout, stderr = _run_approval(tmp_path, httpserver, workflow)
    assert code == 0, stderr
    assert json.loads(stdout) == {"expense_id": "e2", "approved": False, "decided_by": "timeout"}
    assert "no approval decision within 3 days; rejecting" in stderr


def test_support_agent_looks_the_order_up_then_answers(
    tmp_path: Path, httpserver: HTTPServer, example: Example
) -> None:
    """examples/support_agent.json against the scripted OpenAI-compatible server of
    ``tests.support.model_server`` and a local order API, as the README runs it."""
    httpserver.expect_request("/orders", query_string="id=A-17").respond_with_json(
        {"id": "A-17", "status": "shipped", "carrier": "DHL"}
    )
    reply = {"order_id": "A-17", "status": "shipped", "reply": "Your order left with DHL."}
    script = [tool_call("lookup_order", {"query_parameters": {"id": "A-17"}}), answer(reply)]
    with model_server(script) as model:
        connection = write_json(tmp_path / "llm.json", model.connection(api_key="sk-example-key"))
        question = {"question": "Where is order A-17?", "api_base_url": httpserver.url_for("")}
        done = runtara(
            tmp_path,
            "run",
            example(EXAMPLES / "support_agent.json"),
            "--input",
            json.dumps({**question, "api_base_url": question["api_base_url"].rstrip("/")}),
            "--connection",
            f"llm={connection}",
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**reply, "tokens": 36}
    assert "order A-17: shipped (2 model calls)" in done.stderr
    lookup = json.loads(
        next(m for m in model.requests[1]["messages"] if m["role"] == "tool")["content"]
    )
    assert lookup["status_code"] == 200 and lookup["body"]["carrier"] == "DHL"
    first = model.requests[0]
    assert first["temperature"] == 0
    assert first["response_format"]["json_schema"]["schema"]["required"] == [
        "order_id",
        "status",
        "reply",
    ]
    # The workflow pins the URL, method, body and headers: the model may only add a query.
    [tool] = first["tools"]
    properties = tool["function"]["parameters"]["properties"]
    assert "query_parameters" in properties
    assert not {"url", "method", "body", "headers"} & set(properties)


def test_run_against_a_server(tmp_path: Path, example: Example) -> None:
    with dev_server(tmp_path) as url:
        done = runtara(
            tmp_path, "run", example(EXAMPLES / "hello.json"), "--server", url, "--id", "h-1"
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"message": "Hello, World!", "language": "en"}
        stored = httpx.get(f"{url}/v1/instances/h-1").json()
        assert (stored["status"], stored["output"]) == ("completed", json.loads(done.stdout))


@pytest.mark.sshd
def test_csv_batch(tmp_path: Path, example: Example, httpserver: HTTPServer) -> None:
    from tests.support import sshd

    reason = sshd.available()
    if reason:
        skip_missing("sshd", reason)
    (tmp_path / "sshd").mkdir()
    with sshd.running_sshd(tmp_path / "sshd") as server:
        _csv_batch(tmp_path, httpserver, server, example)


def _csv_batch(tmp_path: Path, httpserver: HTTPServer, server: object, example: Example) -> None:
    import os
    import pwd

    root = server.root  # type: ignore[attr-defined]
    csv = "E-mail;First name;Last name;Company\nADA@Example.com;Ada;Lovelace;Engines\nbad;Bob;Bad;None\n"
    (root / "contacts.csv").write_text(csv)
    user = pwd.getpwnam(server.username)  # type: ignore[attr-defined]
    os.chown(root / "contacts.csv", user.pw_uid, user.pw_gid)

    def contacts(request: Request) -> Response:
        body = request.json or {}
        if "@" not in str(body.get("email")):
            return Response(
                json.dumps({"error": "invalid email"}), status=422, content_type="application/json"
            )
        return Response(json.dumps({"id": "c1"}), status=201, content_type="application/json")

    httpserver.expect_request("/contacts", method="POST", headers=AUTH).respond_with_handler(
        contacts
    )
    sftp = server.connection()  # type: ignore[attr-defined]
    sftp_file = write_json(
        tmp_path / "sftp.json", {"integrationId": "sftp", "parameters": sftp["parameters"]}
    )
    done = runtara(
        tmp_path,
        "run",
        example(EXAMPLES / "csv_batch.json"),
        "--input",
        json.dumps(
            {
                "api_base_url": httpserver.url_for("").rstrip("/"),
                "remote_path": str(root / "contacts.csv"),
            }
        ),
        "--connection",
        f"partner-sftp={sftp_file}",
        "--connection",
        bearer(tmp_path, "crm-api", httpserver.url_for("/"), TOKEN),
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert (output["imported"], output["failed"]) == (1, 1)
    posted = [
        r.json
        for r, _ in httpserver.log
        if r.path == "/contacts" and r.json["email"].endswith("example.com")
    ]
    assert posted == [
        {
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Engines",
            "source_row": 0,
        }
    ]


@pytest.mark.native
@pytest.mark.timeout(1500)
def test_checkpoint_example_compiled_survives_a_kill(
    tmp_path: Path, native_compiler: NativeCompiler
) -> None:
    """``runtara compile examples/checkpoint_example.py``: the binary, killed half way and
    run again against ``runtara server --dev``, charges every order exactly once."""
    compiled = native_compiler(EXAMPLES / "checkpoint_example.py")
    build = read_build(compiled)
    assert build.source == "checkpoint_example.py"
    assert (compiled / build.source).read_text() == (EXAMPLES / "checkpoint_example.py").read_text()
    binary = [str(compiled / build.binary)]
    ledger = tmp_path / "ledger.txt"
    server = crash_server(f"sqlite:///{tmp_path / 'runtara.db'}", tmp_path)
    server.start()
    try:
        first = start_example(
            server.url, "native-batch", ledger, count=400, delay_ms=5, command=binary
        )
        wait_for_lines(ledger, 100, first)
        first.kill()
        first.wait()
        assert len(ledger_lines(ledger)) < 400, "the batch finished before it was killed"
        rerun = start_example(server.url, "native-batch", ledger, count=400, command=binary)
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err.decode()
        assert b"all 400 orders processed" in err
        with Client(server.url, tenant="tenant-1") as client:
            shown = client.get_instance("native-batch")
    finally:
        server.stop()
    assert ledger_lines(ledger) == list(range(1, 401))
    assert (shown["status"], shown["output"]) == ("completed", {"processed": 400})


def test_every_example_is_run_here() -> None:
    """A file added to ``examples/`` needs a test in this module (run interpreted and
    compiled), or the README's claim that every example runs goes unchecked."""
    source = Path(__file__).read_text()
    examples = [path.name for path in EXAMPLES.iterdir() if path.suffix in (".json", ".py")]
    assert len(examples) >= 8
    assert [name for name in examples if f'"{name}"' not in source] == []
