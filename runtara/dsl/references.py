"""Reference paths and templates: the one parser codegen and the validator share.

A path reads a value from the object a step sees: ``data.user.name``,
``steps['step-1'].outputs.items[0].name``, ``variables._index``, ``loop.index``.
Segments are names (after a dot, or quoted in brackets) and array indexes (``[0]``).
A template is text with ``{{ path }}`` or ``{{ path | filter }}`` placeholders.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runtara.errors import Error

Segment = str | int

#: Roots a path may start from (``scenario`` is Runtara's older name of ``workflow``;
#: ``__error`` and ``error`` are Runtara's spellings of ``steps.error``).
ROOTS: tuple[str, ...] = (
    "data",
    "variables",
    "steps",
    "workflow",
    "scenario",
    "loop",
    "item",
    "iteration",
    "__error",
    "error",
)
#: Roots that are other names of ``steps.error`` (the failure an onError handler reads).
ERROR_ROOTS = ("__error", "error")


class ReferenceSyntaxError(Error, ValueError):
    """A malformed path; ``offset`` is the character where the problem starts."""

    def __init__(self, message: str, path: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.offset = offset


@dataclass(frozen=True)
class ReferencePath:
    """A parsed path: its text and its segments (names and indexes)."""

    text: str
    segments: tuple[Segment, ...]

    @property
    def root(self) -> str:
        return str(self.segments[0])

    @property
    def step_id(self) -> str | None:
        """The step a ``steps.<id>...`` path reads, else None."""
        if self.root == "steps" and len(self.segments) > 1 and isinstance(self.segments[1], str):
            return self.segments[1]
        return None

    def canonical(self) -> ReferencePath:
        """The same path in one spelling: ``scenario`` (Runtara 3.0) as ``workflow``, and
        ``__error.*``, ``error.*``, ``steps.__error.*`` as ``steps.error.*``."""
        segments = self.segments
        if self.root == "scenario":
            segments = ("workflow", *segments[1:])
        elif self.root in ERROR_ROOTS:
            segments = ("steps", "error", *segments[1:])
        elif self.root == "steps" and segments[1:2] == ("__error",):
            segments = ("steps", "error", *segments[2:])
        else:
            return self
        return ReferencePath(self.text, segments)

    def __str__(self) -> str:
        return format_path(self.segments)


_NAME_END = re.compile(r"[.\[\]\s]")
_INDEX = re.compile(r"\d+")


@lru_cache(maxsize=8192)
def parse_reference(text: str) -> ReferencePath:
    """Parse a path; raise ``ReferenceSyntaxError`` naming what is wrong and where.

    Cached: documents repeat the same paths, and the result is immutable.
    """
    if not text.strip():
        raise ReferenceSyntaxError("empty reference path", text, 0)
    if text != text.strip():
        raise ReferenceSyntaxError("reference path has leading or trailing spaces", text, 0)
    segments: list[Segment] = []
    pos, end = 0, len(text)
    expect_name = True  # at the start and after a dot a name must follow
    while pos < end:
        char = text[pos]
        if char == "[":
            pos = _parse_bracket(text, pos, segments)
            expect_name = False
        elif char == ".":
            if expect_name:
                what = (
                    "path starts with a dot"
                    if pos == 0
                    else "empty path segment (consecutive dots)"
                )
                raise ReferenceSyntaxError(what, text, pos)
            pos += 1
            expect_name = True
            if pos == end:
                raise ReferenceSyntaxError("path ends with a dot", text, pos - 1)
        elif expect_name:
            match = _NAME_END.search(text, pos)
            stop = match.start() if match else end
            if stop == pos:
                raise ReferenceSyntaxError(f"unexpected {char!r} in path", text, pos)
            segments.append(text[pos:stop])
            pos = stop
            expect_name = False
        else:
            raise ReferenceSyntaxError(
                f"unexpected {char!r} after a segment (expected '.' or '[')", text, pos
            )
    if not isinstance(segments[0], str):
        raise ReferenceSyntaxError("a path starts with a name, not an index", text, 0)
    return ReferencePath(text, tuple(segments))


def _parse_bracket(text: str, start: int, segments: list[Segment]) -> int:
    """Parse ``[0]``, ``['name']`` or ``["name"]`` at ``start``; return the position after it."""
    if start == 0:
        raise ReferenceSyntaxError("a path starts with a name, not a bracket", text, 0)
    pos = start + 1
    if pos < len(text) and text[pos] in "'\"":
        quote = text[pos]
        close = text.find(quote + "]", pos + 1)
        if close == -1:
            raise ReferenceSyntaxError("unclosed quoted name in brackets", text, start)
        name = text[pos + 1 : close]
        if not name:
            raise ReferenceSyntaxError("empty name in brackets", text, start)
        segments.append(name)
        return close + 2
    close = text.find("]", pos)
    if close == -1:
        raise ReferenceSyntaxError("unclosed bracket", text, start)
    inner = text[pos:close]
    if not _INDEX.fullmatch(inner):
        what = "empty brackets" if not inner else f"'{inner}' is not an index"
        raise ReferenceSyntaxError(f"{what} (use [0] or ['name'])", text, start)
    segments.append(int(inner))
    return close + 1


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """Render segments back to a path (brackets for indexes and unusual names)."""
    out: list[str] = []
    for i, segment in enumerate(segments):
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _PLAIN_NAME.fullmatch(segment):
            out.append(segment if i == 0 else f".{segment}")
        else:
            out.append(f"[{segment!r}]")
    return "".join(out)


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class FilterCall:
    """One filter of a placeholder, checked: a known filter, literal arguments that fit it."""

    name: str
    args: tuple[Any, ...]
    """The arguments after the filtered value, as JSON values."""
    text: str
    """As written, e.g. ``default('n/a')``."""


@dataclass(frozen=True)
class TemplateExpression:
    """One ``{{ ... }}`` placeholder: its path, its filters and where it starts."""

    source: str
    """The text between the braces, stripped."""
    path: ReferencePath
    calls: tuple[FilterCall, ...]
    offset: int
    """Offset of ``{{`` in the template."""

    @property
    def filters(self) -> tuple[str, ...]:
        """Filter calls as written, e.g. ``upper`` or ``default('n/a')``."""
        return tuple(call.text for call in self.calls)


TemplatePart = str | TemplateExpression

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FILTER = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*", re.DOTALL)


def parse_template(text: str) -> tuple[TemplatePart, ...]:
    """Split a template into literal text and placeholders; raise on a malformed one."""
    parts: list[TemplatePart] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        parts.append(_parse_placeholder(match.group(1), match.start()))
        pos = match.end()
    rest = text[pos:]
    if "{{" in rest:
        raise ReferenceSyntaxError("unclosed '{{' in template", text, pos + rest.index("{{"))
    if rest:
        parts.append(rest)
    return tuple(parts)


def _parse_placeholder(inner: str, offset: int) -> TemplateExpression:
    source = inner.strip()
    path_text, *filters = (piece.strip() for piece in source.split("|"))
    try:
        path = parse_reference(path_text)
    except ReferenceSyntaxError as exc:
        raise ReferenceSyntaxError(
            f"placeholder '{{{{ {source} }}}}': {exc.message}", source, offset
        ) from None
    calls = []
    for piece in filters:
        try:
            calls.append(_filter_call(piece))
        except ValueError as exc:
            raise ReferenceSyntaxError(
                f"placeholder '{{{{ {source} }}}}': {exc}", source, offset
            ) from None
    return TemplateExpression(source=source, path=path, calls=tuple(calls), offset=offset)


def _filter_call(piece: str) -> FilterCall:
    """``piece`` (``default('n/a')``) checked against the filters the engine has: the one
    rule for validation, the language server and codegen."""
    from runtara.sdk.flow.templates import FILTERS  # the engine's table (image side)

    match = _FILTER.fullmatch(piece)
    if not match:
        raise ValueError(f"malformed filter {piece!r}")
    name, arguments = match.group(1), match.group(2)
    if name not in FILTERS:
        raise ValueError(f"unknown template filter {name!r} (known: {', '.join(sorted(FILTERS))})")
    args = _filter_arguments(arguments, piece)
    parameters = list(inspect.signature(FILTERS[name]).parameters.values())[1:]
    try:
        inspect.signature(FILTERS[name]).bind(None, *args)
    except TypeError:
        takes = ", ".join(
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in parameters
        )
        raise ValueError(
            f"template filter {name} takes ({takes}), got {len(args)} argument(s) in {piece!r}"
        ) from None
    return FilterCall(name=name, args=args, text=piece)


def _filter_arguments(source: str | None, piece: str) -> tuple[Any, ...]:
    if not source or not source.strip():
        return ()
    try:
        values = ast.literal_eval(f"({source},)")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        values = None
    if not isinstance(values, tuple) or not all(_is_json(v) for v in values):
        raise ValueError(
            "template filter arguments must be literal strings, numbers, lists, True, False"
            f" or None: {piece!r}"
        )
    return tuple(list(v) if isinstance(v, tuple) else v for v in values)


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False
