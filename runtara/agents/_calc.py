"""A safe arithmetic evaluator for ``utils:calculate``, built on ``ast`` (never ``eval``).

Only numbers, named variables, ``+ - * / // % **``, unary signs, parentheses and a few
pure functions (abs, min, max, round, floor, ceil, sqrt) are allowed. Anything else
(attribute access, calls to other names, subscripts, strings) is rejected while walking
the tree, and sizes are bounded so that ``9**9**9`` cannot exhaust the process.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

from runtara.agents.errors import PermanentError

MAX_EXPRESSION_LENGTH = 10_000
MAX_EXPONENT = 1_000
MAX_MAGNITUDE = 1e308

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}

_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}

_FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "sqrt": math.sqrt,
}


class CalculationError(PermanentError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="CALC_ERROR")


def evaluate(expression: str, variables: Mapping[str, float]) -> float:
    """Evaluate ``expression`` with ``variables``; raise CalculationError on anything else."""
    if not expression.strip():
        raise CalculationError("expression is empty")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculationError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalculationError(f"invalid expression at column {exc.offset}: {exc.msg}") from None
    try:
        result = _Evaluator(variables).visit(tree.body)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except (OverflowError, ValueError) as exc:
        raise CalculationError(f"cannot compute: {exc}") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise CalculationError("result is not a finite number")
    return float(result)


class _Evaluator(ast.NodeVisitor):
    def __init__(self, variables: Mapping[str, float]) -> None:
        self.variables = variables

    def generic_visit(self, node: ast.AST) -> float:
        raise CalculationError(f"{type(node).__name__} is not allowed in an expression")

    def visit_Constant(self, node: ast.Constant) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculationError(f"only numbers are allowed, got {node.value!r}")
        return node.value

    def visit_Name(self, node: ast.Name) -> float:
        if node.id not in self.variables:
            known = ", ".join(sorted(self.variables)) or "none"
            raise CalculationError(f"unknown variable {node.id!r} (known: {known})")
        return self.variables[node.id]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> float:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise CalculationError(f"operator {type(node.op).__name__} is not allowed")
        return op(self.visit(node.operand))

    def visit_BinOp(self, node: ast.BinOp) -> float:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise CalculationError(f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalculationError(f"exponent {right} is larger than {MAX_EXPONENT}")
        result = op(left, right)
        if abs(result) > MAX_MAGNITUDE:
            raise CalculationError("result is too large")
        return result

    def visit_Call(self, node: ast.Call) -> float:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise CalculationError(f"only these functions are allowed: {allowed}")
        if node.keywords:
            raise CalculationError("keyword arguments are not allowed")
        args = [self.visit(arg) for arg in node.args]
        try:
            return _FUNCTIONS[node.func.id](*args)
        except TypeError as exc:
            raise CalculationError(f"{node.func.id}(): {exc}") from None
