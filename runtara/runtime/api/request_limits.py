"""Request limits: bodies over the configured size get a 413 problem before they are
buffered; a body that stalls gets a 408 and its connection closed. (Which JSON values
are stored at all: ``storable.py``.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from fastapi.exceptions import HTTPException
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


async def body_timeout(
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    seconds: float,
) -> None:
    """Run ``app`` with a ``receive`` that waits at most ``seconds`` for each piece of
    the request body. A client that stops sending mid-body (or never sends the body
    its headers announce) would otherwise hold its connection and a worker forever: the
    app then sees it as gone, and the client gets a 408 with the connection closed."""
    complete = False
    stalled = False
    started = False

    async def timed_receive() -> Message:
        nonlocal complete, stalled
        if complete:
            return await receive()  # e.g. waiting for a disconnect: no deadline
        try:
            message = await asyncio.wait_for(receive(), seconds)
        except TimeoutError:
            stalled = True
            return {"type": "http.disconnect"}
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if stalled and not started:
            return  # the app's answer to a body that never came: the 408 replaces it
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, timed_receive, tracking_send)
    except Exception:
        if not stalled:
            raise
    if stalled and not started:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": HTTPStatus.REQUEST_TIMEOUT.phrase,
                "status": 408,
                "detail": f"the request body did not arrive within {seconds:g} s "
                "(server setting RUNTARA_BODY_TIMEOUT_SECONDS)",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
