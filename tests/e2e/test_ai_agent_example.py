"""``examples/support_agent.json`` runs with ``runtara run`` as the README shows, against
an OpenAI-compatible server (the scripted one of ``tests.support.model_server``) and a
local HTTP server standing in for the shop's order API."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.support.model_server import answer, model_server, tool_call
from tests.support.run_processes import EXAMPLES, runtara, write_json


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
