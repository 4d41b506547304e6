"""Reading workflow documents: JSON text -> ``Workflow`` plus a source map.

``load``/``loads`` raise ``DocumentError`` (with line:col diagnostics) when the file
cannot be read, is not JSON, or does not describe a workflow; ``parse_json`` is the
first half (text -> JSON value + source map), which the validator uses on its own.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

import pydantic

from runtara.agents.catalog import closest
from runtara.dsl.diagnostics import Diagnostic
from runtara.dsl.graph import Workflow
from runtara.dsl.source_map import Position, SourceMap, json_path, pointer
from runtara.errors import Error


class DocumentError(Error):
    """A document that cannot be used; ``diagnostics`` say what and where."""

    def __init__(self, filename: str, diagnostics: list[Diagnostic], *, readable: bool) -> None:
        self.filename = filename
        self.diagnostics = diagnostics
        self.readable = readable
        """False when the file could not be read or parsed as JSON (exit code 2)."""
        first = diagnostics[0].format(filename) if diagnostics else filename
        more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        super().__init__(first + more)


@dataclass(frozen=True)
class JsonDocument:
    """A parsed JSON document with its source map."""

    filename: str
    value: Any
    source_map: SourceMap
    has_duplicate_keys: bool = False
    """Some object repeats a key (``source_map.duplicate_keys()`` says where)."""


@dataclass(frozen=True)
class LoadedWorkflow:
    """A workflow model together with where each of its parts is in the file."""

    filename: str
    workflow: Workflow
    source_map: SourceMap
    raw: Any
    """The document as plain JSON."""


#: Larger files are refused: a workflow document is kilobytes, rarely megabytes.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a file as UTF-8 (a BOM is allowed); raise ``DocumentError`` if impossible.

    Only regular files up to ``MAX_DOCUMENT_BYTES`` are read: a FIFO or a device such
    as ``/dev/zero`` would otherwise block or never end.
    """
    filename = os.fspath(path)

    def unreadable(reason: str) -> DocumentError:
        return DocumentError(filename, [Diagnostic("S000", reason)], readable=False)

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise unreadable("cannot read file: not a regular file")
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise unreadable(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        raise unreadable(f"file is larger than {limit} MiB: not a workflow document")
    return decode(data, filename)


def decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        message = f"file is not valid UTF-8 (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        raise DocumentError(
            filename, [Diagnostic("S000", message, line=line, column=column)], readable=False
        ) from None


class _ConstantError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python reads them, JSON does not allow them."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not valid JSON")
        self.name = name


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


#: ``\uD800``-``\uDFFF``: Python decodes a lone one into a string nothing can print or store.
_MAYBE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(text: str | bytes, filename: str = "<string>") -> JsonDocument:
    """Parse JSON text; a syntax error becomes ``DocumentError`` with its line:col."""
    if isinstance(text, bytes):
        text = decode(text, filename)
    text = text.removeprefix("\ufeff")
    repeated: list[bool] = []

    def build_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built = dict(pairs)
        if len(built) != len(pairs):
            repeated.append(True)
        return built

    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=build_object)
    except json.JSONDecodeError as exc:
        message = f"malformed JSON: {exc.msg}"
        diagnostic = Diagnostic("S000", message, line=exc.lineno, column=exc.colno)
        raise DocumentError(filename, [diagnostic], readable=False) from None
    except _ConstantError as exc:
        where = SourceMap(text).bare_token(exc.name) or Position(1, 1)
        diagnostic = Diagnostic(
            "S000", f"malformed JSON: {exc}", line=where.line, column=where.column
        )
        raise DocumentError(filename, [diagnostic], readable=False) from None
    except RecursionError:
        message = "malformed JSON: nested too deeply (arrays and objects over ~1,000 levels down)"
        raise DocumentError(filename, [Diagnostic("S000", message)], readable=False) from None
    source_map = SourceMap(text)
    if _MAYBE_SURROGATE_ESCAPE.search(text):
        surrogate_at = source_map.escaped_string(lambda decoded: bool(_SURROGATE.search(decoded)))
        if surrogate_at is not None:
            message = "malformed JSON: a \\u escape gives half a surrogate pair, not a character"
            diagnostic = Diagnostic(
                "S000", message, line=surrogate_at.line, column=surrogate_at.column
            )
            raise DocumentError(filename, [diagnostic], readable=False)
    return JsonDocument(filename, value, source_map, has_duplicate_keys=bool(repeated))


def build_workflow(document: JsonDocument) -> Workflow:
    """Turn parsed JSON into the model; pydantic errors become S001 diagnostics."""
    try:
        return Workflow.model_validate(document.value)
    except pydantic.ValidationError as exc:
        raise DocumentError(document.filename, model_errors(exc, document), readable=True) from None
    except RecursionError:
        diagnostic = Diagnostic("S001", "document is nested too deeply")
        raise DocumentError(document.filename, [diagnostic], readable=True) from None


def _found_instead(missing: str, given: Any) -> str:
    """`` (found 'agentID')`` when an unknown key of the object looks like the missing one
    (unknown keys are only warnings, W001, so a misspelt required key shows up here)."""
    if not isinstance(given, dict):
        return ""
    close = closest(missing, [str(key) for key in given if key != missing])
    return f" (found '{close}')" if close else ""


def model_errors(exc: pydantic.ValidationError, document: JsonDocument) -> list[Diagnostic]:
    """pydantic's errors as S001 diagnostics at the offending place."""
    out: list[Diagnostic] = []
    for error in exc.errors(include_url=False):
        tokens = _document_tokens(document.value, error["loc"])
        ptr = pointer(*tokens)
        where = document.source_map.locate(ptr)
        message = error["msg"]
        if error["type"] == "missing" and error["loc"]:
            message = f"missing required field '{error['loc'][-1]}'" + _found_instead(
                str(error["loc"][-1]), error.get("input")
            )
        if error["type"] == "recursion_loop":  # pydantic's depth guard, not a real cycle
            text = f"nested too deeply (over ~250 levels) below {json_path(tokens[:4])}"
        else:
            text = f"{message} at {json_path(tokens)}"
        out.append(Diagnostic("S001", text, ptr, where.line, where.column))
    return out


def _document_tokens(value: Any, loc: tuple[str | int, ...]) -> list[str | int]:
    """Follow pydantic's error location through the document.

    Locations contain parts that are not in the document (union branch tags such as
    ``Agent``, and ``executionGraph`` for a bare graph); those are skipped.
    """
    tokens: list[str | int] = []
    for part in loc:
        if _has_child(value, part):
            value = value[part]
        elif isinstance(value, dict | list):
            continue
        else:
            break
        tokens.append(part)
    return tokens


def _has_child(value: Any, part: str | int) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def loads(text: str | bytes, filename: str = "<string>") -> LoadedWorkflow:
    """Parse a workflow from text; raise ``DocumentError`` with line:col diagnostics."""
    document = parse_json(text, filename)
    workflow = build_workflow(document)
    return LoadedWorkflow(filename, workflow, document.source_map, document.value)


def load(path: str | os.PathLike[str]) -> LoadedWorkflow:
    """Read and parse a workflow file; raise ``DocumentError`` with line:col diagnostics."""
    filename = os.fspath(path)
    return loads(read_text(path), filename)
