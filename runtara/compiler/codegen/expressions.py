"""Mapping values, conditions and templates, compiled to Python expressions.

Everything here runs at compile time and returns source text; the generated module
evaluates it with the helpers of ``runtara.sdk.flow`` (imported there as ``flow``).
Inside a step function the scope is ``sc``; While conditions also see ``loop`` and
Filter conditions ``item``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
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
from runtara.sdk import flow
from runtara.sdk.flow import conditions, templates
from runtara.sdk.flow.coerce import COERCE

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


def _exported(prefix: str, module: ModuleType, function: Callable[..., Any]) -> str:
    """``prefix.name`` for an sdk function, checked to be what generated code will find
    under that name (so codegen never names a function the sdk does not export)."""
    if getattr(module, function.__name__, None) is not function:
        raise RuntimeError(f"{module.__name__} does not export {function.__name__}")
    return f"{prefix}.{function.__name__}"


_BINARY = {op: _exported("flow", flow, f) for op, f in conditions.BINARY.items()}
_UNARY = {op: _exported("flow", flow, f) for op, f in conditions.UNARY.items()}
#: Switch match types beyond the binary operators.
_MATCH = {op: _exported("flow", flow, f) for op, f in conditions.MATCH.items()}
_FILTERS = {name: _exported("flow.tpl", templates, f) for name, f in templates.FILTERS.items()}
_COERCE = {kind: _exported("flow", flow, f) for kind, f in COERCE.items()}
_GET = _exported("flow", flow, flow.get)
_OR_DEFAULT = _exported("flow", flow, flow.or_default)
_TRUTHY = _exported("flow", flow, flow.truthy)
_TEXT = _exported("flow.tpl", templates, templates.text)


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
                expr = f"{_OR_DEFAULT}({expr}, {py_literal(mv.default)})"
            if mv.type is not None:
                expr = f"{_COERCE[mv.type]}({expr})"
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
        for call in placeholder.calls:  # checked by the language (dsl.references)
            args = [expr, *(py_literal(arg) for arg in call.args)]
            name = call.name
            expr = f"{_FILTERS[name]}({', '.join(args)})"
        return f"{_TEXT}({expr})"

    # ------------------------------------------------------------------ conditions

    def condition(self, cond: OperationCondition | ValueCondition) -> Code:
        """A condition as a Python expression of type ``bool``."""
        expr, is_bool = self._expression(cond)
        return Code(expr if is_bool else f"{_TRUTHY}({expr})")

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
            return f"{_UNARY[op]}({self._expression(args[0])[0]})", op != "LENGTH"
        if len(args) < 2:
            return "False", True
        left, right = self._expression(args[0])[0], self._expression(args[1])[0]
        return f"{_BINARY[op]}({left}, {right})", True

    def _boolean(self, node: Any) -> str:
        expr, is_bool = self._expression(node)
        if not is_bool:
            return f"{_TRUTHY}({expr})"
        return f"({expr})" if expr.startswith("not ") else expr

    def match(self, match_type: str, value: Code, match: Any) -> Code:
        """A Switch case test of ``value`` (already a name) against ``match``."""
        if match_type in _UNARY:
            return Code(f"{_UNARY[match_type]}({value})")
        return Code(f"{_MATCH[match_type]}({value}, {self.embedded(match)})")


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
    return f"{_GET}({base}, {', '.join(py_literal(k) for k in keys)})"
