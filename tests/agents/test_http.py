"""The http agent against real local HTTP(S) servers (pytest-httpserver, trustme CA)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke

TOKEN = "s3cr3t-token-value"


def request(inputs: dict[str, Any], connection: dict[str, Any] | None = None) -> Any:
    return invoke("http", "http-request", inputs, connection=connection, step_id="call")


def bearer(base_url: str | None = None, token: str = TOKEN) -> dict[str, Any]:
    params: dict[str, Any] = {"token": token}
    if base_url:
        params["base_url"] = base_url
    return {"integration_id": "http_bearer", "parameters": params}


def test_get_json_with_query_and_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/items",
        method="GET",
        query_string="q=a+b&tag=x&tag=y&flag=true",
        headers={"X-Trace": "42"},
    ).respond_with_json({"items": [1, 2]}, headers={"X-Total": "2"})

    result = request(
        {
            "url": httpserver.url_for("/items"),
            "query_parameters": {"q": "a b", "tag": ["x", "y"], "flag": True, "skip": None},
            "headers": {"X-Trace": 42},
        }
    )

    assert result["status_code"] == 200
    assert result["success"] is True
    assert result["body"] == {"items": [1, 2]}
    assert result["headers"]["x-total"] == "2"
    assert result["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_json_body_is_sent_with_the_method(httpserver: HTTPServer, method: str) -> None:
    httpserver.expect_request("/orders", method=method).respond_with_handler(
        lambda r: Response(
            json.dumps({"got": r.get_json(), "type": r.content_type}),
            status=201,
            content_type="application/json",
        )
    )

    result = request(
        {"method": method, "url": httpserver.url_for("/orders"), "body": {"sku": "A-1", "qty": 2}}
    )

    assert result["status_code"] == 201
    assert result["body"] == {"got": {"sku": "A-1", "qty": 2}, "type": "application/json"}


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options(httpserver: HTTPServer, method: str) -> None:
    httpserver.expect_request("/r", method=method).respond_with_data(
        "", headers={"Allow": "GET, HEAD, OPTIONS"}
    )

    result = request({"method": method, "url": httpserver.url_for("/r")})

    assert result["status_code"] == 200
    assert result["body"] is None


def test_text_and_binary_bodies(httpserver: HTTPServer) -> None:
    seen: list[tuple[str, bytes]] = []

    def record(r: Request) -> Response:
        seen.append((r.content_type or "", r.get_data()))
        return Response("ok")

    httpserver.expect_request("/upload", method="POST").respond_with_handler(record)
    raw = bytes(range(256))

    request(
        {
            "method": "POST",
            "url": httpserver.url_for("/upload"),
            "body": "héllo",
            "body_type": "text",
        }
    )
    request(
        {
            "method": "POST",
            "url": httpserver.url_for("/upload"),
            "body": {"content": base64.b64encode(raw).decode(), "mimeType": "image/png"},
            "body_type": "binary",
        }
    )

    assert seen[0] == ("text/plain; charset=utf-8", "héllo".encode())
    assert seen[1] == ("image/png", raw)


def test_multipart_form_with_a_file(httpserver: HTTPServer) -> None:
    def echo(r: Request) -> Response:
        upload = r.files["doc"]
        return Response(
            json.dumps(
                {
                    "note": r.form["note"],
                    "filename": upload.filename,
                    "mimetype": upload.mimetype,
                    "content": upload.read().decode(),
                }
            ),
            content_type="application/json",
        )

    httpserver.expect_request("/form", method="POST").respond_with_handler(echo)

    result = request(
        {
            "method": "POST",
            "url": httpserver.url_for("/form"),
            "body_type": "multipart",
            "multipart": [
                {"name": "note", "value": "quarterly"},
                {
                    "name": "doc",
                    "content": base64.b64encode(b"a,b\n1,2\n").decode(),
                    "filename": "q1.csv",
                    "mimeType": "text/csv",
                },
            ],
        }
    )

    assert result["body"] == {
        "note": "quarterly",
        "filename": "q1.csv",
        "mimetype": "text/csv",
        "content": "a,b\n1,2\n",
    }


def test_response_types(httpserver: HTTPServer) -> None:
    payload = b"\x00\x01binary\xff"
    httpserver.expect_request("/bin").respond_with_data(
        payload, content_type="application/octet-stream"
    )
    httpserver.expect_request("/json-as-text").respond_with_data(
        '{"a": 1}', content_type="application/json"
    )
    httpserver.expect_request("/plain").respond_with_data("not json", content_type="text/plain")

    binary = request({"url": httpserver.url_for("/bin"), "response_type": "binary"})
    text = request({"url": httpserver.url_for("/json-as-text"), "response_type": "text"})
    fallback = request({"url": httpserver.url_for("/plain")})

    assert base64.b64decode(binary["body"]) == payload
    assert text["body"] == '{"a": 1}'
    assert fallback["body"] == "not json"  # Runtara: JSON when it parses, else text


def test_body_declared_json_that_is_not_json_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/broken").respond_with_data(
        "<html>oops</html>", content_type="application/json"
    )

    with pytest.raises(AgentError) as caught:
        request({"url": httpserver.url_for("/broken")})

    assert caught.value.code == "HTTP_INVALID_JSON"
    assert "/broken" in caught.value.message


def test_error_status_fails_the_step_or_is_returned(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing").respond_with_json({"error": "no such order"}, status=404)

    with pytest.raises(AgentError) as caught:
        request({"url": httpserver.url_for("/missing")})
    returned = request({"url": httpserver.url_for("/missing"), "fail_on_error": False})

    assert caught.value.code == "HTTP_404"
    assert caught.value.category == "permanent"
    assert "status 404" in caught.value.message
    assert httpserver.url_for("/missing") in caught.value.message
    assert "no such order" in caught.value.message
    assert returned == {
        "status_code": 404,
        "headers": returned["headers"],
        "body": {"error": "no such order"},
        "success": False,
    }


def test_bearer_connection_with_base_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": 7})

    result = request({"url": "me"}, bearer(httpserver.url_for("/v1/")))

    assert result["body"] == {"id": 7}


def test_api_key_connection_with_custom_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/k", headers={"X-Shop-Key": "k-123456"}).respond_with_json({})
    connection = {
        "integration_id": "http_api_key",
        "parameters": {"api_key": "k-123456", "header_name": "X-Shop-Key"},
    }

    assert request({"url": httpserver.url_for("/k")}, connection)["success"] is True


def test_api_key_connection_default_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/k", headers={"X-API-Key": "k-123456"}).respond_with_json({})
    connection = {"integration_id": "http_api_key", "parameters": {"api_key": "k-123456"}}

    assert request({"url": httpserver.url_for("/k")}, connection)["success"] is True


def test_basic_connection(httpserver: HTTPServer) -> None:
    expected = "Basic " + base64.b64encode(b"ann:pa:ss").decode()
    httpserver.expect_request("/b", headers={"Authorization": expected}).respond_with_json({})
    connection = {
        "integration_id": "http_basic",
        "parameters": {"username": "ann", "password": "pa:ss", "base_url": httpserver.url_for("/")},
    }

    assert request({"url": "/b"}, connection)["success"] is True


def test_step_header_wins_over_connection_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/h", headers={"Authorization": "Bearer override"}).respond_with_json(
        {}
    )

    result = request(
        {"url": httpserver.url_for("/h"), "headers": {"authorization": "Bearer override"}}, bearer()
    )

    assert result["success"] is True


def test_401_names_status_and_url_but_never_the_token(httpserver: HTTPServer) -> None:
    # A hostile server that echoes the credentials back in its error body.
    httpserver.expect_request("/secure").respond_with_handler(
        lambda r: Response(
            json.dumps({"error": "bad token", "got": r.headers.get("Authorization")}),
            status=401,
            content_type="application/json",
        )
    )

    with pytest.raises(AgentError) as caught:
        request({"url": "secure"}, bearer(httpserver.url_for("/")))

    message = str(caught.value)
    assert caught.value.code == "HTTP_401"
    assert "401" in message and httpserver.url_for("/secure") in message
    assert TOKEN not in message
    assert TOKEN not in json.dumps(caught.value.to_json())


def test_429_is_retried_after_the_retry_after_delay(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/busy").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_request("/busy").respond_with_json({"ok": True})

    started = time.monotonic()
    result = request({"url": httpserver.url_for("/busy")})
    elapsed = time.monotonic() - started

    assert result["body"] == {"ok": True}
    assert len(httpserver.log) == 2
    assert elapsed >= 0.95


def test_5xx_retries_run_out_into_a_transient_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("unavailable", status=503)

    with pytest.raises(AgentError) as caught:
        request({"url": httpserver.url_for("/down"), "max_retries": 2})

    assert caught.value.category == "transient"
    assert caught.value.code == "HTTP_503"
    assert len(httpserver.log) == 3


def test_long_retry_after_is_handed_to_the_caller_not_slept(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/later").respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )

    with pytest.raises(AgentError) as caught:
        request({"url": httpserver.url_for("/later")})

    assert len(httpserver.log) == 1  # handed over at once: not slept on, not retried
    assert caught.value.category == "transient"
    assert caught.value.retry_after_ms == 3_600_000
    assert len(httpserver.log) == 1


def test_redirects_are_followed_and_post_becomes_get_on_303(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new", method="GET").respond_with_json({"moved": True})

    result = request({"method": "POST", "url": httpserver.url_for("/old"), "body": {"a": 1}})

    assert result["body"] == {"moved": True}


def test_redirect_loop_hits_the_limit(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )

    with pytest.raises(AgentError) as caught:
        request({"url": httpserver.url_for("/loop"), "max_redirects": 3})

    assert caught.value.code == "HTTP_TOO_MANY_REDIRECTS"
    assert len(httpserver.log) == 4


def test_redirects_can_be_disabled(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=302, headers={"Location": "/x"})

    result = request(
        {"url": httpserver.url_for("/r"), "follow_redirects": False, "fail_on_error": False}
    )

    assert result["status_code"] == 302
    assert result["headers"]["location"] == "/x"


def test_redirect_to_another_host_drops_credentials(httpserver: HTTPServer) -> None:
    other_host = httpserver.url_for("/landing").replace("localhost", "127.0.0.1")
    seen: list[str | None] = []

    def landing(r: Request) -> Response:
        seen.append(r.headers.get("Authorization"))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": other_host}
    )
    httpserver.expect_request("/landing").respond_with_handler(landing)

    request({"url": httpserver.url_for("/start").replace("127.0.0.1", "localhost")}, bearer())

    assert seen == [None]


def test_large_response_body(httpserver: HTTPServer) -> None:
    big = b"x" * (8 * 1024 * 1024)
    httpserver.expect_request("/big").respond_with_data(big, content_type="text/plain")

    result = request({"url": httpserver.url_for("/big"), "response_type": "text"})

    assert len(result["body"]) == len(big)


def test_response_size_limit_with_and_without_content_length(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/sized").respond_with_data(b"y" * 5000)
    httpserver.expect_request("/chunked").respond_with_handler(
        lambda r: Response((b"z" * 1000 for _ in range(10)), content_type="text/plain")
    )

    for path in ("/sized", "/chunked"):
        with pytest.raises(AgentError) as caught:
            request({"url": httpserver.url_for(path), "max_response_bytes": 2048})
        assert caught.value.code == "HTTP_RESPONSE_TOO_LARGE"


def test_timeout_is_transient_and_prompt(httpserver: HTTPServer) -> None:
    release, answered = threading.Event(), threading.Event()

    def slow(_: Request) -> Response:
        release.wait(30)
        answered.set()
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)

    try:
        with pytest.raises(AgentError) as caught:
            request({"url": httpserver.url_for("/slow"), "timeout_ms": 200, "max_retries": 0})
        assert not answered.is_set()  # gave up while the server still held the answer
    finally:
        release.set()
    assert caught.value.code == "HTTP_TIMEOUT"
    assert caught.value.category == "transient"


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(AgentError) as caught:
        request({"url": f"http://127.0.0.1:{port}/"})

    assert caught.value.category == "transient"
    assert caught.value.code == "HTTP_CONNECTION_ERROR"


def test_tls_with_untrusted_certificate_is_refused(https_server: HTTPServer) -> None:
    https_server.expect_request("/tls").respond_with_json({"secure": True})

    with pytest.raises(AgentError) as caught:
        request({"url": https_server.url_for("/tls")})

    assert caught.value.code == "HTTP_TLS_ERROR"
    assert caught.value.category == "permanent"


def test_tls_with_custom_ca(https_server: HTTPServer, ca_pem: str) -> None:
    https_server.expect_request("/tls").respond_with_json({"secure": True})

    result = request({"url": https_server.url_for("/tls"), "ca_cert": ca_pem})

    assert https_server.url_for("/tls").startswith("https://")
    assert result["body"] == {"secure": True}


def test_tls_verification_can_be_disabled(https_server: HTTPServer) -> None:
    https_server.expect_request("/tls").respond_with_json({"secure": True})

    assert request({"url": https_server.url_for("/tls"), "verify_tls": False})["success"] is True


def test_relative_url_without_base_url_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        request({"url": "/orders"})

    assert caught.value.field == "url"
    assert "step 'call' (http:http-request)" in str(caught.value)


def test_connection_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        request({"url": "http://127.0.0.1:1/"}, {"integration_id": "sftp", "parameters": {}})

    assert "sftp" in str(caught.value)


def test_credentials_echoed_by_the_server_never_reach_the_output(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/echo").respond_with_handler(
        lambda r: Response(
            json.dumps({"you_sent": r.headers.get("Authorization"), "token": "issued-by-api"}),
            content_type="application/json",
            headers={"X-Echo": r.headers.get("Authorization", "")},
        )
    )

    result = request({"url": httpserver.url_for("/echo")}, bearer())

    assert TOKEN not in json.dumps(result)
    assert result["body"] == {"you_sent": "Bearer ***", "token": "issued-by-api"}
    assert result["headers"]["x-echo"] == "Bearer ***"


@pytest.mark.parametrize(
    "inputs",
    [
        {"headers": {"X-Evil": "a\r\nInjected: yes"}},
        {"url_suffix": "/a b"},
    ],
)
def test_header_injection_and_bad_urls_are_input_errors(
    httpserver: HTTPServer, inputs: dict[str, Any]
) -> None:
    url = httpserver.url_for("/ok") + inputs.pop("url_suffix", "")

    with pytest.raises(InputError, match="invalid request"):
        request({"url": url, **inputs})

    assert len(httpserver.log) == 0


def test_text_is_decoded_with_the_declared_charset(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/pl").respond_with_data(
        "Kraków".encode("iso-8859-2"), content_type="text/plain; charset=ISO-8859-2"
    )

    assert request({"url": httpserver.url_for("/pl"), "response_type": "text"})["body"] == "Kraków"
