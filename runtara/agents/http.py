"""The ``http`` agent: one HTTP request with auth from a connection, retries and limits.

Standard library only (``http.client``), since it runs inside workflow images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from runtara.agents.framework import Doc, agent

http_agent = agent(
    "http",
    name="HTTP",
    description="Make HTTP requests; accepts http_bearer, http_api_key and http_basic connections.",
    secure=True,
)

Method = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@http_agent.capability(
    output=(
        "`{status_code, headers, body, success}`: body is JSON (response_type json, when it "
        "parses), text, or base64 (binary); success is true for 2xx."
    ),
)
def http_request(
    *,
    method: Annotated[Method, Doc("HTTP method.")] = "GET",
    url: Annotated[str, Doc("Absolute URL, or a path joined to the connection's base_url.")],
    connection_id: Annotated[
        str | None, Doc("Informational; the connection arrives as _connection.")
    ] = None,
    headers: Annotated[dict[str, Any] | None, Doc("Request headers.")] = None,
    query_parameters: Annotated[
        dict[str, Any] | None, Doc("Query parameters, URL-encoded and appended.")
    ] = None,
    body: Annotated[Any, Doc("Request body (JSON value, text, or base64 for binary).")] = None,
    body_type: Annotated[
        Literal["json", "text", "binary", "multipart"], Doc("How `body` is sent.")
    ] = "json",
    multipart: Annotated[
        list[dict[str, Any]] | None,
        Doc("Parts `{name, value}` or `{name, content (base64), filename?, mimeType?}`."),
    ] = None,
    response_type: Annotated[
        Literal["json", "text", "binary"], Doc("How the response body is read.")
    ] = "json",
    timeout_ms: Annotated[int, Doc("Timeout per attempt, in milliseconds.")] = 30_000,
    fail_on_error: Annotated[bool, Doc("Fail the step on a non-2xx status.")] = True,
    max_retries: Annotated[
        int, Doc("Retries on 429 and 5xx inside this call (Retry-After is honoured).")
    ] = 2,
    follow_redirects: Annotated[bool, Doc("Follow 3xx redirects.")] = True,
    max_redirects: Annotated[int, Doc("Most redirects followed.")] = 10,
    max_response_bytes: Annotated[int, Doc("Largest response body accepted (default 50 MiB).")] = 50
    * 1024
    * 1024,
    verify_tls: Annotated[bool, Doc("Verify the server's TLS certificate.")] = True,
    ca_cert: Annotated[
        str | None, Doc("PEM CA certificate(s) to trust instead of the system store.")
    ] = None,
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Make an HTTP request."""
    raise NotImplementedError
