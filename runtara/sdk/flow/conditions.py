"""Condition operators and Switch match types (DSL.md, "Conditions" and "Switch").

Codegen turns a condition tree into a Python expression over these functions, e.g.
``AND(GT(data.amount, 100), data.enabled)`` becomes
``truthy(gt(get(data, "amount"), 100)) and truthy(get(data, "enabled"))``; AND and OR
are Python's own short-circuit operators, so only the leaves live here.

Rules: falsy values are null, false, 0, "", [] and {}; equality is JSON equality
(``1 == 1.0`` but ``true != 1``); GT..LTE compare numbers (numeric strings count as
numbers) and are false for anything else; STARTS_WITH / ENDS_WITH need strings;
CONTAINS asks whether an array holds a value or a string holds a substring; IN is
CONTAINS with the arguments swapped; LENGTH is the length of a string, array or object
(null 0, other scalars 1) and as a condition is true when non-zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from runtara.agents.numbers import parse_number


def truthy(value: Any) -> bool:
    """DSL truthiness: null, false, 0, "", [] and {} are false; everything else true."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | dict):
        return bool(value)
    return True


def json_equal(left: Any, right: Any) -> bool:
    """Equality of two JSON values, keeping booleans apart from numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in left.items())
    return type(left) is type(right) and left == right


def as_number(value: Any) -> float | int | None:
    """A number for ordering comparisons, or None when the value is not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value if not (isinstance(value, float) and math.isnan(value)) else None
    if isinstance(value, str):
        return parse_number(value)
    return None


def eq(left: Any, right: Any) -> bool:
    return json_equal(left, right)


def ne(left: Any, right: Any) -> bool:
    return not json_equal(left, right)


def gt(left: Any, right: Any) -> bool:
    a, b = as_number(left), as_number(right)
    return a is not None and b is not None and a > b


def gte(left: Any, right: Any) -> bool:
    a, b = as_number(left), as_number(right)
    return a is not None and b is not None and a >= b


def lt(left: Any, right: Any) -> bool:
    a, b = as_number(left), as_number(right)
    return a is not None and b is not None and a < b


def lte(left: Any, right: Any) -> bool:
    a, b = as_number(left), as_number(right)
    return a is not None and b is not None and a <= b


def starts_with(value: Any, prefix: Any) -> bool:
    return isinstance(value, str) and isinstance(prefix, str) and value.startswith(prefix)


def ends_with(value: Any, suffix: Any) -> bool:
    return isinstance(value, str) and isinstance(suffix, str) and value.endswith(suffix)


def contains(container: Any, value: Any) -> bool:
    if isinstance(container, list):
        return any(json_equal(item, value) for item in container)
    if isinstance(container, str):
        return isinstance(value, str) and value in container
    if isinstance(container, dict):
        return isinstance(value, str) and value in container
    return False


def in_(value: Any, container: Any) -> bool:
    return contains(container, value)


def not_in(value: Any, container: Any) -> bool:
    return not contains(container, value)


def length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | dict):
        return len(value)
    return 1


def is_defined(value: Any) -> bool:
    return value is not None


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def is_not_empty(value: Any) -> bool:
    return not is_empty(value)


def between(value: Any, bounds: Any) -> bool:
    """Switch BETWEEN: ``bounds`` is ``[min, max]``, both inclusive."""
    if not isinstance(bounds, list) or len(bounds) != 2:
        return False
    return gte(value, bounds[0]) and lte(value, bounds[1])


def in_range(value: Any, bounds: Any) -> bool:
    """Switch RANGE: ``bounds`` is ``{gte?, gt?, lte?, lt?}``; every given bound must hold."""
    if not isinstance(bounds, dict) or as_number(value) is None:
        return False
    checks = {"gte": gte, "gt": gt, "lte": lte, "lt": lt}
    return all(check(value, bounds[name]) for name, check in checks.items() if name in bounds)


#: Condition operators of two arguments (the DSL's ``op``) -> function; AND, OR and NOT
#: are Python's own operators in generated code. Codegen reads these tables.
BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": eq,
    "NE": ne,
    "GT": gt,
    "GTE": gte,
    "LT": lt,
    "LTE": lte,
    "STARTS_WITH": starts_with,
    "ENDS_WITH": ends_with,
    "CONTAINS": contains,
    "IN": in_,
    "NOT_IN": not_in,
}
#: Condition operators of one argument; LENGTH is a number, the others are tests.
UNARY: dict[str, Callable[[Any], Any]] = {
    "LENGTH": length,
    "IS_DEFINED": is_defined,
    "IS_EMPTY": is_empty,
    "IS_NOT_EMPTY": is_not_empty,
}
#: Switch match types: the binary operators plus two range tests (unary ones test alone).
MATCH: dict[str, Callable[[Any, Any], bool]] = {**BINARY, "BETWEEN": between, "RANGE": in_range}
