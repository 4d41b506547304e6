"""HTTP/JSON to the runtime over keep-alive connections, surviving runtime restarts.

Thread-safe: each request borrows an idle connection from a small pool (or opens a
new one) and gives it back afterwards, so the items of a parallel Split talk to the
runtime concurrently instead of queueing behind one socket.

Transport failures (refused, reset, timed out, 502/503/504) are retried with
exponential backoff for up to ``retry_seconds`` (60 s by default): a runtime that is
restarted meanwhile is simply waited for. Each logical call keeps one
``Idempotency-Key`` across its retries, so the runtime can recognise a repeat of a
request whose answer was lost.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from runtara.sdk.errors import (
    ConfigurationError,
    ProtocolError,
    RuntimeUnavailable,
    StateTooLarge,
)

log = logging.getLogger("runtara.sdk")

_RETRYABLE_STATUS = frozenset({502, 503, 504})
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class Transport:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry_seconds: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port  # ValueError: "http://host:abc", or a port out of range
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise ConfigurationError(f"runtime URL must be http(s)://host:port, got {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._idle: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    #: Idle connections kept open for reuse (more are opened while needed, then closed).
    MAX_IDLE = 64

    def _borrow(self) -> http.client.HTTPConnection:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._pool_lock:
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        *,
        patience: float | None = None,
    ) -> tuple[int, bytes]:
        """Send one request, retrying transport failures for ``patience`` seconds (default:
        the transport's retry window); return status and body."""
        window = self._retry_seconds if patience is None else patience
        headers = dict(self._headers)
        headers["Idempotency-Key"] = uuid.uuid4().hex
        if body is not None:
            headers["Content-Type"] = content_type
        deadline: float | None = None
        delay = 0.05
        while True:
            conn: http.client.HTTPConnection | None = None
            try:
                conn = self._borrow()
                response = self._exchange(conn, method, path, body, headers)
                data = response.read()
                if response.will_close:
                    conn.close()
                else:
                    self._give_back(conn)
                if response.status not in _RETRYABLE_STATUS:
                    return response.status, data
                failure: str = f"HTTP {response.status}"
            except _TRANSPORT_ERRORS as exc:
                if conn is not None:
                    conn.close()
                # Idle connections opened before a runtime restart are dead too.
                self.close()
                failure = f"{type(exc).__name__}: {exc}"
            now = time.monotonic()
            if deadline is None:
                deadline = now + window
                if window >= 1:  # say why the program seems to hang (e.g. no server yet)
                    log.warning(
                        "runtime at %s: %s; retrying for up to %.0f s", self.url, failure, window
                    )
            if now >= deadline:
                raise RuntimeUnavailable(
                    f"runtime at {self.url} unreachable for {window:.0f} s "
                    f"({method} {path}): {failure}"
                )
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 2.0)

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> http.client.HTTPResponse:
        try:
            conn.request(method, self._prefix + path, body=body, headers=headers)
        except OSError:
            # The runtime may refuse a body early (413) and close while we still send;
            # its answer is then waiting in the socket. Without one, it is a real failure.
            try:
                return conn.getresponse()
            except (OSError, http.client.HTTPException):
                pass
            raise
        return conn.getresponse()

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        *,
        patience: float | None = None,
    ) -> Any:
        """A request whose answer is JSON; a 4xx/5xx answer raises ``ProtocolError``."""
        status, data = self.request(method, path, body, content_type, patience=patience)
        if status >= 400:
            raise problem_error(status, data)
        return json.loads(data) if data else None

    def call_json(
        self, method: str, path: str, document: Any = None, *, patience: float | None = None
    ) -> Any:
        body = None if document is None else json.dumps(document, separators=(",", ":")).encode()
        return self.call(method, path, body, patience=patience)


def problem_error(status: int, data: bytes) -> ProtocolError:
    ended: str | None = None
    try:
        problem = json.loads(data)
        title, detail = str(problem.get("title", "")), str(problem.get("detail", ""))
        ended = problem.get("instance_status")
    except (ValueError, AttributeError):
        title, detail = "Error", data[:500].decode(errors="replace")
    kind = StateTooLarge if status == 413 else ProtocolError
    return kind(status, title, detail, instance_status=ended if isinstance(ended, str) else None)
