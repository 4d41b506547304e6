"""The ``openai`` agent (``chat-completion``) against real local HTTP servers: what it
sends, how it reads answers and errors, and where the API key may go (the ``http``
agent's transport rules: a redirect to another origin drops it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.agents.errors import PermanentError, TransientError
from runtara.agents.invoke import invoke

KEY = "sk-agent-test-9876543210"
REPLY = {
    "choices": [
        {
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": {"x": 1}},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    "model": "served-model",
}


def connection(base_url: str, **extra: Any) -> dict[str, Any]:
    parameters = {"api_key": KEY, "base_url": base_url, "model": "default-model", **extra}
    return {"integration_id": "openai", "parameters": parameters}


def chat(base_url: str, **inputs: Any) -> Any:
    values = {"messages": [{"role": "user", "content": "hi"}], **inputs}
    extra = values.pop("connection_extra", {})
    return invoke(
        "openai", "chat-completion", values, connection=connection(base_url, **extra), step_id="ai"
    )


@pytest.fixture
def other() -> Iterator[HTTPServer]:
    server = HTTPServer(host="localhost", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_sends_a_chat_completions_request_and_reads_the_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v1/chat/completions",
        method="POST",
        headers={"Authorization": f"Bearer {KEY}", "OpenAI-Organization": "org-1"},
    ).respond_with_json(REPLY)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    result = chat(
        httpserver.url_for("/v1"),
        tools=tools,
        temperature=0.2,
        max_tokens=50,
        connection_extra={"organization": "org-1"},
    )
    [(request, _)] = httpserver.log
    assert request.json == {
        "model": "default-model",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": tools,
        "temperature": 0.2,
        "max_tokens": 50,
    }
    assert result["finish_reason"] == "tool_calls"
    assert result["usage"]["total_tokens"] == 5
    assert result["model"] == "served-model"
    # Arguments sent as an object (some local servers do) are kept as JSON text.
    assert result["message"]["tool_calls"][0]["function"]["arguments"] == '{"x": 1}'


def test_the_steps_model_wins_over_the_connections(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/chat/completions").respond_with_json(REPLY)
    chat(httpserver.url_for(""), model="step-model")
    assert httpserver.log[0][0].json["model"] == "step-model"


@pytest.mark.parametrize(
    ("status", "kind"), [(429, TransientError), (503, TransientError), (400, PermanentError)]
)
def test_errors_are_classified_and_name_the_servers_message(
    httpserver: HTTPServer, status: int, kind: type[Exception]
) -> None:
    body = {"error": {"message": f"nope, {KEY} is wrong"}}
    httpserver.expect_request("/chat/completions").respond_with_json(
        body, status=status, headers={"Retry-After": "2"}
    )
    with pytest.raises(kind) as raised:
        chat(httpserver.url_for(""))
    assert f"model server answered {status}" in str(raised.value)
    assert KEY not in str(raised.value) and "***" in str(raised.value)
    if kind is TransientError:
        assert raised.value.retry_after_ms == 2000  # type: ignore[attr-defined]


def test_an_answer_that_is_not_chat_completions_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/chat/completions").respond_with_data("<html>proxy</html>")
    with pytest.raises(PermanentError, match=r"not a Chat Completions response"):
        chat(httpserver.url_for(""))


def test_the_key_does_not_follow_a_redirect_to_another_origin(
    httpserver: HTTPServer, other: HTTPServer
) -> None:
    seen: list[str] = []

    def record(request: Request) -> Response:
        seen.extend(value for _, value in request.headers.items())
        return Response(json.dumps(REPLY), content_type="application/json")

    other.expect_request("/v1/chat/completions").respond_with_handler(record)
    httpserver.expect_request("/v1/chat/completions").respond_with_data(
        "", status=307, headers={"Location": other.url_for("/v1/chat/completions")}
    )
    chat(httpserver.url_for("/v1"), connection_extra={"organization": "org-secret-1"})
    assert seen, "the redirect was not followed"
    assert not any(KEY in value or "org-secret-1" in value for value in seen)


def test_the_key_follows_a_redirect_on_the_same_origin(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old/chat/completions").respond_with_data(
        "", status=308, headers={"Location": "/v1/chat/completions"}
    )
    httpserver.expect_request(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}
    ).respond_with_json(REPLY)
    assert chat(httpserver.url_for("/old"))["usage"]["total_tokens"] == 5


def test_the_key_can_go_in_another_header_and_is_dropped_on_redirect_too(
    httpserver: HTTPServer, other: HTTPServer
) -> None:
    """Azure OpenAI's key auth: ``api-key: <key>`` instead of a bearer token."""
    seen: list[str] = []

    def record(request: Request) -> Response:
        seen.extend(value for _, value in request.headers.items())
        return Response(json.dumps(REPLY), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions", headers={"api-key": KEY}).respond_with_data(
        "", status=307, headers={"Location": other.url_for("/v1/chat/completions")}
    )
    other.expect_request("/v1/chat/completions").respond_with_handler(record)
    result = chat(httpserver.url_for("/v1"), connection_extra={"api_key_header": "api-key"})
    assert result["usage"]["total_tokens"] == 5
    assert "Authorization" not in httpserver.log[0][0].headers
    assert seen and not any(KEY in value for value in seen)


def test_content_given_as_parts_is_read_as_its_text(httpserver: HTTPServer) -> None:
    parts = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world."}]
    reply = {"choices": [{"message": {"role": "assistant", "content": parts}}], "usage": {}}
    httpserver.expect_request("/chat/completions").respond_with_json(reply)
    assert chat(httpserver.url_for(""))["message"] == {
        "role": "assistant",
        "content": "Hello, world.",
    }
