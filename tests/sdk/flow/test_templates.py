"""Template filters and how values are written into text."""

from __future__ import annotations

from typing import Any

import pytest

from runtara.sdk.flow import templates


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("s", "s"), (True, "true"), (3, "3"), (2.5, "2.5"), ([1, "a"], '[1,"a"]')],
)
def test_text(value: Any, expected: str) -> None:
    assert templates.text(value) == expected


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("upper", ("abc",), "ABC"),
        ("lower", ("AbC",), "abc"),
        ("title", ("ada lovelace",), "Ada Lovelace"),
        ("trim", ("  x ",), "x"),
        ("default", (None, "n/a"), "n/a"),
        ("default", ("set", "n/a"), "set"),
        ("length", ([1, 2, 3],), 3),
        ("join", (["a", "b"], ", "), "a, b"),
        ("first", ([4, 5],), 4),
        ("last", ("xyz",), "z"),
        ("replace", ("a-b", "-", "+"), "a+b"),
        ("tojson", ({"a": None},), '{"a":null}'),
        ("int", ("3.9",), 3),
        ("round", (2.567, 2), 2.57),
        ("urlencode", ("a b&c",), "a%20b%26c"),
    ],
)
def test_filters(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert templates.FILTERS[name](*args) == expected
