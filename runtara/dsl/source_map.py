"""Where each part of a JSON document is: JSON pointer -> line and column.

Built in one pass over the text (a regular-expression tokenizer, no second parse),
lazily on the first lookup, so documents without diagnostics never pay for it.
Lines and columns are 1-based; columns count characters.
"""

from __future__ import annotations

import bisect
import json
import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True, order=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


def escape_pointer_token(token: str | int) -> str:
    """RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Join tokens into a JSON pointer: ``pointer("steps", "a/b")`` == ``/steps/a~1b``."""
    return "".join("/" + escape_pointer_token(token) for token in tokens)


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def json_path(tokens: Iterable[str | int]) -> str:
    """The JSONPath a message shows: ``$.steps['step-1'].config``."""
    out = ["$"]
    for token in tokens:
        if isinstance(token, int):
            out.append(f"[{token}]")
        elif _IDENTIFIER.fullmatch(token):
            out.append(f".{token}")
        else:
            out.append(f"[{token!r}]")
    return "".join(out)


def unescape_pointer(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


_TOKEN = re.compile(
    r'"(?:[^"\\]++|\\.)*+"'  # string (possessive: no backtracking state per character)
    r"|[{}\[\]:,]"  # punctuation
    r"|[^\s{}\[\]:,\"]+",  # number, true, false, null
    re.DOTALL,
)


class SourceMap:
    """Offsets of keys and values in a JSON text, addressed by JSON pointer."""

    def __init__(self, text: str) -> None:
        self._text = text

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self._text.find
        index = find("\n")
        while index != -1:
            starts.append(index + 1)
            index = find("\n", index + 1)
        return starts

    @cached_property
    def _offsets(self) -> _Offsets:
        return _scan(self._text)

    def duplicate_keys(self) -> list[tuple[str, Position]]:
        """(pointer, position) of each key repeated in its object (JSON keeps the last)."""
        return [(ptr, self.offset_to_position(offset)) for ptr, offset in self._offsets.duplicates]

    def offset_to_position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1)

    def key(self, ptr: str) -> Position | None:
        """Where the key of the member at ``ptr`` starts (None for array items, the root)."""
        offset = self._offsets.keys.get(ptr)
        return None if offset is None else self.offset_to_position(offset)

    def value(self, ptr: str) -> Position | None:
        """Where the value at ``ptr`` starts."""
        offset = self._value_offset(ptr)
        return None if offset is None else self.offset_to_position(offset)

    def _value_offset(self, ptr: str) -> int | None:
        offsets = self._offsets
        found = offsets.values.get(ptr)
        if found is None and ptr:
            parent, _, index = ptr.rpartition("/")
            items = offsets.items.get(parent)
            if items is not None and index.isdigit() and int(index) < len(items):
                found = items[int(index)]
        return found

    def inside_string(self, ptr: str, index: int) -> Position:
        """Position of character ``index`` of the string value at ``ptr`` (escapes counted
        as the one character they stand for); the value's position if it is not a string."""
        start = self._value_offset(ptr)
        if start is None or self._text[start] != '"':
            return self.locate(ptr)
        offset = start + 1
        for _ in range(index):
            char = self._text[offset]
            if char == '"':
                break
            offset += (6 if self._text[offset + 1] == "u" else 2) if char == "\\" else 1
        return self.offset_to_position(offset)

    def bare_token(self, token: str) -> Position | None:
        """Where ``token`` (e.g. ``NaN``) first stands outside a string, if anywhere."""
        for match in _TOKEN.finditer(self._text):
            if match.group() == token:
                return self.offset_to_position(match.start())
        return None

    def escaped_string(self, predicate: Callable[[str], bool]) -> Position | None:
        """Where the first string with an escape whose decoded text fits ``predicate`` is."""
        for match in _TOKEN.finditer(self._text):
            token = match.group()
            if token[0] == '"' and "\\" in token and predicate(json.loads(token)):
                return self.offset_to_position(match.start())
        return None

    def value_offset(self, ptr: str) -> int | None:
        """Character offset where the value at ``ptr`` starts (None when absent)."""
        return self._value_offset(ptr)

    def key_offset(self, ptr: str) -> int | None:
        """Character offset of the key of the member at ``ptr`` (None when absent)."""
        return self._offsets.keys.get(ptr)

    def token_end(self, offset: int) -> int:
        """End offset of the token starting at ``offset``; for ``{`` or ``[`` the end of
        the whole object or array (editors' ranges: a step's extent, a string's)."""
        match = _TOKEN.match(self._text, offset)
        if match is None:
            return offset
        if match.group() not in ("{", "["):
            return match.end()
        depth = 0
        for token in _TOKEN.finditer(self._text, offset):
            first = token.group()[0]
            if first in "{[":
                depth += 1
            elif first in "}]":
                depth -= 1
                if depth == 0:
                    return token.end()
        return len(self._text)

    def token_at(self, offset: int) -> tuple[str, bool, int] | None:
        """The key or scalar value whose token holds ``offset``: (pointer, is_key, start).

        A position just after a string's closing quote still counts (the cursor of a
        user who typed the last character); the lookup is a bisection over a table
        built once per text.
        """
        starts, entries = self._tokens
        index = bisect.bisect_right(starts, offset) - 1
        if index < 0:
            return None
        ptr, is_key, start = entries[index]
        return (ptr, is_key, start) if offset <= self.token_end(start) else None

    @cached_property
    def _tokens(self) -> tuple[list[int], list[tuple[str, bool, int]]]:
        offsets = self._offsets
        entries = [(start, ptr, True) for ptr, start in offsets.keys.items()]
        entries += [
            (start, ptr, False)
            for ptr, start in offsets.values.items()
            if self._text[start] not in "{["
        ]
        for parent, items in offsets.items.items():
            entries += [
                (start, f"{parent}/{index}", False)
                for index, start in enumerate(items)
                if self._text[start] not in "{["
            ]
        entries.sort()
        return [e[0] for e in entries], [(ptr, is_key, start) for start, ptr, is_key in entries]

    def __contains__(self, ptr: str) -> bool:
        return self._value_offset(ptr) is not None

    def locate(self, ptr: str, *, prefer: str = "value") -> Position:
        """Best position for ``ptr``: its value or key, else its nearest existing ancestor."""
        while True:
            first, second = (self.value, self.key) if prefer == "value" else (self.key, self.value)
            found = first(ptr) or second(ptr)
            if found is not None:
                return found
            if not ptr:
                return Position(1, 1)
            ptr = ptr[: ptr.rindex("/")]


