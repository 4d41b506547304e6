"""Strict type coercion of ``reference`` mapping values with a ``type`` hint."""

from __future__ import annotations

from typing import Any

import pytest

from runtara.sdk import flow

CONVERTS: list[tuple[str, Any, Any]] = [
    ("string", "x", "x"),
    ("string", 42, "42"),
    ("string", 2.5, "2.5"),
    ("string", True, "true"),
    ("string", {"a": [1]}, '{"a":[1]}'),
    ("string", None, None),
    ("integer", 7, 7),
    ("integer", 4.0, 4),
    ("integer", " 42 ", 42),
    ("integer", "4.0", 4),
    ("integer", False, 0),
    ("number", "1e3", 1000.0),
    ("number", "12", 12),
    ("number", 2.5, 2.5),
    ("number", True, 1),
    ("boolean", "YES", True),
    ("boolean", " false ", False),
    ("boolean", "", False),
    ("boolean", 0, False),
    ("boolean", 0.1, True),
    ("boolean", [], False),
    ("boolean", {"a": 1}, True),
    ("json", '{"a": 1}', {"a": 1}),
    ("json", "[1, 2]", [1, 2]),
    ("json", {"already": "json"}, {"already": "json"}),
    ("file", "aGk=", {"content": "aGk="}),
    ("file", {"content": "aGk=", "filename": "a.txt"}, {"content": "aGk=", "filename": "a.txt"}),
]


@pytest.mark.parametrize(("target", "value", "expected"), CONVERTS)
def test_converts(target: str, value: Any, expected: Any) -> None:
    result = flow.COERCE[target](value)
    assert result == expected
    assert type(result) is type(expected)


FAILS: list[tuple[str, Any, str]] = [
    ("integer", 2.5, "cannot convert 2.5 to integer: it has a fractional part"),
    ("integer", "abc", 'cannot convert "abc" to integer'),
    ("integer", [1], "cannot convert [1] to integer"),
    ("number", "12abc", 'cannot convert "12abc" to number'),
    ("number", "nan", 'cannot convert "nan" to number'),
    ("number", {}, "cannot convert {} to number"),
    ("boolean", "maybe", 'cannot convert "maybe" to boolean'),
    ("json", "{oops", 'cannot convert "{oops" to json: invalid JSON text'),
    ("file", "not base64!", "content is not valid base64"),
    ("file", 12, "cannot convert 12 to file"),
]


@pytest.mark.parametrize(("target", "value", "message"), FAILS)
def test_fails_clearly(target: str, value: Any, message: str) -> None:
    with pytest.raises(flow.CoercionError) as caught:
        flow.COERCE[target](value)
    assert message in str(caught.value)
