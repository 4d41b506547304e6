"""The ``http`` agent: one HTTP request with auth from a connection, retries and limits.

Standard library only (``http.client``), since it runs inside workflow images.
"""

from __future__ import annotations

import base64
import codecs
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Literal

from runtara.agents import _http_transport as transport
from runtara.agents.connections import connection_parameters
from runtara.agents.errors import AgentError, InputError, PermanentError, TransientError
from runtara.agents.files import (
    DEFAULT_MAX_READ_BYTES,
    MAX_READ_BYTES,
    read_ceiling,
    to_bytes,
)
from runtara.agents.framework import Doc, agent
from runtara.agents.progress import report

http_agent = agent(
    "http",
    name="HTTP",
    description="Make HTTP requests; accepts http_bearer, http_api_key and http_basic connections.",
    secure=True,
)

Method = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

#: A response body is held whole (see ``files.read_ceiling``).
DEFAULT_MAX_RESPONSE_BYTES = DEFAULT_MAX_READ_BYTES
MAX_RESPONSE_BYTES = MAX_READ_BYTES


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
    max_response_bytes: Annotated[
        int,
        Doc(
            "Largest response body accepted (default 10 MiB, at most 64 MiB): the step's "
            "output is checkpointed, and the runtime takes 16 MiB per checkpoint by default."
        ),
    ] = DEFAULT_MAX_RESPONSE_BYTES,
    verify_tls: Annotated[bool, Doc("Verify the server's TLS certificate.")] = True,
    ca_cert: Annotated[
        str | None, Doc("PEM CA certificate(s) to trust instead of the system store.")
    ] = None,
    _connection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Make an HTTP request."""
    auth_headers, base_url = _connection_auth(_connection)
    full_url = _with_query(_resolve_url(url, base_url), query_parameters or {})
    request_headers = _merge_headers(headers or {}, auth_headers)
    payload = None
    if method not in ("GET", "HEAD"):
        payload = _encode_body(body, body_type, multipart, request_headers)
    limits = transport.Limits(
        timeout_s=_positive(timeout_ms, "timeout_ms") / 1000,
        max_redirects=max(max_redirects, 0),
        max_response_bytes=read_ceiling(max_response_bytes, "max_response_bytes"),
        follow_redirects=follow_redirects,
    )
    context = transport.tls_context(verify_tls, ca_cert or None)
    attempts = max(max_retries, 0) + 1
    for attempt in range(attempts):
        response = transport.send(
            method,
            full_url,
            request_headers,
            payload,
            limits,
            context,
            credentials=frozenset(auth_headers),
        )
        if response.status not in RETRY_STATUSES or attempt == attempts - 1:
            break
        wait = _retry_wait(response, attempt)
        if wait is None:
            break
        report(
            f"{method} {transport.display_url(response.url)}: attempt {attempt + 1} of "
            f"{attempts} answered HTTP {response.status}; retrying in {wait:g} s",
            "retry",
            cause=f"HTTP {response.status}",
            attempt=attempt + 1,
            attempts=attempts,
            wait_s=wait,
        )
        time.sleep(wait)
    success = 200 <= response.status < 300
    if not success and fail_on_error:
        raise _status_error(method, response)
    return {
        "status_code": response.status,
        "headers": _response_headers(response),
        "body": _decode_body(response, response_type, method),
        "success": success,
    }


#: Statuses retried inside the call (and classified transient when retries run out).
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Longest Retry-After honoured by sleeping here; a longer one ends the call with a
#: transient error carrying ``retry_after_ms`` so the step's own retry can wait instead.
MAX_RETRY_AFTER_S = 30.0
BACKOFF_BASE_S = 0.25
ERROR_BODY_CHARS = 500

_CONNECTION_TYPES = {
    "http_bearer": "bearer",
    "bearer": "bearer",
    "http_api_key": "api_key",
    "api_key": "api_key",
    "http_basic": "basic",
    "basic_auth": "basic",
}


def _connection_auth(connection: Mapping[str, Any] | None) -> tuple[dict[str, str], str | None]:
    """Auth headers and base URL from a connection (none without one)."""
    if connection is None:
        return {}, None
    integration, params = connection_parameters(
        connection, expected=tuple(_CONNECTION_TYPES), capability="http:http-request"
    )
    kind = _CONNECTION_TYPES[integration]
    base_url = params.get("base_url") or None
    if kind == "bearer":
        token = _required_param(params, "token", integration)
        return {"Authorization": f"Bearer {token}"}, base_url
    if kind == "api_key":
        key = _required_param(params, "api_key", integration)
        return {str(params.get("header_name") or "X-API-Key"): key}, base_url
    username = _required_param(params, "username", integration)
    password = str(params.get("password") or "")
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {credentials}"}, base_url


def _required_param(params: Mapping[str, Any], name: str, integration: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"{integration} connection has no {name!r}", field="_connection")
    if "\r" in value or "\n" in value:
        raise InputError(
            f"{integration} connection parameter {name!r} contains a line break",
            field="_connection",
        )
    return value


def _resolve_url(url: str, base_url: str | None) -> str:
    if re.match(r"^https?://", url, re.IGNORECASE):
        return url
    if not base_url:
        raise InputError(
            f"url {url!r} is not absolute and the connection has no base_url", field="url"
        )
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def _with_query(url: str, query: Mapping[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((str(key), _text(item)))
    if not pairs:
        return url
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(pairs)


def _merge_headers(step: Mapping[str, Any], auth: Mapping[str, str]) -> dict[str, str]:
    """Step headers win over the connection's when both set the same name."""
    merged = {str(k): _text(v) for k, v in step.items() if v is not None}
    present = {k.lower() for k in merged}
    for key, value in auth.items():
        if key.lower() not in present:
            merged[key] = value
    return merged


