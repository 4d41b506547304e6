"""An AiAgent workflow compiled to a native binary gives the interpreted output: the
model client, the tool loop and its checkpoints are in the launcher (standard library
only), and a workflow with an MCP toolset is refused, the SDK being left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.model_server import answer, model_server, tool_call
from tests.support.run_processes import write_json
from tests.support.services import skip_missing

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "support_agent.json"
CORPUS = ROOT.parent / "shared" / "runtara-corpus" / "documents" / "fixtures"


def _runtara(*args: str, cache: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=cwd,
        env={**os.environ, "RUNTARA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.native
@pytest.mark.timeout(1800)
def test_compiled_support_agent_gives_the_interpreted_output(
    native_cache: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    build = tmp_path / "support"
    compiled = _runtara("compile", str(EXAMPLE), "-o", str(build), cache=native_cache, cwd=tmp_path)
    if "Nuitka is not installed" in compiled.stderr or "no C compiler" in compiled.stderr:
        skip_missing("native toolchain", compiled.stderr.strip())
    assert compiled.returncode == 0, compiled.stderr

    httpserver.expect_request("/orders", query_string="id=B-2").respond_with_json(
        {"id": "B-2", "status": "delivered"}
    )
    reply = {"order_id": "B-2", "status": "delivered", "reply": "It arrived."}
    script = [tool_call("lookup_order", {"query_parameters": {"id": "B-2"}}), answer(reply)]
    data = json.dumps({"question": "B-2?", "api_base_url": httpserver.url_for("").rstrip("/")})
    outputs = []
    with model_server(script) as model:
        connection = f"llm={write_json(tmp_path / 'llm.json', model.connection())}"
        for target in (build, EXAMPLE):  # the native build, then interpreted
            done = _runtara(
                "run", str(target), "--input", data, "--connection", connection,
                cache=native_cache, cwd=tmp_path,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == {**reply, "tokens": 36}
    assert len(model.requests) == 4  # two turns per run


@pytest.mark.native
def test_an_mcp_toolset_is_refused_by_the_native_build(native_cache: Path, tmp_path: Path) -> None:
    document = json.loads((CORPUS / "ai_agent_mcp.json").read_text())
    document["steps"]["mcp_github"]["inputMapping"] = {
        "query": {"valueType": "immediate", "value": ""}
    }
    (tmp_path / "mcp.json").write_text(json.dumps(document))
    compiled = _runtara("compile", "mcp.json", "-o", "out", cache=native_cache, cwd=tmp_path)
    assert compiled.returncode != 0
    assert "runtara.agents.mcp_agent needs mcp" in compiled.stderr
    assert "run this workflow interpreted" in compiled.stderr
