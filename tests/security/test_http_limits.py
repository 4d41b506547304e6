"""Issue 11 item 7 (http): the response ceiling is bounded, and its default fits a checkpoint."""

from __future__ import annotations

import base64
import json

import pytest
from pytest_httpserver import HTTPServer

from runtara.agents.errors import InputError, PermanentError
from runtara.agents.http import DEFAULT_MAX_RESPONSE_BYTES, MAX_RESPONSE_BYTES
from runtara.agents.invoke import invoke
from runtara.runtime.settings import DEFAULT_MAX_STATE_BYTES


def call(inputs: dict[str, object]) -> object:
    return invoke("http", "http-request", inputs, step_id="call")


def test_a_ceiling_above_the_maximum_is_refused_naming_the_field(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("ok")
    with pytest.raises(InputError) as refused:
        call({"url": httpserver.url_for("/x"), "max_response_bytes": 1 << 30})
    assert refused.value.field == "max_response_bytes"
    assert str(MAX_RESPONSE_BYTES) in str(refused.value)


def test_the_default_ceiling_stops_a_response_before_it_outgrows_a_checkpoint(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * (DEFAULT_MAX_RESPONSE_BYTES + 1))
    with pytest.raises(PermanentError) as refused:
        call({"url": httpserver.url_for("/big"), "response_type": "binary"})
    assert refused.value.code == "HTTP_RESPONSE_TOO_LARGE"


def test_a_response_at_the_default_ceiling_fits_the_default_checkpoint_limit(
    httpserver: HTTPServer,
) -> None:
    body = b"\xff" * DEFAULT_MAX_RESPONSE_BYTES  # binary: travels as base64
    httpserver.expect_request("/edge").respond_with_data(body)
    result = call({"url": httpserver.url_for("/edge"), "response_type": "binary"})
    state = json.dumps(result, separators=(",", ":")).encode()
    assert base64.b64decode(json.loads(state)["body"]) == body
    assert len(state) < DEFAULT_MAX_STATE_BYTES
