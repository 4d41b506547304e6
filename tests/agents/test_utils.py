"""The utils agent, including the safe calculator."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from runtara.agents.errors import AgentError, InputError
from runtara.agents.invoke import invoke


def u(capability: str, **inputs: Any) -> Any:
    return invoke("utils", capability, inputs, step_id="u")


def test_echo_random_and_nothing() -> None:
    assert u("return-input", value={"a": [1]}) == {"a": [1]}
    assert u("return-input-string", value="x") == "x"
    assert u("do-nothing") is None
    assert 0 <= u("random-double") < 1
    values = u("random-array", size=50)
    assert len(values) == 50 and all(0 <= v <= 50 for v in values)


def test_a_huge_random_array_is_refused_before_it_is_built() -> None:
    with pytest.raises(InputError) as caught:
        u("random-array", size=10**9)
    assert caught.value.field == "size" and "limit" in str(caught.value)


def test_delay_waits_and_is_bounded() -> None:
    started = time.monotonic()
    assert u("delay-in-ms", delay_value=120) == 120
    assert time.monotonic() - started >= 0.11
    with pytest.raises(InputError):
        u("delay-in-ms", delay_value=-1)


@pytest.mark.parametrize(
    ("expression", "variables", "expected"),
    [
        ("(x + y) * 2", {"x": 1, "y": "2.5"}, 7.0),
        ("price * qty - discount", {"price": 9.99, "qty": 3, "discount": 0.97}, 29.0),
        ("10 % 4 + 2 ** 3 - -1", {}, 11.0),
        ("max(a, b) + abs(-c) + sqrt(16)", {"a": 1, "b": 5, "c": 2}, 11.0),
    ],
)
def test_calculate(expression: str, variables: dict[str, Any], expected: float) -> None:
    assert u("calculate", expression=expression, variables=variables) == pytest.approx(expected)


def test_calculate_rounding() -> None:
    assert u("calculate", expression="2/3", enable_rounding=True, decimal_places=3) == 0.667


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("__import__('os').system('true')", "only these functions are allowed"),
        ("x.__class__", "Attribute is not allowed"),
        ("'a' * 3", "only numbers"),
        ("9 ** 9 ** 9", "exponent"),
        ("1e300 * 1e300", "too large"),
        ("1 / 0", "division by zero"),
        ("y + 1", "unknown variable 'y'"),
        ("1 +", "invalid expression"),
        ("[1, 2]", "List is not allowed"),
        ("(lambda: 1)()", "only these functions"),
    ],
)
def test_calculate_refuses_anything_but_arithmetic(expression: str, fragment: str) -> None:
    with pytest.raises(AgentError) as caught:
        u("calculate", expression=expression, variables={"x": 1})
    assert fragment in caught.value.message
    assert caught.value.category == "permanent"


def test_calculate_variable_must_be_numeric() -> None:
    with pytest.raises(InputError) as caught:
        u("calculate", expression="x", variables={"x": "ten"})
    assert caught.value.field == "variables.x"


def test_dates() -> None:
    assert (
        u(
            "format-date-from-iso",
            iso_date="2024-01-15T10:30:05Z",
            target_format="yyyy/MM/dd HH:mm:ss",
        )
        == "2024/01/15 10:30:05"
    )
    assert (
        u("format-date-from-iso", iso_date="2024-01-15", target_format="%d.%m.%Y") == "15.01.2024"
    )
    assert u("iso-to-unix-timestamp", iso_date="2024-01-15T10:30:00+01:00") == 1705311000
    now = u("get-current-unix-timestamp")
    assert abs(now - time.time()) < 5
    parsed = datetime.fromisoformat(u("get-current-iso-datetime"))
    assert parsed.tzinfo is not None and abs(parsed.timestamp() - time.time()) < 5
    assert u("get-current-formatted-datetime", format="yyyy") == str(datetime.now(UTC).year)


def test_bad_date_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        u("iso-to-unix-timestamp", iso_date="15/01/2024")
    assert caught.value.field == "iso_date"


@pytest.mark.parametrize(
    ("name", "code_type", "expected"),
    [
        ("Poland", "alpha2", "PL"),
        ("united kingdom", "alpha3", "GBR"),
        ("USA", "alpha2", "US"),
        ("Côte d'Ivoire", "alpha2", "CI"),
        ("  germany ", "alpha3", "DEU"),
    ],
)
def test_country_codes(name: str, code_type: str, expected: str) -> None:
    assert u("country-name-to-iso-code", country_name=name, code_type=code_type) == expected


def test_unknown_country() -> None:
    with pytest.raises(AgentError, match="unknown country 'Atlantis'"):
        u("country-name-to-iso-code", country_name="Atlantis")
