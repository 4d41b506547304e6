"""Request limits: bodies over the configured size get a 413 problem before they are
buffered; JSON values nested deeper than the API can show again get a 422."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from fastapi.exceptions import HTTPException
from pydantic import AfterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing lets it through as a 413 instead
    of turning it into "400 There was an error parsing the body"."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodySizeLimit:
    """Pure ASGI middleware: checks ``Content-Length`` up front and counts chunked bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send, declared)
                    return
                break
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self._detail(seen))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, seen)

    def _detail(self, size: int) -> str:
        return (
            f"request body of {size} bytes exceeds the limit of {self.max_bytes} bytes "
            "(server setting RUNTARA_MAX_STATE_BYTES); keep large data outside checkpoints"
        )

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase,
                "status": 413,
                "detail": self._detail(size),
                "limit": self.max_bytes,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


#: Deepest nesting of a stored JSON value. The responses that show it again (pydantic's
#: serializer stops at 255 levels, counting the response's own) must be able to.
MAX_JSON_DEPTH = 200


def _shallow_enough(value: Any) -> Any:
    """``value`` unchanged, or ``ValueError`` when its arrays and objects nest deeper
    than ``MAX_JSON_DEPTH`` (``[]`` is one level)."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        containers = [node for node in level if isinstance(node, dict | list)]
        if not containers:
            return value
        level = [
            item
            for node in containers
            for item in (node.values() if isinstance(node, dict) else node)
        ]
    raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")


#: Any JSON value a request stores (input, output, error, event or signal payload).
StoredJson = Annotated[Any, AfterValidator(_shallow_enough)]
