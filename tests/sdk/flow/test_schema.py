"""The instance input is checked against ``inputSchema`` before any step runs."""

from __future__ import annotations

import pytest

from runtara.sdk import flow

SCHEMA = {
    "name": {"type": "string", "required": True},
    "count": {"type": "integer", "default": 1},
    "mode": {"type": "string", "enum": ["fast", "slow"]},
    "ids": {"type": "array", "items": {"type": "integer"}},
}


def test_defaults_fill_missing_fields() -> None:
    assert flow.validate_input({"name": "a"}, SCHEMA) == {"name": "a", "count": 1}


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(flow.InputValidationError) as caught:
        flow.validate_input({"count": "x", "mode": "medium", "ids": [1, "2"]}, SCHEMA)
    assert str(caught.value) == (
        "input does not match inputSchema: name: required field is missing; "
        "count: expected integer, got string; mode: 'medium' is not one of ['fast', 'slow']; "
        "ids[1]: expected integer, got string"
    )


def test_non_object_input_is_refused() -> None:
    with pytest.raises(flow.InputValidationError, match="input must be a JSON object, got array"):
        flow.validate_input([1], SCHEMA)


def test_no_schema_accepts_anything() -> None:
    assert flow.validate_input([1, 2], {}) == [1, 2]


def test_object_properties_are_checked_too() -> None:
    schema = {
        "user": {
            "type": "object",
            "required": True,
            "properties": {
                "id": {"type": "string", "required": True},
                "tier": {"type": "string", "default": "free"},
            },
        }
    }
    assert flow.validate_input({"user": {"id": "u1"}}, schema) == {
        "user": {"id": "u1", "tier": "free"}
    }
    with pytest.raises(flow.InputValidationError, match=r"user\.id: required field is missing"):
        flow.validate_input({"user": {}}, schema)
