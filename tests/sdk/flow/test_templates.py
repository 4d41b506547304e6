"""Template filters and how values are written into text."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from runtara.sdk.flow import templates


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("s", "s"), (True, "true"), (3, "3"), (2.5, "2.5"), ([1, "a"], '[1,"a"]')],
)
def test_text(value: Any, expected: str) -> None:
    assert templates.text(value) == expected


#: The one table of the template vocabulary: each row is rendered by both engines, the
#: ``text:render-template`` agent (``{{ x | f }}`` over the context) and a workflow's
#: template mapping value (``{{ data.x | f }}``, compiled by codegen, run by flow).
VOCABULARY: list[tuple[str, Any, str]] = [
    ("x", None, ""),
    ("x", True, "true"),
    ("x", 2.5, "2.5"),
    ("x", [1, 2], "[1,2]"),
    ("x", {"a": [1, None]}, '{"a":[1,null]}'),
    ("x | string", {"a": 1}, '{"a":1}'),
    ("x | upper", "ab", "AB"),
    ("x | lower", "AbC", "abc"),
    ("x | title", "ada lovelace", "Ada Lovelace"),
    ("x | capitalize", "ada Lovelace", "Ada lovelace"),
    ("x | trim | upper", "  a ", "A"),
    ("x | default('n/a')", None, "n/a"),
    ("x | d('n/a')", "set", "set"),
    ("x | length", 5, "1"),
    ("x | length", None, "0"),
    ("x | length", "abc", "3"),
    ("x | count", [1, 2, 3], "3"),
    ("x | tojson", {"a": None}, '{"a":null}'),
    ("x | json", [1, "a"], '[1,"a"]'),
    ("x | int", "3.9", "3"),
    ("x | int", "", "0"),
    ("x | int", "123456789012345678901234567890", "123456789012345678901234567890"),
    ("x | float", "2", "2.0"),
    ("x | round(2)", 2.567, "2.57"),
    ("x | abs", "-3", "3"),
    ("x | join(', ')", ["a", 1, None], "a, 1, "),
    ("x | first", [4, 5], "4"),
    ("x | last", "xyz", "z"),
    ("x | replace('-', '+')", "a-b-c", "a+b+c"),
    ("x | urlencode", "a b&c", "a%20b%26c"),
]


def _agent(expression: str, value: Any) -> str:
    from runtara.agents import _template

    return _template.render("{{ " + expression + " }}", {"x": value})


def _workflow(expression: str, value: Any) -> str:
    from runtara.compiler.codegen.expressions import Expressions
    from runtara.sdk import flow

    source = Expressions("test").template("{{ data." + expression + " }}")
    result = eval(source, {"flow": flow, "sc": SimpleNamespace(data={"x": value})})
    assert isinstance(result, str)
    return result


@pytest.mark.parametrize(("expression", "value", "expected"), VOCABULARY)
@pytest.mark.parametrize("engine", [_agent, _workflow], ids=["agent", "workflow"])
def test_one_vocabulary(
    engine: Callable[[str, Any], str], expression: str, value: Any, expected: str
) -> None:
    assert engine(expression, value) == expected


@pytest.mark.parametrize(("expression", "value"), [("x | int", "abc"), ("x | float", "1e999")])
@pytest.mark.parametrize("engine", [_agent, _workflow], ids=["agent", "workflow"])
def test_not_a_number_is_the_same_clear_error(
    engine: Callable[[str, Any], str], expression: str, value: Any
) -> None:
    with pytest.raises(Exception, match="is not a number"):
        engine(expression, value)
