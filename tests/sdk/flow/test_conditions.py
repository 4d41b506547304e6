"""Condition operators and Switch match types, one row per rule of DSL.md."""

from __future__ import annotations

from typing import Any

import pytest

from runtara.sdk import flow

CASES: list[tuple[str, Any, Any, bool]] = [
    # equality is JSON equality: numbers by value, booleans apart from numbers
    ("eq", 1, 1.0, True),
    ("eq", True, 1, False),
    ("eq", "a", "a", True),
    ("eq", {"a": [1, 2]}, {"a": [1, 2.0]}, True),
    ("eq", None, None, True),
    ("ne", "a", "b", True),
    ("ne", 0, False, True),
    # ordering compares numbers (numeric strings count); anything else is false
    ("gt", 3, 2, True),
    ("gt", "10", 9, True),
    ("gt", "b", "a", False),
    ("gt", None, 0, False),
    ("gt", True, 0, False),
    ("gte", 2, 2, True),
    ("lt", 1.5, 2, True),
    ("lt", [1], 2, False),
    ("lte", 2, 2.0, True),
    ("lte", {}, 1, False),
    ("starts_with", "hello", "he", True),
    ("starts_with", 123, "1", False),
    ("ends_with", "hello", "lo", True),
    ("ends_with", "hello", None, False),
    ("contains", [1, 2, 3], 2, True),
    ("contains", [{"a": 1}], {"a": 1}, True),
    ("contains", "haystack", "st", True),
    ("contains", None, "x", False),
    ("in_", "b", ["a", "b"], True),
    ("in_", 3, [1, 2], False),
    ("not_in", 3, [1, 2], True),
    ("not_in", "x", None, True),
    ("between", 5, [1, 10], True),
    ("between", 10, [1, 10], True),
    ("between", 11, [1, 10], False),
    ("between", "x", [1, 10], False),
    ("in_range", 5, {"gte": 5, "lt": 6}, True),
    ("in_range", 6, {"gte": 5, "lt": 6}, False),
    ("in_range", 5, {"gt": 5}, False),
    ("in_range", 0, {}, True),
    ("in_range", None, {"gte": 0}, False),
]


@pytest.mark.parametrize(("op", "left", "right", "expected"), CASES)
def test_binary_operators(op: str, left: Any, right: Any, expected: bool) -> None:
    assert getattr(flow, op)(left, right) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (0, False),
        (0.0, False),
        ("", False),
        ([], False),
        ({}, False),
        ("0", True),
        ([0], True),
        ({"a": None}, True),
        (-1, True),
        (True, True),
    ],
)
def test_truthiness(value: Any, expected: bool) -> None:
    assert flow.truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "length", "empty", "defined"),
    [
        (None, 0, True, False),
        ("", 0, True, True),
        ("abc", 3, False, True),
        ([1, 2], 2, False, True),
        ({}, 0, True, True),
        (0, 1, False, True),
        (False, 1, False, True),
    ],
)
def test_unary_operators(value: Any, length: int, empty: bool, defined: bool) -> None:
    assert flow.length(value) == length
    assert flow.is_empty(value) is empty
    assert flow.is_not_empty(value) is (not empty)
    assert flow.is_defined(value) is defined
