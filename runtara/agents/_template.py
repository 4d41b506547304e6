"""A small Jinja-style template renderer for ``text:render-template`` (no template engine).

Supported: ``{{ expr }}`` with filters (``{{ name | upper }}``, ``{{ x | default('n/a') }}``),
``{% if %}/{% elif %}/{% else %}/{% endif %}``, ``{% for x in list %}...{% endfor %}`` (with
``loop.index``, ``loop.index0``, ``loop.first``, ``loop.last``) and ``{# comments #}``.
Expressions are paths (``a.b[0]['c d']``), literals, ``not``, ``and``, ``or`` and the
comparisons ``== != < <= > >= in``. Nothing is ever evaluated as Python.

Filters, text conversion, truthiness and comparisons are the workflow language's own
(``runtara.sdk.flow.templates`` and ``.conditions``): a ``{{ x | length }}`` means the
same here as in a workflow's template mapping value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtara.agents.errors import PermanentError
from runtara.sdk.flow import conditions
from runtara.sdk.flow.errors import FlowError
from runtara.sdk.flow.templates import FILTERS, MAX_TEXT_CHARS
from runtara.sdk.flow.templates import text as _to_text

_TAG = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)"""
    r"""|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|!=|<=|>=|[<>.\[\](),|]))"""
)
MAX_OUTPUT_CHARS = MAX_TEXT_CHARS
MAX_LOOP_ITERATIONS = 1_000_000


class TemplateError(PermanentError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="TEXT_TEMPLATE_ERROR")


def render(template: str, context: Any) -> str:
    """Render ``template`` against ``context`` (an object; other values are ``value``)."""
    scope = dict(context) if isinstance(context, dict) else {"value": context}
    nodes, _end = _parse(_TAG.split(template), 0, ())
    out = _Output()
    _render_nodes(nodes, [scope], out)
    return "".join(out.parts)


# --------------------------------------------------------------------------- expressions


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise TemplateError(f"unexpected {text[position:]!r} in {text!r}")
        kind = match.lastgroup or "op"
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass
class _Expr:
    """A parsed expression: a tree of tuples evaluated by ``_evaluate``."""

    tree: Any
    source: str


class _ExprParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.position = 0

    def parse(self) -> _Expr:
        tree = self.parse_or()
        if self.position != len(self.tokens):
            raise TemplateError(f"unexpected {self.tokens[self.position][1]!r} in {self.source!r}")
        return _Expr(tree, self.source)

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise TemplateError(f"unexpected end of {self.source!r}")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise TemplateError(f"expected {expected!r} in {self.source!r}, got {token[1]!r}")
        self.position += 1
        return token

    def parse_or(self) -> Any:
        left = self.parse_and()
        while self.peek() == "or":
            self.take()
            left = ("or", left, self.parse_and())
        return left

    def parse_and(self) -> Any:
        left = self.parse_not()
        while self.peek() == "and":
            self.take()
            left = ("and", left, self.parse_not())
        return left

    def parse_not(self) -> Any:
        if self.peek() == "not":
            self.take()
            return ("not", self.parse_not())
        left = self.parse_filtered()
        if self.peek() in ("==", "!=", "<", "<=", ">", ">=", "in"):
            op = self.take()[1]
            return ("cmp", op, left, self.parse_filtered())
        return left

    def parse_filtered(self) -> Any:
        value = self.parse_primary()
        while self.peek() == "|":
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise TemplateError(f"expected a filter name in {self.source!r}")
            args: list[Any] = []
            if self.peek() == "(":
                self.take()
                while self.peek() != ")":
                    args.append(self.parse_or())
                    if self.peek() == ",":
                        self.take()
                self.take(")")
            value = ("filter", name, value, args)
        return value

    def parse_primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return ("lit", json.loads('"' + text[1:-1].replace('"', '\\"') + '"'))
        if kind == "num":
            return ("lit", float(text) if "." in text else int(text))
        if text == "(":
            inner = self.parse_or()
            self.take(")")
            return inner
        if kind != "name":
            raise TemplateError(f"unexpected {text!r} in {self.source!r}")
        if text in ("true", "True", "false", "False", "none", "None", "null"):
            return ("lit", {"true": True, "false": False}.get(text.lower()))
        path: list[Any] = [text]
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                path.append(self.take()[1])
            else:
                index_kind, index = self.take()
                path.append(
                    json.loads('"' + index[1:-1] + '"') if index_kind == "str" else int(index)
                )
                self.take("]")
        return ("path", path)


