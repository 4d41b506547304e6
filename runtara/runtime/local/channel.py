"""The instance protocol answered from the store, over a socket the instance inherits.

``runtara run`` on a JSON workflow needs no HTTP server: the instance process gets one
end of a socket pair as ``RUNTARA_URL=fd://N`` (``runtara.sdk.pipe``) and this thread
answers each request on the other end with the store operations the HTTP endpoints
call (``runtime/api/instance.py``), checked with the same request models, limits and
problem documents. A request it does not serve itself (a connection fetch, or a call
added to the protocol later) goes to the real app, built on first use, so every
answer is the service's own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote

from pydantic import BaseModel, ValidationError

from runtara.errors import ServiceError
from runtara.runtime.api import checkpoint_protocol as protocol
from runtara.runtime.api import instance_models as models
from runtara.runtime.errors import InvalidInput, PayloadTooLarge
from runtara.runtime.settings import Settings
from runtara.runtime.store import Store, checkpoints, events, instances, signals
from runtara.runtime.store.access import Caller
from runtara.runtime.store.checkpoints import CheckpointResult
from runtara.sdk.pipe import read_frame, write_frame

log = logging.getLogger("runtara.run")

MAX_KEY_LENGTH = 1000

Answer = tuple[int, bytes]
M = TypeVar("M", bound=BaseModel)


class InstanceChannel:
    """Serves one instance (``tenant_id``/``instance_id``) on a thread until it closes."""

    def __init__(self, store: Store, settings: Settings, tenant_id: str, instance_id: str) -> None:
        self.store = store
        self.settings = settings
        self.tenant_id = tenant_id
        self.instance_id = instance_id
        self._base = f"/v1/instance/{quote(tenant_id, safe='')}/{quote(instance_id, safe='')}"
        self._ours, self._theirs = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="runtara-channel", daemon=True)
        self._app: Any = None

    @property
    def child_fd(self) -> int:
        """The descriptor to pass to the instance process (``pass_fds``)."""
        return self._theirs.fileno()

    @property
    def url(self) -> str:
        return f"fd://{self.child_fd}"

    def start(self) -> InstanceChannel:
        self._thread.start()
        return self

    def started_child(self) -> None:
        """The child holds its end now: close ours of it, so its exit ends the thread."""
        self._theirs.close()

    def close(self) -> None:
        for sock in (self._ours, self._theirs):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    # -- serving ------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            try:
                message = read_frame(self._ours)
            except (OSError, ValueError):
                return
            if message is None:
                return
            header, body = message
            status, data = self.answer(header, body)
            try:
                write_frame(self._ours, {"status": status}, data)
            except OSError:
                return

    def answer(self, header: dict[str, Any], body: bytes) -> Answer:
        """The HTTP status and body the service gives this request."""
        try:
            return self._dispatch(header, body)
        except ServiceError as exc:
            return _problem(exc.status, exc.title, exc.detail, **exc.extra)
        except (ValidationError, _Unreadable):
            # Refused before any store operation: the app words it (422) exactly as it does.
            return self._by_app(header, body)
        except Exception as exc:
            log.exception("unhandled error on %s %s", header.get("method"), header.get("path"))
            return _problem(
                500, "Internal server error", f"{type(exc).__name__}: see the server log"
            )

    def _dispatch(self, header: dict[str, Any], body: bytes) -> Answer:
        method, path = str(header["method"]), str(header["path"])
        limit = self.settings.max_state_bytes
        if len(body) > limit:
            detail = (
                f"request body of {len(body)} bytes exceeds the limit of {limit} bytes "
                "(server setting RUNTARA_MAX_STATE_BYTES); keep large data outside checkpoints"
            )
            if method == "POST" and path.startswith(f"{self._base}/checkpoints/"):
                raise PayloadTooLarge(detail)  # as the checkpoint fast path words it
            return _problem(413, HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase, detail)
        if not path.startswith(self._base):
            return self._by_app(header, body)
        rest = path[len(self._base) :]
        caller = Caller(
            self.tenant_id, self.instance_id, header.get("token") or None, self.settings.dev
        )
        if rest.startswith("/checkpoints/"):
            key = _key(rest[len("/checkpoints/") :])
            if method == "POST":
                content_type = header.get("content_type") or "application/octet-stream"
                return 200, self._save(
                    caller, key, body, content_type, header.get("idempotency_key")
                )
            if method == "GET":
                found = self.store.run(checkpoints.get_checkpoint, caller, key)
                if found is None:
                    return _ok({"found": False, "state": None, "content_type": None})
                state = base64.b64encode(found[0]).decode()
                return _ok({"found": True, "state": state, "content_type": found[1]})
        if rest.startswith("/signals/") and method == "POST" and rest != "/signals/ack":
            inner, _, action = rest[len("/signals/") :].rpartition("/")
            if action == "poll" and inner:
                polled = self.store.run(signals.poll_custom_signal, caller, _key(inner))
                return _model(
                    models.SignalPollAnswer(
                        found=polled.found, payload=polled.payload, signal=polled.signal
                    )
                )
            if action == "wait" and inner:
                request = _body(models.SignalWaitRequest, body)
                waited = self.store.run(
                    checkpoints.wait_for_signal, caller, _key(inner), request.timeout_ms
                )
                return _model(
                    models.SignalWaitAnswer(
                        found=waited.found,
                        payload=waited.payload,
                        signal=waited.signal,
                        timed_out=waited.timed_out,
                        exit=waited.exit,
                        remaining_ms=waited.remaining_ms,
                    )
                )
        bare, _, query = rest.partition("?")
        if bare == "/checkpoints" and method == "POST":
            return self._save_batch(caller, body, header.get("idempotency_key"))
        if bare == "/checkpoints" and method == "GET":
            return self._page(caller, query)
        handler = self._routes().get((method, rest))
        if handler is None:
            return self._by_app(header, body)
        return handler(caller, body)

    def _routes(self) -> dict[tuple[str, str], Callable[[Caller, bytes], Answer]]:
        return {
            ("POST", "/register"): self._register,
            ("GET", ""): lambda c, b: _view(self.store.run(instances.own_status, c)),
            ("POST", "/sleep"): self._sleep,
            ("POST", "/heartbeat"): lambda c, b: _model(
                models.SignalAnswer(signal=self.store.run(instances.heartbeat, c))
            ),
            ("POST", "/events"): self._events,
            ("POST", "/retries"): self._retry,
            ("POST", "/signals/ack"): lambda c, b: _view(
                self.store.run(instances.acknowledge_signal, c, _body(models.AckRequest, b).signal)
            ),
            ("POST", "/completed"): lambda c, b: _view(
                self.store.run(instances.complete, c, _body(models.CompletedRequest, b).output)
            ),
            ("POST", "/failed"): self._failed,
            ("POST", "/suspended"): lambda c, b: _view(self.store.run(instances.suspend, c)),
        }

    # -- the endpoints ----------------------------------------------------------------

    def _register(self, caller: Caller, body: bytes) -> Answer:
        request = _body(models.RegisterRequest, body) if body.strip() else None
        checkpoint_id = request.checkpoint_id if request else None
        return _view(self.store.run(instances.register, caller, checkpoint_id))

    def _save(
        self, caller: Caller, key: str, state: bytes, content_type: str, request_id: str | None
    ) -> bytes:
        if protocol.is_json(content_type):
            protocol.check_state(key, state)
        result: CheckpointResult = self.store.run(
            checkpoints.save_checkpoint, caller, key, state, content_type, request_id
        )
        return protocol.save_answer(result)

    def _save_batch(self, caller: Caller, body: bytes, request_id: str | None) -> Answer:
        entries = protocol.batch_entries(body, self.settings.max_state_bytes)
        result = self.store.run(checkpoints.save_checkpoints, caller, entries, request_id)
        return _ok(protocol.batch_document(result.saved, result.conflict, result.signal))

    def _page(self, caller: Caller, query: str) -> Answer:
        """A page of this instance's checkpoints; a query the app would refuse is left
        to it (its 422 wording)."""
        try:
            values = {k: int(v[-1]) for k, v in parse_qs(query, strict_parsing=bool(query)).items()}
        except ValueError:
            raise _Unreadable from None
        after, limit = values.pop("after", 0), values.pop("limit", 1000)
        if values or after < 0 or not 1 <= limit <= 10_000:
            raise _Unreadable
        page, more = self.store.run(checkpoints.own_checkpoints, caller, after=after, limit=limit)
        return _ok(protocol.page_document(page, more))

    def _sleep(self, caller: Caller, body: bytes) -> Answer:
        request = _body(models.SleepRequest, body)
        result = self.store.run(checkpoints.sleep, caller, request.key, request.duration_ms)
        return _model(
            models.SleepAnswer(
                wake_at=result.wake_at, remaining_ms=result.remaining_ms, exit=result.exit
            )
        )

    def _events(self, caller: Caller, body: bytes) -> Answer:
        request = _body(models.EventBatch, body)
        batch = [
            events.NewEvent(e.event_type, e.subtype, e.payload, e.timestamp_ms)
            for e in request.events
        ]
        return _model(models.Accepted(accepted=self.store.run(events.add_events, caller, batch)))

    def _retry(self, caller: Caller, body: bytes) -> Answer:
        request = _body(models.RetryRequest, body)
        self.store.run(events.record_retry, caller, request.key, request.attempt, request.error)
        return _model(models.Accepted(accepted=1))

    def _failed(self, caller: Caller, body: bytes) -> Answer:
        request = _body(models.FailedRequest, body)
        if request.error is None:
            raise InvalidInput("failed needs an error (a message or an object)")
        return _view(self.store.run(instances.fail, caller, request.error))

    # -- everything else: the service's own app -----------------------------------------

    def _by_app(self, header: dict[str, Any], body: bytes) -> Answer:
        """Answer through the FastAPI app (imported now, once), in this thread."""
        if self._app is None:
            from runtara.runtime.api.app import create_asgi_app

            self._app = create_asgi_app(self.settings, store=self.store)
            self._app.app.state.store = self.store  # its lifespan (scheduler) never runs
        raw_path = str(header["path"]).encode()
        path, _, query = raw_path.partition(b"?")
        headers = [(b"host", b"runtara-run"), (b"content-length", str(len(body)).encode())]
        if header.get("content_type"):
            headers.append((b"content-type", str(header["content_type"]).encode()))
        if header.get("idempotency_key"):
            headers.append((b"idempotency-key", str(header["idempotency_key"]).encode()))
        if header.get("token"):
            headers.append((b"authorization", f"Bearer {header['token']}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": str(header["method"]),
            "scheme": "http",
            "path": unquote(path.decode("latin-1")),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": ("runtara-run", 0),
        }
        status = 500
        chunks: list[bytes] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # the request has no more body
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        asyncio.run(self._app(scope, receive, send))
        return status, b"".join(chunks)


def _key(quoted: str) -> str:
    key = unquote(quoted)
    if not key:
        raise InvalidInput("a checkpoint key must not be empty")
    if "\x00" in key:
        raise InvalidInput("ids and checkpoint keys must not contain NUL characters")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"a checkpoint key has at most {MAX_KEY_LENGTH} characters")
    return key


def _body(model: type[M], body: bytes) -> M:
    try:
        document = json.loads(body) if body else None
    except (ValueError, RecursionError):
        raise _Unreadable from None
    return model.model_validate(document)


class _Unreadable(Exception):
    """A request body that is not JSON (the app says why)."""


def _ok(document: Any) -> Answer:
    return 200, json.dumps(document, separators=(",", ":")).encode()


def _model(answer: BaseModel) -> Answer:
    return 200, answer.model_dump_json().encode()


def _view(instance: instances.Instance) -> Answer:
    return _model(
        models.InstanceView(
            status=instance.status,
            input=instance.input,
            attempts=instance.attempts,
            last_checkpoint_id=instance.last_checkpoint_id,
        )
    )


def _problem(status: int, title: str, detail: str, **extra: Any) -> Answer:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return status, json.dumps(body).encode()
