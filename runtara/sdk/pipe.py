"""The instance protocol over an inherited socket, for ``runtara run`` on this machine.

``RUNTARA_URL=fd://N`` names a connected socket the parent process passed as file
descriptor ``N``; the parent answers each request from its store directly (no HTTP
server, no web framework). The requests and answers are the HTTP ones (method, path,
body, status, problem documents), framed as::

    request:  !II (header length, body length), header JSON, body
    answer:   !II (header length, body length), header JSON {"status": ...}, body

The main thread and the heartbeat thread share the one socket: a lock keeps each
request and its answer together.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import uuid
from typing import Any

from runtara.sdk.errors import ConfigurationError, RuntimeUnavailable
from runtara.sdk.transport import Transport

SCHEME = "fd://"
_FRAME = struct.Struct("!II")
_channels: dict[int, tuple[socket.socket, threading.Lock]] = {}
_channels_lock = threading.Lock()


def _channel(fd: int) -> tuple[socket.socket, threading.Lock]:
    with _channels_lock:
        found = _channels.get(fd)
        if found is None:
            try:
                sock = socket.socket(fileno=fd)
            except OSError as exc:
                raise ConfigurationError(
                    f"RUNTARA_URL {SCHEME}{fd}: no socket at that descriptor ({exc.strerror})"
                ) from None
            found = _channels[fd] = (sock, threading.Lock())
        return found


def read_frame(sock: socket.socket) -> tuple[dict[str, Any], bytes] | None:
    """One framed message, or None when the other side has closed."""
    head = _read_exactly(sock, _FRAME.size)
    if head is None:
        return None
    header_length, body_length = _FRAME.unpack(head)
    header = _read_exactly(sock, header_length)
    body = _read_exactly(sock, body_length) if body_length else b""
    if header is None or body is None:
        return None
    return json.loads(header), body


def write_frame(sock: socket.socket, header: dict[str, Any], body: bytes) -> None:
    encoded = json.dumps(header, separators=(",", ":")).encode()
    sock.sendall(_FRAME.pack(len(encoded), len(body)) + encoded + body)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    if size == 0:
        return b""
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class PipeTransport(Transport):
    """``Transport`` over the inherited socket; the parent is the runtime."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry_seconds: float = 60.0,
    ) -> None:
        number = url[len(SCHEME) :]
        if not url.startswith(SCHEME) or not number.isdigit():
            raise ConfigurationError(f"runtime URL must be {SCHEME}N here, got {url!r}")
        self.url = url
        self._token = token
        self._sock, self._lock = _channel(int(number))

    def close(self) -> None:
        """The socket is the process's for its whole life (the heartbeat shares it)."""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        *,
        patience: float | None = None,
    ) -> tuple[int, bytes]:
        header = {
            "method": method,
            "path": path,
            "content_type": content_type if body is not None else None,
            "idempotency_key": uuid.uuid4().hex,
            "token": self._token,
        }
        try:
            with self._lock:
                write_frame(self._sock, header, body or b"")
                answer = read_frame(self._sock)
        except OSError as exc:
            raise RuntimeUnavailable(
                f"runtime at {self.url} unreachable ({method} {path}): {exc}"
            ) from None
        if answer is None:
            raise RuntimeUnavailable(f"runtime at {self.url} closed ({method} {path})")
        return int(answer[0]["status"]), answer[1]


def open_transport(
    url: str, token: str | None, *, timeout: float, retry_seconds: float
) -> Transport:
    """The transport ``url`` names: ``fd://N`` here, otherwise HTTP(S)."""
    kind = PipeTransport if url.startswith(SCHEME) else Transport
    return kind(url, token, timeout=timeout, retry_seconds=retry_seconds)