@dataclass
class _Offsets:
    keys: dict[str, int]
    """Pointer of an object member -> offset of its key."""
    values: dict[str, int]
    """Pointer -> offset of the value (object members, containers, the root)."""
    items: dict[str, array[int]]
    """Pointer of an array -> offset of each item: 8 bytes an item, not a pointer string
    (a document may hold millions of numbers)."""
    duplicates: list[tuple[str, int]]


class _Container:
    """An object or array being scanned."""

    __slots__ = ("index", "is_object", "items", "pointer", "seen")

    def __init__(self, pointer: str, is_object: bool) -> None:
        self.pointer = pointer
        self.is_object = is_object
        self.index = 0
        self.seen: set[str] = set()
        self.items: array[int] = array("q")


def _scan(text: str) -> _Offsets:
    """One pass over valid JSON: offsets of every member key and every value, and of
    repeated keys (the last occurrence wins, as in ``json.loads``)."""
    found = _Offsets({}, {}, {}, [])
    stack: list[_Container] = []
    current = ""  # pointer of the member value that comes next (objects and the root)
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == ",":
            container = stack[-1]
            if container.is_object:
                expect_key = True
            else:
                container.index += 1
        elif first == ":":
            continue
        elif first in "}]":
            closed = stack.pop()
            if not closed.is_object:
                found.items[closed.pointer] = closed.items
            expect_key = False
        elif expect_key:  # an object key (a string)
            container = stack[-1]
            name = json.loads(token) if "\\" in token else token[1:-1]
            current = f"{container.pointer}/{escape_pointer_token(name)}"
            if name in container.seen:
                found.duplicates.append((current, match.start()))
            container.seen.add(name)
            found.keys[current] = match.start()
            expect_key = False
        else:
            parent = stack[-1] if stack else None
            if parent is not None and not parent.is_object:
                parent.items.append(match.start())
                if first not in "{[":
                    continue
                current = f"{parent.pointer}/{parent.index}"
            found.values[current] = match.start()
            if first == "{":
                stack.append(_Container(current, is_object=True))
                expect_key = True
            elif first == "[":
                stack.append(_Container(current, is_object=False))
    return found
