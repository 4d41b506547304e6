"""Mapping values, conditions and templates, compiled to Python expressions.

Everything here runs at compile time and returns source text; the generated module
evaluates it with the helpers of ``runtara.sdk.flow`` (imported there as ``flow``).
Inside a step function the scope is ``sc``; While conditions also see ``loop`` and
Filter conditions ``item``.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.literals import Code, py_literal
from runtara.dsl.conditions import OperationCondition, ValueCondition
from runtara.dsl.mapping import (
    MAPPING_VALUE_TYPES,
    CompositeValue,
    ImmediateValue,
    ReferenceValue,
    TemplateValue,
    parse_mapping_value,
)
from runtara.dsl.references import (
    ReferenceSyntaxError,
    Segment,
    TemplateExpression,
    parse_reference,
    parse_template,
)
from runtara.sdk.flow.templates import FILTERS

MappingValue = ImmediateValue | ReferenceValue | TemplateValue | CompositeValue

#: Reference roots and the expression each reads from (``item``/``loop``/``iteration``:
#: the enclosing Split item or While iteration; a condition may bind them itself).
_ROOTS = {
    "data": "sc.data",
    "variables": "sc.variables",
    "steps": "sc.steps",
    "item": "sc.item",
    "loop": "sc.loop",
    "iteration": "sc.iteration",
}
_INPUTS_ROOTS = ("workflow", "scenario")

_BINARY = {
    "EQ": "eq",
    "NE": "ne",
    "GT": "gt",
    "GTE": "gte",
    "LT": "lt",
    "LTE": "lte",
    "STARTS_WITH": "starts_with",
    "ENDS_WITH": "ends_with",
    "CONTAINS": "contains",
    "IN": "in_",
    "NOT_IN": "not_in",
}
_UNARY = {
    "LENGTH": "length",
    "IS_DEFINED": "is_defined",
    "IS_EMPTY": "is_empty",
    "IS_NOT_EMPTY": "is_not_empty",
}
#: Switch match types beyond the binary operators.
_MATCH = {**_BINARY, "BETWEEN": "between", "RANGE": "in_range"}

_FILTER_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$", re.S)


class Expressions:
    """Compiles expressions for one place in the document (``where`` names it in errors)."""

    def __init__(self, where: str, *, extra_roots: Iterable[str] | Mapping[str, str] = ()) -> None:
        """``extra_roots``: roots bound by the generated code (a lambda's parameter), as
        names, or as root -> the expression holding it."""
        self.where = where
        self.extra_roots = (
            dict(extra_roots)
            if isinstance(extra_roots, Mapping)
            else {root: root for root in extra_roots}
        )

    def error(self, message: str) -> CodegenError:
        return CodegenError(message, where=self.where)

    # ------------------------------------------------------------------ references

    def reference(self, path: str) -> Code:
        """``steps.fetch.outputs.body`` -> ``flow.get(sc.steps, "fetch", "outputs", "body")``."""
        try:
            keys = parse_reference(path).canonical().segments
        except ReferenceSyntaxError as exc:
            raise CodegenError(
                f"{exc.message} in {path!r}", where=self.where, code="E011"
            ) from None
        root, rest = keys[0], keys[1:]
        if isinstance(root, str) and root in self.extra_roots:
            base = self.extra_roots[root]
        elif root in _ROOTS:
            base = _ROOTS[root]
        elif root in _INPUTS_ROOTS and rest[:1] == ("inputs",):
            base, rest = 'sc.workflow["inputs"]', rest[1:]
        else:
            raise CodegenError(f"unknown reference root in {path!r}", where=self.where, code="E011")
        return Code(_walk(base, rest))

    # ------------------------------------------------------------------ mapping values

    def value(self, mv: MappingValue) -> Code:
        return Code(self._value(mv))

    def _value(self, mv: MappingValue) -> str:
        if isinstance(mv, ImmediateValue):
            return py_literal(mv.value)
        if isinstance(mv, ReferenceValue):
            expr: str = self.reference(mv.value)
            if mv.has_default and mv.default is not None:
                expr = f"flow.or_default({expr}, {py_literal(mv.default)})"
            if mv.type is not None:
                expr = f"flow.to_{mv.type}({expr})"
            return expr
        if isinstance(mv, TemplateValue):
            return self.template(mv.value)
        if isinstance(mv.value, list):
            return "[" + ", ".join(self.value(item) for item in mv.value) + "]"
        return self.mapping(mv.value)

    def mapping(self, mapping: Mapping[str, MappingValue] | None) -> Code:
        """An input mapping as a dict display; dotted keys build nested objects."""
        tree: dict[str, Any] = {}
        for key, mv in (mapping or {}).items():
            node = tree
            parts = key.split(".")
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise self.error(f"mapping key {key!r} nests inside a value set elsewhere")
                node = child
            if isinstance(node.get(parts[-1]), dict):
                raise self.error(f"mapping key {key!r} would replace nested keys set elsewhere")
            node[parts[-1]] = _Leaf(self.value(mv))
        return Code(_dict_source(tree))

    def embedded(self, value: Any) -> Code:
        """JSON whose mapping values (objects with ``valueType``) are resolved (Switch)."""
        return Code(self._embedded(value))

    def _embedded(self, value: Any) -> str:
        if isinstance(value, dict):
            if value.get("valueType") in MAPPING_VALUE_TYPES and "value" in value:
                try:
                    return self.value(parse_mapping_value(value))
                except ValueError as exc:
                    raise self.error(f"invalid mapping value {value!r}: {exc}") from None
            items = (f"{py_literal(str(k))}: {self._embedded(v)}" for k, v in value.items())
            return "{" + ", ".join(items) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self._embedded(item) for item in value) + "]"
        return py_literal(value)

    # ------------------------------------------------------------------ templates

    def template(self, text: str) -> Code:
        """``"Hi {{ data.name | upper }}"`` -> ``"Hi " + flow.tpl.text(flow.tpl.upper(...))``."""
        if "{%" in text or "{#" in text:
            raise self.error("templates support only {{ path }} placeholders with filters")
        try:
            parsed = parse_template(text)
        except ReferenceSyntaxError as exc:
            raise CodegenError(exc.message, where=self.where, code="E011") from None
        parts = [
            py_literal(part) if isinstance(part, str) else self._placeholder(part)
            for part in parsed
        ]
        return Code(" + ".join(parts) if parts else '""')

    def _placeholder(self, placeholder: TemplateExpression) -> str:
        expr: str = self.reference(placeholder.path.text)
        for piece in placeholder.filters:
            match = _FILTER_CALL.match(piece)
            if not match or match.group(1) not in FILTERS:
                known = ", ".join(sorted(FILTERS))
                raise self.error(f"unknown template filter {piece!r} (known: {known})")
            name, function = match.group(1), FILTERS[match.group(1)]
            args = [expr, *_filter_args(match.group(2), self)]
            try:
                inspect.signature(function).bind(*args)
            except TypeError:
                params = list(inspect.signature(function).parameters.values())[1:]
                takes = ", ".join(str(p) for p in params)
                raise self.error(
                    f"template filter {name} takes ({takes}), got {len(args) - 1}"
                    f" argument(s) in {piece!r}"
                ) from None
            expr = f"flow.tpl.{function.__name__}({', '.join(args)})"
        return f"flow.tpl.text({expr})"

    # ------------------------------------------------------------------ conditions

    def condition(self, cond: OperationCondition | ValueCondition) -> Code:
        """A condition as a Python expression of type ``bool``."""
        expr, is_bool = self._expression(cond)
        return Code(expr if is_bool else f"flow.truthy({expr})")

    def _expression(self, node: Any) -> tuple[str, bool]:
        """(source, whether it is already a bool) for a condition or an argument."""
        if isinstance(node, ValueCondition):
            return self.value(node.as_mapping()), False
        if not isinstance(node, OperationCondition):
            return self.value(node), False
        op, args = node.op, node.arguments
        if op in ("AND", "OR"):
            if not args:
                return ("True" if op == "AND" else "False"), True
            joined = f" {op.lower()} ".join(self._boolean(arg) for arg in args)
            return (f"({joined})" if len(args) > 1 else joined), True
        if op == "NOT":
            return (f"not {self._boolean(args[0])}" if args else "False"), True
        if op in _UNARY:
            if not args:
                return "False", True
            return f"flow.{_UNARY[op]}({self._expression(args[0])[0]})", op != "LENGTH"
        if len(args) < 2:
            return "False", True
        left, right = self._expression(args[0])[0], self._expression(args[1])[0]
        return f"flow.{_BINARY[op]}({left}, {right})", True

    def _boolean(self, node: Any) -> str:
        expr, is_bool = self._expression(node)
        if not is_bool:
            return f"flow.truthy({expr})"
        return f"({expr})" if expr.startswith("not ") else expr

    def match(self, match_type: str, value: Code, match: Any) -> Code:
        """A Switch case test of ``value`` (already a name) against ``match``."""
        if match_type in _UNARY:
            return Code(f"flow.{_UNARY[match_type]}({value})")
        return Code(f"flow.{_MATCH[match_type]}({value}, {self.embedded(match)})")


class _Leaf(str):
    """Source of a mapping leaf (as opposed to a nested dict of the tree)."""


def _dict_source(tree: dict[str, Any]) -> str:
    items = (
        f"{py_literal(key)}: {value if isinstance(value, _Leaf) else _dict_source(value)}"
        for key, value in tree.items()
    )
    return "{" + ", ".join(items) + "}"


def _walk(base: str, keys: tuple[Segment, ...]) -> str:
    if not keys:
        return base
    return f"flow.get({base}, {', '.join(py_literal(k) for k in keys)})"


def _filter_args(source: str | None, where: Expressions) -> list[str]:
    if not source or not source.strip():
        return []
    try:
        values = ast.literal_eval(f"({source},)")
        return [py_literal(v) for v in values]
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, CodegenError):
        raise where.error(
            f"template filter arguments must be literal strings, numbers, lists, True, False"
            f" or None: ({source})"
        ) from None
