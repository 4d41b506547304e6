"""The ``utils`` agent: random values, echo, delays, arithmetic, dates and country codes."""

from __future__ import annotations

import random
import time
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from runtara.agents._calc import evaluate
from runtara.agents._countries import ALIASES, COUNTRIES
from runtara.agents._dates import format_datetime, parse_iso
from runtara.agents.errors import InputError, PermanentError
from runtara.agents.framework import Doc, agent
from runtara.agents.numbers import as_number

utils = agent(
    "utils",
    name="Utilities",
    description="Random values, echo, delays, arithmetic, date formatting and country codes.",
)

#: A delay longer than this belongs in a durable Delay step, not in a blocking sleep.
MAX_DELAY_MS = 3_600_000


@utils.capability(output="A random number in [0, 1).")
def random_double() -> float:
    """Generate a random double between 0 and 1."""
    return random.random()


#: A larger array would take gigabytes (and minutes) in one step.
MAX_RANDOM_ARRAY = 1_000_000


@utils.capability(output="`size` random integers, each between 0 and `size`.")
def random_array(
    size: Annotated[int, Doc("How many random integers to generate.")],
) -> list[int]:
    """Generate an array of random integers."""
    if size < 0:
        raise InputError("size cannot be negative", field="size")
    if size > MAX_RANDOM_ARRAY:
        raise InputError(f"size {size} is above the limit of {MAX_RANDOM_ARRAY:,}", field="size")
    return [random.randint(0, size) for _ in range(size)]


@utils.capability(output="The input string, unchanged.")
def return_input_string(value: Annotated[str, Doc("The string to return.")]) -> str:
    """Return the input string."""
    return value


@utils.capability(output="The input value, unchanged.")
def return_input(value: Annotated[Any, Doc("The JSON value to return.")]) -> Any:
    """Return the input JSON value."""
    return value


@utils.capability(output="null")
def do_nothing() -> None:
    """No-op that returns null."""
    return None


@utils.capability(output="The delay that was waited, in milliseconds.")
def delay_in_ms(
    delay_value: Annotated[int, Doc("Milliseconds to wait (at most one hour).")],
) -> int:
    """Pause for the given number of milliseconds (blocking; use a Delay step for long waits)."""
    if not 0 <= delay_value <= MAX_DELAY_MS:
        raise InputError(
            f"delay_value must be between 0 and {MAX_DELAY_MS} ms", field="delay_value"
        )
    time.sleep(delay_value / 1000)
    return delay_value


@utils.capability(output="The value of the expression.")
def calculate(
    expression: Annotated[
        str,
        Doc("Arithmetic over variables: + - * / // % **, parentheses, abs/min/max/round/sqrt."),
    ],
    variables: Annotated[
        dict[str, Any] | None,
        Doc("Variable name -> number (numeric strings are accepted)."),
    ] = None,
    enable_rounding: Annotated[bool, Doc("Round the result to `decimal_places`.")] = False,
    decimal_places: Annotated[int | None, Doc("Decimal places when rounding (0-15).")] = None,
) -> float:
    """Evaluate an arithmetic expression with variables (safely, never with eval)."""
    numbers = {name: _as_number(name, value) for name, value in (variables or {}).items()}
    result = evaluate(expression, numbers)
    if enable_rounding and decimal_places is not None:
        if not 0 <= decimal_places <= 15:
            raise InputError("decimal_places must be between 0 and 15", field="decimal_places")
        result = round(result, decimal_places)
    return result


def _as_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise InputError(f"variable {name!r} must be a number", field=f"variables.{name}")
    number = as_number(value)
    if number is not None:
        return number
    raise InputError(
        f"variable {name!r} cannot be read as a number: {value!r}", field=f"variables.{name}"
    )


@utils.capability(output="The date formatted with the pattern.")
def format_date_from_iso(
    iso_date: Annotated[str, Doc("ISO 8601 date or date-time, e.g. 2024-01-15T10:30:00Z.")],
    target_format: Annotated[
        str, Doc("Pattern with yyyy, MM, dd, HH, mm, ss tokens (or a strftime pattern).")
    ],
) -> str:
    """Format an ISO date with a custom pattern."""
    return format_datetime(parse_iso(iso_date), target_format, field="target_format")


@utils.capability(output="Seconds since the Unix epoch.")
def iso_to_unix_timestamp(
    iso_date: Annotated[str, Doc("ISO 8601 date or date-time; naive values are UTC.")],
) -> int:
    """Convert an ISO date to a Unix timestamp."""
    return int(parse_iso(iso_date).timestamp())


@utils.capability(output="Seconds since the Unix epoch.")
def get_current_unix_timestamp() -> int:
    """Get the current Unix timestamp."""
    return int(time.time())


@utils.capability(output="The current UTC time in RFC 3339 format.")
def get_current_iso_datetime() -> str:
    """Get the current date and time in ISO format."""
    return datetime.now(UTC).isoformat()


@utils.capability(output="The current UTC time formatted with the pattern.")
def get_current_formatted_datetime(
    format: Annotated[str, Doc("Pattern with yyyy, MM, dd, HH, mm, ss tokens.")],
) -> str:
    """Get the current date and time in a custom format."""
    return format_datetime(datetime.now(UTC), format)


@utils.capability(output="The ISO 3166-1 code of the country.")
def country_name_to_iso_code(
    country_name: Annotated[str, Doc("Country name or a common alternative (e.g. 'UK').")],
    code_type: Annotated[Literal["alpha2", "alpha3"], Doc("Which code to return.")] = "alpha2",
) -> str:
    """Convert a country name to its ISO code."""
    if not country_name.strip():
        raise InputError("country_name is empty", field="country_name")
    codes = _country_index().get(_normalize_country(country_name))
    if codes is None:
        raise PermanentError(f"unknown country {country_name!r}", code="UNKNOWN_COUNTRY")
    return codes[0] if code_type == "alpha2" else codes[1]


def _normalize_country(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if c.isalnum() or c.isspace()).split())


@lru_cache(maxsize=1)
def _country_index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    by_alpha2: dict[str, tuple[str, str]] = {}
    for alpha2, alpha3, names in COUNTRIES:
        by_alpha2[alpha2] = (alpha2, alpha3)
        for key in (alpha2, alpha3, *names):
            index.setdefault(_normalize_country(key), (alpha2, alpha3))
    for alias, alpha2 in ALIASES.items():
        index[_normalize_country(alias)] = by_alpha2[alpha2]
    return index
