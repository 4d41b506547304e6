"""The invocation layer: input validation and coercion, connections, error classification."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from runtara.agents.errors import AgentError, InputError, UnknownCapabilityError
from runtara.agents.invoke import invoke


def test_missing_required_input_names_step_capability_and_field() -> None:
    with pytest.raises(InputError) as caught:
        invoke("transform", "extract", {"value": [1]}, step_id="pick")

    assert caught.value.field == "property_path"
    assert str(caught.value) == "step 'pick' (transform:extract): input 'property_path' is required"
    assert caught.value.to_json()["stepId"] == "pick"
    assert caught.value.category == "permanent"


def test_wrong_type_is_reported_with_both_types() -> None:
    with pytest.raises(InputError) as caught:
        invoke("utils", "random-array", {"size": "many"}, step_id="r")

    assert "input 'size' expects integer but got string" in str(caught.value)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"size": "3"}, 3),
        ({"size": 3.0}, 3),
        ({"size": 0}, 0),
    ],
)
def test_lossless_coercion(inputs: dict[str, Any], expected: int) -> None:
    assert len(invoke("utils", "random-array", inputs)) == expected


def test_fractional_number_is_not_an_integer() -> None:
    with pytest.raises(InputError, match="expects integer"):
        invoke("utils", "random-array", {"size": 2.5})


def test_boolean_strings_are_coerced() -> None:
    result = invoke(
        "utils",
        "calculate",
        {"expression": "1/3", "enable_rounding": "true", "decimal_places": "2"},
    )

    assert result == 0.33


def test_enum_violation_lists_the_allowed_values() -> None:
    with pytest.raises(InputError) as caught:
        invoke("text", "case-conversion", {"text": "a", "format": "shout"}, step_id="c")

    message = str(caught.value)
    assert "input 'format' has invalid value 'shout'" in message
    assert "'lowercase', 'uppercase', 'title-case'" in message


def test_null_optional_input_takes_its_default() -> None:
    assert invoke("text", "split", {"text": "a,b", "delimiter": None}) == ["a", "b"]


def test_unknown_input_keys_are_ignored() -> None:
    assert invoke("utils", "return-input", {"value": 1, "extra": 2}) == 1


def test_unknown_agent_and_capability_suggest_a_close_name() -> None:
    with pytest.raises(UnknownCapabilityError, match="Did you mean 'transform'"):
        invoke("transfrom", "extract", {})
    with pytest.raises(UnknownCapabilityError, match="Did you mean 'http-request'"):
        invoke("http", "request", {})


def test_non_secure_agent_refuses_a_connection() -> None:
    connection = {"integration_id": "http_bearer", "parameters": {"token": "abcdef"}}

    with pytest.raises(InputError) as caught:
        invoke("utils", "return-input", {"value": 1}, connection=connection, step_id="u")

    assert "not secure" in str(caught.value)
    assert "abcdef" not in str(caught.value)


def test_connection_mapped_as_connection_input_reaches_a_secure_agent(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/me", headers={"Authorization": "Bearer tok-777"}).respond_with_json(
        {"ok": True}
    )
    inputs = {
        "url": httpserver.url_for("/me"),
        "_connection": {"integration_id": "http_bearer", "parameters": {"token": "tok-777"}},
    }

    assert invoke("http", "http-request", inputs)["body"] == {"ok": True}


def test_unexpected_exception_becomes_a_permanent_agent_error() -> None:
    with pytest.raises(AgentError) as caught:
        invoke("transform", "to-json-string", {"value": {1, 2}}, step_id="j")

    assert caught.value.code == "INTERNAL_ERROR"
    assert caught.value.category == "permanent"
    assert "TypeError" in str(caught.value)


def test_errors_raised_by_a_capability_keep_their_code() -> None:
    with pytest.raises(AgentError) as caught:
        invoke("transform", "from-json-string", {"value": "{oops"}, step_id="parse")

    assert caught.value.code == "TRANSFORM_JSON_PARSE_ERROR"
    assert str(caught.value).startswith("step 'parse' (transform:from-json-string): ")
