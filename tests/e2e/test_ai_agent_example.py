"""``examples/support_agent.json`` runs with ``runtara run`` as the README shows, against
an OpenAI-compatible server (the scripted one of ``tests.support.model_server``) and a
local HTTP server standing in for the shop's order API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.model_server import answer, model_server, tool_call
from tests.support.run_processes import EXAMPLES, environment, runtara, write_json

ROOT = Path(__file__).resolve().parents[2]
MCP_SERVER = ROOT / "tests" / "support" / "mcp_numbers.py"


def test_support_agent_looks_the_order_up_then_answers(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
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
            str(EXAMPLES / "support_agent.json"),
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


def test_runtara_run_hands_the_mcp_allow_list_to_the_instance(tmp_path: Path) -> None:
    """``RUNTARA_MCP_COMMANDS`` in the user's environment reaches the instance process
    (through the environment allow-list), which then starts the MCP server."""
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    corpus = ROOT.parent / "shared" / "runtara-corpus" / "documents" / "fixtures"
    if not corpus.is_dir():
        pytest.skip(f"the Runtara corpus is not at {corpus}")
    document = json.loads((corpus / "ai_agent_mcp.json").read_text())
    document["steps"]["mcp_github"]["inputMapping"] = {
        "query": {"valueType": "immediate", "value": ""}
    }
    (tmp_path / "mcp.json").write_text(json.dumps(document))
    mcp_connection = {
        "integrationId": "mcp",
        "parameters": {
            "command": sys.executable,
            "args": [str(MCP_SERVER), str(tmp_path / "log")],
        },
    }
    script = [
        tool_call("github_invoke", {"tool_name": "add_numbers", "args": {"a": 20, "b": 22}}),
        answer("42"),
    ]
    with model_server(script) as model:
        llm = write_json(tmp_path / "llm.json", model.connection())
        mcp = write_json(tmp_path / "mcp-conn.json", mcp_connection)
        done = subprocess.run(
            [sys.executable, "-m", "runtara", "run", "mcp.json", "--input", '{"q": "20 + 22?"}',
             "--connection", f"openai-conn={llm}", "--connection", f"mcp-conn={mcp}"],
            cwd=tmp_path,
            env={**environment(), "RUNTARA_MCP_COMMANDS": sys.executable},
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"answer": "42"}
    result = json.loads(
        next(m for m in model.requests[1]["messages"] if m["role"] == "tool")["content"]
    )
    assert result["text"] == "42"
