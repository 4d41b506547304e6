"""Which JSON values the runtime stores: the check every value passes at the door.

A value is refused (422, naming its JSON path) when it

* holds a lone surrogate (``"\\ud800"``): it has no UTF-8 form, so PostgreSQL refuses
  it and SQLite stores it in a way that breaks every later read of the row;
* holds ``NaN`` or ``Infinity``: not JSON (RFC 8259); stored, they came back as ``null``;
* nests deeper than :data:`MAX_JSON_DEPTH` levels: the answers that show it again
  could not.

Inputs, outputs, errors, signal and event payloads pass through :data:`StoredJson`
(a pydantic annotation); JSON checkpoint states through :func:`check_json_state`;
:func:`readable` shows a value stored before these checks existed.
The common case costs one pass per nesting level, and the path of a bad value is
looked for only once one is known to exist.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from runtara.errors import Error

#: Deepest nesting of a stored JSON value. The responses that show it again (pydantic's
#: serializer stops at 255 levels, counting the response's own) must be able to.
MAX_JSON_DEPTH = 200

#: A ``\\uD800``-``\\uDFFF`` escape in JSON text: the only way a surrogate gets in.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Unstorable(Error, ValueError):
    """A value the runtime does not store; ``path`` is where (``$`` is the value itself)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _bad_text(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"a lone surrogate (U+{code:04X}) is not text and cannot be stored"
    return None


def _bad_scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a JSON number (NaN and Infinity cannot be stored)"
    return None


def _member(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if isinstance(key, str) and _NAME.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=True)}]"


def check(value: Any) -> Any:
    """``value`` unchanged, or :class:`Unstorable` naming the first bad place."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        containers: list[Any] = []
        for node in level:
            if isinstance(node, dict | list):
                containers.append(node)
            elif _bad_scalar(node) is not None:
                raise _locate(value)
        if not containers:
            return value
        following: list[Any] = []
        for node in containers:
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and _bad_text(key) is not None:
                        raise _locate(value)
                following.extend(node.values())
            else:
                following.extend(node)
        level = following
    raise _locate(value)


def _locate(value: Any) -> Unstorable:
    """The first bad place, depth first (only called once one is known to exist)."""
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return Unstorable(path, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for key, child in reversed(items):
                if isinstance(key, str) and _bad_text(key) is not None:
                    return Unstorable(
                        _member(path, key), "a member name holds a lone surrogate (not text)"
                    )
                stack.append((child, _member(path, key), depth + 1))
        elif (reason := _bad_scalar(node)) is not None:
            return Unstorable(path, reason)
    return Unstorable("$", "not storable")  # pragma: no cover - check() found one


def parse(text: bytes) -> Any:
    """JSON text from UTF-8 bytes (``ValueError`` when malformed; :class:`Unstorable`
    when not UTF-8 or nested deeper than Python's parser goes). ``NaN`` and
    ``Infinity`` are parsed, so that :func:`check` can say where they are."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unstorable("$", f"not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(decoded)
    except RecursionError:
        raise Unstorable("$", f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None


def check_json_state(state: bytes) -> None:
    """A checkpoint state saved as JSON must be JSON the runtime would store. Parsing
    is the cost of every state; the walk only when the text could hold a bad value."""
    value = parse(state)
    if (
        _SURROGATE_ESCAPE.search(state)
        or b"NaN" in state
        or b"Infinity" in state
        or state.count(b"[") + state.count(b"{") > MAX_JSON_DEPTH
    ):
        check(value)


#: What a value nested too deep to show is shown as.
TOO_DEEP = "[nested too deep to show]"


def readable(value: Any) -> Any:
    """A stored value as the API can show it: itself, or (a row stored before the door
    checked) a copy with lone surrogates as U+FFFD, NaN and Infinity as ``null`` and
    what nests too deep cut. One bad row never fails a whole answer."""
    try:
        return check(value)
    except Unstorable:
        return _repair(value, 0)


def _repair(value: Any, depth: int) -> Any:
    if isinstance(value, dict | list) and depth >= MAX_JSON_DEPTH - 1:
        return TOO_DEEP
    if isinstance(value, dict):
        return {_repair_text(str(k)): _repair(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_repair(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _repair_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _repair_text(text: str) -> str:
    if _bad_text(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _validate(value: Any) -> Any:
    try:
        return check(value)
    except Unstorable as exc:
        raise PydanticCustomError(
            "unstorable_json", "{reason}", {"reason": exc.reason, "json_path": exc.path}
        ) from None


#: Any JSON value a request stores (input, output, error, event or signal payload).
StoredJson = Annotated[Any, AfterValidator(_validate)]
#: A JSON object the runtime stores (connection parameters, a workflow document).
StoredObject = Annotated[dict[str, Any], AfterValidator(_validate)]
