"""The checkpoint save, served without the web framework.

``POST /v1/instance/{tenant}/{instance}/checkpoints/{key}`` is the one call a
workflow makes per step; FastAPI's middleware stack, routing and dependency
resolution cost more CPU than the store operation itself. This pure-ASGI wrapper
answers exactly that call directly and hands every other request (and the lifespan)
to the FastAPI app, whose identically-behaving route documents it in the OpenAPI.
Both use :func:`save` and :func:`answer`, so there is one implementation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from runtara.errors import ServiceError
from runtara.runtime.api.checkpoint_protocol import check_state, is_json, save_answer
from runtara.runtime.api.request_limits import body_timeout
from runtara.runtime.errors import InvalidInput, PayloadTooLarge
from runtara.runtime.store import Store, checkpoints
from runtara.runtime.store.access import Caller
from runtara.runtime.store.checkpoints import CheckpointResult

_PREFIX = b"/v1/instance/"
_MARKER = "checkpoints"
_JSON = [(b"content-type", b"application/json")]

log = logging.getLogger("runtara.api")


async def save(
    app_state: Any,
    caller: Caller,
    key: str,
    state: bytes,
    content_type: str,
    request_id: str | None,
) -> CheckpointResult:
    """Save through ``app_state.store``, counted in ``app_state.metrics``.

    A state saved as JSON must be JSON the runtime stores (``storable.py``): no lone
    surrogate, ``NaN`` or ``Infinity``, nothing nested too deep (422 naming the path)."""
    if is_json(content_type):
        if len(state) > _INLINE_CHECK_BYTES:
            await asyncio.to_thread(check_state, key, state)
        else:
            check_state(key, state)
    store: Store = app_state.store
    result = await store.arun(
        checkpoints.save_checkpoint, caller, key, state, content_type, request_id
    )
    app_state.metrics.checkpoints.labels("found" if result.found else "saved").inc()
    tracing = getattr(app_state, "tracing", None)
    if tracing is not None and not result.found:
        tracing.checkpoint(caller.tenant_id, caller.instance_id, key, state, content_type)
    return result


#: Larger JSON states are checked on a thread, off the event loop.
_INLINE_CHECK_BYTES = 64 * 1024


def match(raw_path: bytes) -> tuple[str, str, str] | None:
    """``/v1/instance/T/I/checkpoints/K`` -> (T, I, K), each percent-decoded on its own
    (so an id may contain an encoded ``/``); None for any other path."""
    if not raw_path.startswith(_PREFIX):
        return None
    parts = raw_path[len(_PREFIX) :].decode("latin-1").split("/", 3)
    if len(parts) != 4 or parts[2] != _MARKER or not parts[0] or not parts[1] or not parts[3]:
        return None
    return unquote(parts[0]), unquote(parts[1]), unquote(parts[3])


#: The routed endpoints' limits (``TenantId``, ``InstanceId``, ``Key`` in instance.py).
MAX_ID_LENGTH = 200
MAX_KEY_LENGTH = 1000


def _check_names(tenant_id: str, instance_id: str, key: str) -> None:
    if "\x00" in tenant_id or "\x00" in instance_id or "\x00" in key:
        raise InvalidInput("ids and checkpoint keys must not contain NUL characters")
    if len(tenant_id) > MAX_ID_LENGTH or len(instance_id) > MAX_ID_LENGTH:
        raise InvalidInput(f"tenant and instance ids have at most {MAX_ID_LENGTH} characters")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"a checkpoint key has at most {MAX_KEY_LENGTH} characters")


class CheckpointFastPath:
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seconds = self.app.state.settings.body_timeout_s
            await body_timeout(self._dispatch, scope, receive, send, seconds)
            return
        await self.app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            target = match(scope.get("raw_path") or scope["path"].encode())
            if target is not None:
                await self._checkpoint(scope, receive, send, *target)
                return
        await self.app(scope, receive, send)

    async def _checkpoint(
        self, scope: Scope, receive: Receive, send: Send, tenant_id: str, instance_id: str, key: str
    ) -> None:
        state: Any = self.app.state
        headers = dict(scope["headers"])
        try:
            _check_names(tenant_id, instance_id, key)
            body = await _read_body(receive, headers, state.settings.max_state_bytes)
            token = None
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token = value.strip()
            caller = Caller(tenant_id, instance_id, token, state.settings.dev)
            content_type = headers.get(b"content-type", b"application/octet-stream").decode(
                "latin-1"
            )
            request_id = headers.get(b"idempotency-key")
            result = await save(
                state,
                caller,
                key,
                body,
                content_type,
                None if request_id is None else request_id.decode("latin-1"),
            )
        except ClientGone:
            log.info(
                "checkpoint %r of %s/%s: client left mid-request, nothing saved",
                key,
                tenant_id,
                instance_id,
            )
            return
        except ServiceError as exc:
            body = _problem(exc.status, exc.title, exc.detail, **exc.extra)
            await _send(send, exc.status, body, problem=True)
            return
        except Exception as exc:
            log.exception(
                "unhandled error saving checkpoint %r of %s/%s", key, tenant_id, instance_id
            )
            detail = f"{type(exc).__name__}: see the server log"
            await _send(send, 500, _problem(500, "Internal server error", detail), problem=True)
            return
        await _send(send, 200, save_answer(result))


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            # The instance went away mid-request (e.g. killed): what arrived is not the
            # state it meant to save. Saving it would hand a truncated (often empty)
            # state to the rerun as "already done".
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if declared is not None and declared.isdigit() and size != int(declared):
        raise ClientGone
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ClientGone(Exception):
    """The request body ended before it was complete: nothing is saved or answered."""


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body of {size} bytes exceeds the limit of {limit} bytes "
        "(server setting RUNTARA_MAX_STATE_BYTES); keep large data outside checkpoints"
    )


def _problem(status: int, title: str, detail: str, **extra: object) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    ).encode()


async def _send(send: Send, status: int, body: bytes, *, problem: bool = False) -> None:
    headers = [(b"content-type", b"application/problem+json")] if problem else _JSON
    if status == 401:
        headers = [*headers, (b"www-authenticate", b"Bearer")]
    if status == 413:
        headers = [*headers, (b"connection", b"close")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