def _lookup(scopes: list[dict[str, Any]], path: list[Any]) -> Any:
    head, *rest = path
    value: Any = None
    for scope in reversed(scopes):
        if head in scope:
            value = scope[head]
            break
    for part in rest:
        if isinstance(value, dict):
            value = value.get(str(part))
        elif isinstance(value, list) and (isinstance(part, int) or str(part).isdigit()):
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _evaluate(tree: Any, scopes: list[dict[str, Any]]) -> Any:
    kind = tree[0]
    if kind == "lit":
        return tree[1]
    if kind == "path":
        return _lookup(scopes, tree[1])
    if kind == "not":
        return not _truthy(_evaluate(tree[1], scopes))
    if kind == "and":
        return _truthy(_evaluate(tree[1], scopes)) and _truthy(_evaluate(tree[2], scopes))
    if kind == "or":
        return _truthy(_evaluate(tree[1], scopes)) or _truthy(_evaluate(tree[2], scopes))
    if kind == "cmp":
        return _compare(tree[1], _evaluate(tree[2], scopes), _evaluate(tree[3], scopes))
    _, name, operand, args = tree
    function = FILTERS.get(name)
    if function is None:
        raise TemplateError(f"unknown filter {name!r}; known: {', '.join(sorted(FILTERS))}")
    try:
        return function(_evaluate(operand, scopes), *[_evaluate(a, scopes) for a in args])
    except (TypeError, ValueError, FlowError) as exc:
        raise TemplateError(f"filter {name!r}: {exc}") from None


#: Comparison operator -> the condition operator of the workflow language.
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": conditions.eq,
    "!=": conditions.ne,
    "<": conditions.lt,
    "<=": conditions.lte,
    ">": conditions.gt,
    ">=": conditions.gte,
    "in": conditions.in_,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    return _COMPARE[op](left, right)


_truthy = conditions.truthy


# --------------------------------------------------------------------------- statements


@dataclass
class _If:
    branches: list[tuple[_Expr | None, list[Any]]] = field(default_factory=list)


@dataclass
class _For:
    name: str
    iterable: _Expr
    body: list[Any]


_FOR = re.compile(r"^for\s+([A-Za-z_]\w*)\s+in\s+(.+)$", re.DOTALL)


def _parse(parts: list[str], position: int, stop: tuple[str, ...]) -> tuple[list[Any], int]:
    """Parse ``parts`` from ``position`` until a ``{% tag %}`` in ``stop``; return nodes and index."""
    nodes: list[Any] = []
    while position < len(parts):
        part = parts[position]
        if part.startswith("{{") and part.endswith("}}"):
            nodes.append(_ExprParser(part[2:-2]).parse())
        elif part.startswith("{#") and part.endswith("#}"):
            pass
        elif part.startswith("{%") and part.endswith("%}"):
            statement = part[2:-2].strip()
            keyword = statement.split(maxsplit=1)[0] if statement else ""
            if keyword in stop:
                return nodes, position
            if keyword == "if":
                node, position = _parse_if(parts, position, statement)
                nodes.append(node)
            elif keyword == "for":
                match = _FOR.match(statement)
                if not match:
                    raise TemplateError(f"malformed {{% {statement} %}}")
                body, position = _parse(parts, position + 1, ("endfor",))
                _expect_end(parts, position, "endfor")
                nodes.append(_For(match.group(1), _ExprParser(match.group(2)).parse(), body))
            else:
                raise TemplateError(f"unsupported or unexpected tag {{% {statement} %}}")
        else:
            nodes.append(part)
        position += 1
    if stop:
        raise TemplateError(f"missing {{% {stop[-1]} %}}")
    return nodes, position


def _parse_if(parts: list[str], position: int, statement: str) -> tuple[_If, int]:
    node = _If()
    condition: _Expr | None = _ExprParser(statement[2:]).parse()
    while True:
        body, position = _parse(parts, position + 1, ("elif", "else", "endif"))
        node.branches.append((condition, body))
        _expect_end(parts, position, "endif")
        tag = parts[position][2:-2].strip()
        if tag.startswith("elif"):
            condition = _ExprParser(tag[4:]).parse()
        elif tag == "else":
            condition = None
        else:
            return node, position


def _expect_end(parts: list[str], position: int, end: str) -> None:
    if position >= len(parts):
        raise TemplateError(f"missing {{% {end} %}}")


class _Output:
    """Collects rendered text and stops a template that would render without bound."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.iterations = 0

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateError(f"template loops ran more than {MAX_LOOP_ITERATIONS} times")

    def append(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT_CHARS:
            raise TemplateError(f"rendered text is longer than {MAX_OUTPUT_CHARS} characters")
        self.parts.append(text)


def _render_nodes(nodes: list[Any], scopes: list[dict[str, Any]], out: _Output) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Expr):
            out.append(_to_text(_evaluate(node.tree, scopes)))
        elif isinstance(node, _If):
            for condition, body in node.branches:
                if condition is None or _truthy(_evaluate(condition.tree, scopes)):
                    _render_nodes(body, scopes, out)
                    break
        else:
            items = _evaluate(node.iterable.tree, scopes)
            if isinstance(items, dict):
                items = list(items)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                out.tick()
                loop = {
                    "index": index + 1,
                    "index0": index,
                    "first": index == 0,
                    "last": index == len(items) - 1,
                    "length": len(items),
                }
                _render_nodes(node.body, [*scopes, {node.name: item, "loop": loop}], out)
