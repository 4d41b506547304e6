"""The step registry is complete: every step model of the DSL has one compiler and one
template macro, so a document never reaches a step type codegen cannot print."""

from __future__ import annotations

import typing

import pytest

from runtara.compiler.codegen.render import _environment
from runtara.compiler.codegen.steps import COMPILERS
from runtara.dsl.steps import Step

MODELS = typing.get_args(typing.get_args(Step)[0])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_step_model_has_a_compiler_and_a_macro(model: type) -> None:
    assert model in COMPILERS
    macros = _environment().get_template("steps.py.j2").module
    assert callable(getattr(macros, model.__name__.removesuffix("Step"), None))


def test_no_compiler_for_a_model_outside_the_union() -> None:
    assert set(COMPILERS) == set(MODELS)


def test_a_template_printing_raw_text_fails_generation() -> None:
    """``finalize`` refuses anything but Code: raw document text never reaches a module."""
    from runtara.compiler.codegen import CodegenError
    from runtara.compiler.codegen.literals import Code, py_literal

    template = _environment().from_string("x = {{ value }}\n")
    assert template.render(value=py_literal('a"b')) == 'x = "a\\"b"\n'
    assert template.render(value=Code("f(1)")) == "x = f(1)\n"
    with pytest.raises(CodegenError, match="not Code"):
        template.render(value='"; import os; "')


def test_the_language_tables_agree_with_the_dsl() -> None:
    """The DSL's literal types (for the schema) and the image-side tables generated code
    calls name the same operators, match types, log levels, categories and coercions."""
    from runtara.agents.errors import Category
    from runtara.dsl.conditions import QUERY_ONLY_OPS, ConditionOp
    from runtara.dsl.mapping import ReferenceType
    from runtara.dsl.steps import ErrorCategory, LogLevel, MatchType
    from runtara.sdk.flow import conditions
    from runtara.sdk.flow.coerce import COERCE
    from runtara.sdk.flow.steps import LOG_LEVELS

    args = typing.get_args
    operators = {*conditions.BINARY, *conditions.UNARY, "AND", "OR", "NOT", *QUERY_ONLY_OPS}
    assert set(args(ConditionOp)) == operators
    assert set(args(MatchType)) == {*conditions.MATCH, *conditions.UNARY} - {"LENGTH"}
    assert set(args(LogLevel)) == set(LOG_LEVELS)
    assert set(args(ErrorCategory)) == set(args(Category))
    assert set(args(ReferenceType)) == set(COERCE)
