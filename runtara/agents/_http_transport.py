"""One HTTP exchange over ``http.client``: TLS, redirects, time and size limits.

Kept apart from the capability so that the agent module only maps inputs and outputs.
Errors are classified here: timeouts and dropped connections are transient, TLS and
protocol failures permanent. URLs in messages never include user info.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

from runtara.agents.errors import InputError, PermanentError, TransientError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers dropped when a redirect leaves the original origin, whoever set them; the
#: headers a connection set (an API key under any name) are dropped with them.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    max_redirects: int
    max_response_bytes: int
    follow_redirects: bool


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def display_url(url: str) -> str:
    """The URL without user info (credentials), for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


@lru_cache(maxsize=16)
def tls_context(verify: bool, ca_cert: str | None) -> ssl.SSLContext:
    """Verification on by default; ``ca_cert`` is PEM text or a path to a PEM file.

    Cached: loading the system trust store takes milliseconds, far more than a request.
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if not ca_cert:
        return ssl.create_default_context()
    try:
        if "-----BEGIN" in ca_cert:
            return ssl.create_default_context(cadata=ca_cert)
        if os.path.isfile(ca_cert):
            return ssl.create_default_context(cafile=ca_cert)
    except ssl.SSLError as exc:
        raise InputError(
            f"ca_cert is not a valid PEM certificate: {exc}", field="ca_cert"
        ) from None
    raise InputError("ca_cert must be PEM text or the path of a PEM file", field="ca_cert")


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)``: what must stay the same for credentials to follow."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # an invalid port: no origin matches it
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    limits: Limits,
    context: ssl.SSLContext,
    *,
    credentials: frozenset[str] = frozenset(),
) -> Response:
    """Send the request, following redirects within the limits; read the whole body.

    A redirect to another origin (scheme, host or port; an https -> http downgrade is
    one) drops every credential for the rest of the chain: ``Authorization``,
    ``Proxy-Authorization``, ``Cookie`` and the headers named in ``credentials`` (the
    ones a connection set, e.g. an API key header). Same-origin redirects keep them.
    """
    deadline = time.monotonic() + limits.timeout_s
    first = origin(url)
    secret = CREDENTIAL_HEADERS | {name.lower() for name in credentials}
    for _ in range(limits.max_redirects + 1):
        response = _exchange(method, url, headers, body, limits, context, deadline)
        location = response.header("location")
        if not (limits.follow_redirects and response.status in REDIRECT_STATUSES and location):
            return response
        url = urllib.parse.urljoin(url, location)
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise PermanentError(
                f"redirect to unsupported URL {display_url(url)}", code="HTTP_REDIRECT_ERROR"
            )
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = ("GET" if method != "HEAD" else "HEAD"), None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if origin(url) != first:
            headers = {k: v for k, v in headers.items() if k.lower() not in secret}
    raise PermanentError(
        f"more than {limits.max_redirects} redirects, last to {display_url(url)}",
        code="HTTP_TOO_MANY_REDIRECTS",
    )


def _exchange(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    limits: Limits,
    context: ssl.SSLContext,
    deadline: float,
) -> Response:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"url must be an absolute http(s) URL, got {display_url(url)!r}", field="url"
        )
    remaining = max(deadline - time.monotonic(), 0.001)
    connection: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=remaining, context=context
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=remaining)
    except ValueError as exc:
        raise InputError(f"invalid url {display_url(url)!r}: {exc}", field="url") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    shown = f"{method} {display_url(url)}"
    try:
        connection.request(method, target, body=body, headers=headers)
        raw = connection.getresponse()
        try:
            data = _read_body(raw, limits.max_response_bytes, deadline, shown)
        finally:
            # Now, not when the exception is collected: a refused body must not keep
            # the socket (and the server's sending side) open.
            raw.close()
        return Response(raw.status, raw.reason, raw.getheaders(), data, url)
    except TimeoutError:
        raise TransientError(
            f"{shown} timed out after {limits.timeout_s * 1000:.0f} ms", code="HTTP_TIMEOUT"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(
            f"{shown}: TLS certificate not trusted ({exc.verify_message})", code="HTTP_TLS_ERROR"
        ) from None
    except ssl.SSLError as exc:
        raise PermanentError(f"{shown}: TLS error ({exc.reason})", code="HTTP_TLS_ERROR") from None
    except socket.gaierror as exc:
        raise TransientError(
            f"{shown}: cannot resolve host ({exc.strerror})", code="HTTP_CONNECTION_ERROR"
        ) from None
    except (ConnectionError, http.client.RemoteDisconnected) as exc:
        raise TransientError(
            f"{shown}: connection failed ({type(exc).__name__})", code="HTTP_CONNECTION_ERROR"
        ) from None
    except http.client.InvalidURL as exc:
        raise InputError(f"{shown}: invalid request ({exc})", field="url") from None
    except http.client.HTTPException as exc:
        raise PermanentError(
            f"{shown}: invalid HTTP response ({type(exc).__name__})", code="HTTP_PROTOCOL_ERROR"
        ) from None
    except ValueError as exc:  # a header value with a line break, a URL with a space, ...
        raise InputError(f"{shown}: invalid request ({exc})") from None
    except OSError as exc:
        raise TransientError(
            f"{shown}: network error ({exc.strerror or type(exc).__name__})",
            code="HTTP_CONNECTION_ERROR",
        ) from None
    finally:
        connection.close()


def _read_body(raw: http.client.HTTPResponse, limit: int, deadline: float, shown: str) -> bytes:
    declared = raw.getheader("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PermanentError(
            f"{shown}: response of {declared} bytes exceeds max_response_bytes ({limit})",
            code="HTTP_RESPONSE_TOO_LARGE",
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = raw.read1(CHUNK_SIZE) if hasattr(raw, "read1") else raw.read(CHUNK_SIZE)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise PermanentError(
                f"{shown}: response exceeds max_response_bytes ({limit})",
                code="HTTP_RESPONSE_TOO_LARGE",
            )
        chunks.append(chunk)