def _encode_body(
    body: Any,
    body_type: str,
    multipart: list[dict[str, Any]] | None,
    headers: dict[str, str],
) -> bytes | None:
    """Serialize the body and set Content-Type unless the step set it."""
    if body_type == "multipart":
        parts = multipart if multipart is not None else body
        if not isinstance(parts, list):
            raise InputError("multipart needs a list of parts", field="multipart")
        payload, content_type = _multipart(parts)
        _default_header(headers, "Content-Type", content_type)
        return payload
    if body is None:
        return None
    if body_type == "binary":
        if isinstance(body, Mapping) and body.get("mimeType"):
            _default_header(headers, "Content-Type", str(body["mimeType"]))
        _default_header(headers, "Content-Type", "application/octet-stream")
        return to_bytes(body, field="body")
    if body_type == "text":
        _default_header(headers, "Content-Type", "text/plain; charset=utf-8")
        return _text(body).encode("utf-8")
    _default_header(headers, "Content-Type", "application/json")
    if isinstance(body, str):
        return body.encode("utf-8")
    try:
        return json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InputError(f"body cannot be sent as JSON: {exc}", field="body") from None


def _multipart(parts: list[Any]) -> tuple[bytes, str]:
    boundary = "runtara-" + secrets.token_hex(16)
    out = bytearray()
    for index, part in enumerate(parts):
        where = f"multipart[{index}]"
        if not isinstance(part, Mapping) or not isinstance(part.get("name"), str):
            raise InputError(f"{where} must be an object with a 'name'", field="multipart")
        name = _quote(part["name"])
        out += f"--{boundary}\r\n".encode()
        if "content" in part:
            data = to_bytes(part["content"], field=f"{where}.content")
            filename = _quote(str(part.get("filename") or part["name"]))
            mime = str(part.get("mimeType") or "application/octet-stream")
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {mime}\r\n\r\n"
            ).encode()
            out += data
        else:
            value = part.get("value")
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += (value if isinstance(value, str) else json.dumps(value)).encode("utf-8")
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _quote(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise InputError("multipart names cannot contain line breaks", field="multipart")
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _default_header(headers: dict[str, str], name: str, value: str) -> None:
    if name.lower() not in {k.lower() for k in headers}:
        headers[name] = value


def _retry_wait(response: transport.Response, attempt: int) -> float | None:
    """Seconds to wait before the next attempt, or None when the wait is too long."""
    retry_after = _retry_after_seconds(response)
    if retry_after is None:
        return float(min(BACKOFF_BASE_S * 2**attempt, MAX_RETRY_AFTER_S))
    return retry_after if retry_after <= MAX_RETRY_AFTER_S else None


def _retry_after_seconds(response: transport.Response) -> float | None:
    value = (response.header("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _status_error(method: str, response: transport.Response) -> AgentError:
    shown = transport.display_url(response.url)
    excerpt = response.body[:ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
    message = f"HTTP request failed with status {response.status}: {method} {shown}"
    if excerpt:
        message += f": {excerpt}"
    details = {"status_code": response.status}
    error: AgentError
    if response.status in RETRY_STATUSES:
        error = TransientError(message, code=f"HTTP_{response.status}", details=details)
        retry_after = _retry_after_seconds(response)
        if retry_after is not None:
            error.retry_after_ms = int(retry_after * 1000)
    else:
        error = PermanentError(message, code=f"HTTP_{response.status}", details=details)
    return error


def _response_headers(response: transport.Response) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in response.headers:
        name = key.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _decode_body(response: transport.Response, response_type: str, method: str) -> Any:
    data = response.body
    if response_type == "binary":
        return base64.b64encode(data).decode("ascii")
    content_type = response.header("content-type") or ""
    text = data.decode(_charset(content_type), "replace")
    if response_type == "text":
        return text
    if not data.strip() or method == "HEAD":
        return None if not data else text
    try:
        return json.loads(text)
    except ValueError as exc:
        if _declares_json(content_type):
            raise PermanentError(
                f"{method} {transport.display_url(response.url)} declared JSON "
                f"({content_type}) but the body is not valid JSON: {exc}",
                code="HTTP_INVALID_JSON",
            ) from None
        return text


_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _charset(content_type: str) -> str:
    match = _CHARSET.search(content_type)
    charset = match.group(1) if match else "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    return charset


def _declares_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or mime.endswith("+json")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _positive(value: int, name: str) -> int:
    if value <= 0:
        raise InputError(f"{name} must be positive", field=name)
    return value
