"""The run-time path walk: missing anything reads as null, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from runtara.sdk import flow

DOC = {"user": {"name": "Ada", "tags": ["a", "b"]}, "items": [{"x": 1}, {"x": 2}], "0": "zero"}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("user", "name"), "Ada"),
        (("user", "tags", 1), "b"),
        (("items", 0, "x"), 1),
        (("items", "1", "x"), 2),
        (("items", -1, "x"), 2),
        ((0,), "zero"),
        (("user", "missing"), None),
        (("user", "name", "deeper"), None),
        (("items", 5), None),
        (("items", "x"), None),
        ((), DOC),
    ],
)
def test_get(keys: tuple[Any, ...], expected: Any) -> None:
    assert flow.get(DOC, *keys) == expected


def test_get_on_none_root() -> None:
    assert flow.get(None, "a") is None
