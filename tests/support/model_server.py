"""A scripted OpenAI-compatible model server: Chat Completions over real HTTP.

``ModelServer(script)`` answers ``POST /v1/chat/completions`` with the script's entry for
the conversation it is sent: entry ``n`` answers a conversation that already holds ``n``
assistant messages, so the same conversation always gets the same answer and a repeated
model call shows up as a repeated request (``requests`` keeps every body, in order). An
entry is built with ``tool_call(...)``, ``answer(...)`` or ``failure(...)``; a callable
entry receives the request body. A request without ``tools`` whose system prompt starts
with "Summarize" gets ``summary``.

Runnable on its own for trying the examples without a real model::

    python -m tests.support.model_server --port 8089 script.json
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.polling import free_port

Entry = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def tool_call(
    name: str, arguments: dict[str, Any] | str, *, call_id: str | None = None
) -> dict[str, Any]:
    """An assistant message that calls one tool."""
    return tool_calls((name, arguments, call_id))


def tool_calls(*calls: tuple[str, dict[str, Any] | str, str | None]) -> dict[str, Any]:
    """An assistant message that calls several tools at once."""
    return {
        "message": {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id or f"call_{index}_{name}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for index, (name, args, call_id) in enumerate(calls)
            ],
        },
        "finish_reason": "tool_calls",
    }


def answer(content: str | dict[str, Any]) -> dict[str, Any]:
    """A final assistant message (a dict is sent as its JSON text)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}


def failure(status: int, message: str = "scripted failure") -> dict[str, Any]:
    """An HTTP error with an OpenAI-style error body."""
    return {"status": status, "error": message}


class ModelServer:
    """The server, on 127.0.0.1 and a free port, in a thread of the test process."""

    def __init__(
        self,
        script: list[Entry],
        *,
        summary: str = "The user asked and the tool answered.",
        usage: tuple[int, int] = (11, 7),
        port: int | None = None,
    ) -> None:
        self.script = script
        self.summary = summary
        self.usage = usage
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def connection(
        self, *, api_key: str = "sk-test-0123456789", model: str = "scripted"
    ) -> dict[str, Any]:
        """A stored-connection body (``--connection id=@file``) for this server."""
        return {
            "integrationId": "openai",
            "parameters": {"api_key": api_key, "base_url": self.base_url, "model": model},
        }

    @property
    def turns(self) -> list[dict[str, Any]]:
        """The requests of the agent loop (with tools or a conversation), not summaries."""
        with self.lock:
            return [r for r in self.requests if not _is_summary(r)]

    def respond(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if _is_summary(body):
            return 200, self._completion(answer(self.summary), body)
        turn = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        if turn >= len(self.script):
            return 500, {"error": {"message": f"the script has no answer for turn {turn}"}}
        entry = self.script[turn]
        if callable(entry):
            entry = entry(body)
        if "status" in entry:
            return int(entry["status"]), {"error": {"message": entry["error"]}}
        return 200, self._completion(entry, body)

    def _completion(self, entry: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        prompt, completion = self.usage
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": entry["message"],
                    "finish_reason": entry.get("finish_reason", "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers.items()))
                status, reply = server.respond(body)
                self._send(status, reply)

            def _send(self, status: int, reply: dict[str, Any]) -> None:
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _is_summary(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    first = str(messages[0].get("content") or "")
    return "tools" not in body and first.startswith("Summarize")


@contextmanager
def model_server(script: list[Entry], **options: Any) -> Iterator[ModelServer]:
    server = ModelServer(script, **options).start()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("script", help="JSON file: a list of entries (message / status)")
    parser.add_argument("--port", type=int, default=8089)
    options = parser.parse_args()
    with open(options.script, encoding="utf-8") as file:
        script = json.load(file)
    server = ModelServer(script, port=options.port)
    print(f"scripted model server on {server.base_url}", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
