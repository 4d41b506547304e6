"""Issue 11 item 3: credentials a connection supplies never follow a redirect to another
origin (scheme, host or port), against real local servers (two ports = two origins)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.agents.invoke import invoke

SECRET = "s3cr3t-credential-value"

CONNECTIONS: dict[str, dict[str, Any]] = {
    "bearer": {"integration_id": "http_bearer", "parameters": {"token": SECRET}},
    "basic": {
        "integration_id": "http_basic",
        "parameters": {"username": "user", "password": SECRET},
    },
    "api_key": {
        "integration_id": "http_api_key",
        "parameters": {"api_key": SECRET, "header_name": "X-Tenant-Secret"},
    },
}


def call(url: str, connection: dict[str, Any], **inputs: Any) -> Any:
    return invoke(
        "http",
        "http-request",
        {"url": url, "headers": {"Cookie": f"session={SECRET}"}, **inputs},
        connection=connection,
        step_id="call",
    )


@pytest.fixture
def other() -> Iterator[HTTPServer]:
    """A second server: same host, another port, so another origin."""
    server = HTTPServer(host="localhost", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def tls_server() -> Iterator[HTTPServer]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.ca_pem = ca.cert_pem.bytes().decode("ascii")  # type: ignore[attr-defined]
    server.start()
    yield server
    server.clear()
    server.stop()


def recorder(seen: list[str]) -> Any:
    """A handler that records every header value it received, then answers ``{}``."""

    def handle(request: Request) -> Response:
        seen.extend(value for _, value in request.headers.items())
        return Response("{}", content_type="application/json")

    return handle


def leaked(seen: list[str]) -> bool:
    import base64

    basic = base64.b64encode(f"user:{SECRET}".encode()).decode()
    return any(SECRET in value or basic in value for value in seen)


@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_a_redirect_to_another_port_drops_every_credential(
    httpserver: HTTPServer, other: HTTPServer, kind: str
) -> None:
    seen: list[str] = []
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": other.url_for("/landing")}
    )
    other.expect_request("/landing").respond_with_handler(recorder(seen))

    result = call(httpserver.url_for("/start"), CONNECTIONS[kind])

    assert result["status_code"] == 200 and seen, "the redirect was followed"
    assert not leaked(seen), seen


@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_a_same_origin_redirect_keeps_the_credentials(httpserver: HTTPServer, kind: str) -> None:
    seen: list[str] = []
    httpserver.expect_request("/start").respond_with_data(
        "", status=307, headers={"Location": "/landing"}
    )
    httpserver.expect_request("/landing").respond_with_handler(recorder(seen))

    call(httpserver.url_for("/start"), CONNECTIONS[kind])

    assert leaked(seen), "the same origin gets the credentials"


@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_an_https_to_http_downgrade_drops_every_credential(
    tls_server: HTTPServer, other: HTTPServer, kind: str
) -> None:
    seen: list[str] = []
    tls_server.expect_request("/start").respond_with_data(
        "", status=301, headers={"Location": other.url_for("/plain")}
    )
    other.expect_request("/plain").respond_with_handler(recorder(seen))

    start = tls_server.url_for("/start")
    assert start.startswith("https://")
    call(start, CONNECTIONS[kind], ca_cert=tls_server.ca_pem)  # type: ignore[attr-defined]

    assert seen and not leaked(seen), seen


def test_credentials_once_dropped_do_not_come_back(
    httpserver: HTTPServer, other: HTTPServer
) -> None:
    seen: list[str] = []
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": other.url_for("/bounce")}
    )
    other.expect_request("/bounce").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/back")}
    )
    httpserver.expect_request("/back").respond_with_handler(recorder(seen))

    call(httpserver.url_for("/start"), CONNECTIONS["api_key"])

    assert seen and not leaked(seen), "a chain that left the origin carries no credentials"
