"""``examples/support_agent.json`` runs with ``runtara run`` as the README shows, against
an OpenAI-compatible server (the scripted one of ``tests.support.model_server``) and a
local HTTP server standing in for the shop's order API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.model_server import answer, model_server, tool_call
from tests.support.run_processes import environment, write_json

ROOT = Path(__file__).resolve().parents[2]
MCP_SERVER = ROOT / "tests" / "support" / "mcp_numbers.py"


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
