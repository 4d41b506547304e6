"""``runtara lsp``: a Language Server (pygls, stdio) for workflow documents.

What no JSON Schema can give: the validator's diagnostics (every E/W/S code, with "Did
you mean") as you type; completion of reference paths from what the document declares
(step outputs from the catalog, ``data`` from ``inputSchema``, variables in scope,
``item``/``loop`` where they exist), of step ids and connection ids; go to definition;
hover on a reference; rename of a step id across its graph; the step outline.

Diagnostics are debounced (``DEBOUNCE_SECONDS`` after the last change) and computed off
the event loop, on the same parse the other features use (one ``parse_json`` per
document version), and published only if no newer version arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
from functools import cached_property
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from runtara import __version__
from runtara.agents.catalog import Catalog, catalog
from runtara.dsl.diagnostics import Diagnostic
from runtara.dsl.references import format_path
from runtara.dsl.validation import find_child_workflows, validate_document, validate_text
from runtara.lsp.analysis import Analysis, Completion, Cursor, Graph

#: Seconds of quiet after a change before the document is validated again.
DEBOUNCE_SECONDS = 0.05

_KINDS = {
    "step": types.CompletionItemKind.Module,
    "field": types.CompletionItemKind.Field,
    "variable": types.CompletionItemKind.Variable,
    "root": types.CompletionItemKind.Keyword,
    "connection": types.CompletionItemKind.Reference,
}
_SYMBOLS = {
    "Agent": types.SymbolKind.Function,
    "Conditional": types.SymbolKind.Boolean,
    "Switch": types.SymbolKind.Enum,
    "Split": types.SymbolKind.Array,
    "While": types.SymbolKind.Array,
    "Finish": types.SymbolKind.Event,
    "Error": types.SymbolKind.Event,
    "Connection": types.SymbolKind.Key,
}


class Lines:
    """Offsets <-> LSP positions (line, UTF-16 code units) for one text."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def starts(self) -> list[int]:
        starts = [0]
        index = self.text.find("\n")
        while index != -1:
            starts.append(index + 1)
            index = self.text.find("\n", index + 1)
        return starts

    def offset(self, position: types.Position) -> int:
        line = min(position.line, len(self.starts) - 1)
        start = self.starts[line]
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        units, offset = 0, start
        while offset < end and units < position.character:
            units += 2 if ord(self.text[offset]) > 0xFFFF else 1
            offset += 1
        return offset

    def position(self, offset: int) -> types.Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        prefix = self.text[self.starts[line] : offset]
        return types.Position(line, len(prefix.encode("utf-16-le")) // 2)

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))


class WorkflowServer(LanguageServer):
    """The server and its per-document state (one Analysis per version)."""

    def __init__(self) -> None:
        super().__init__(
            "runtara-lsp",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self._analyses: dict[str, tuple[int | None, Analysis, Lines]] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._catalog: Catalog | None = None
        self.children: dict[str, Path] | None = None
        """Child workflow id -> file, from ``initializationOptions.children``."""

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = catalog()
        return self._catalog

    def analysis(self, uri: str) -> tuple[Analysis, Lines]:
        document = self.workspace.get_text_document(uri)
        cached = self._analyses.get(uri)
        if (
            cached is not None
            and cached[0] == document.version
            and cached[1].text == document.source
        ):
            return cached[1], cached[2]
        analysis = Analysis(document.source, self.catalog, filename=document.path)
        lines = Lines(document.source)
        self._analyses[uri] = (document.version, analysis, lines)
        return analysis, lines

    def forget(self, uri: str) -> None:
        self._analyses.pop(uri, None)
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()

    def schedule_diagnostics(self, uri: str, delay: float) -> None:
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._diagnose(uri, delay))

    async def _diagnose(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        version = self.workspace.get_text_document(uri).version
        analysis, lines = self.analysis(uri)
        found = await asyncio.to_thread(_diagnostics, analysis, self.children)
        if self.workspace.get_text_document(uri).version != version:
            return  # a newer version is on its way
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=version,
                diagnostics=[_lsp_diagnostic(d, analysis, lines) for d in found],
            )
        )


def _diagnostics(analysis: Analysis, children: dict[str, Path] | None) -> list[Diagnostic]:
    """The validator's diagnostics on the parse this version already has.

    Child workflows (EmbedWorkflow: E051 unknown, E055 inputs not mapped) are looked up
    as ``runtara validate --child`` does, in the files and directories the client names
    (``initializationOptions.children``); without them, among the ``*.json`` files
    beside the document (as when ``runtara validate`` is given its directory).
    """
    document = analysis.document
    if document is None:
        return validate_text(analysis.text, analysis.filename).diagnostics  # S000 and where
    if children is None:
        children = _siblings(analysis.filename)
    return validate_document(document, children=set(children), child_files=children).diagnostics


def _siblings(filename: str) -> dict[str, Path]:
    directory = Path(filename).parent
    if not filename or not directory.is_dir():
        return {}
    return find_child_workflows(sorted(directory.glob("*.json")))


def _lsp_diagnostic(diagnostic: Diagnostic, analysis: Analysis, lines: Lines) -> types.Diagnostic:
    line = min(max(diagnostic.line, 1), len(lines.starts)) - 1
    start = lines.starts[line] + max(diagnostic.column, 1) - 1
    end = start
    if analysis.document is not None and start < len(analysis.text):
        end = analysis.document.source_map.token_end(start)
        if analysis.text[start] in "{[":  # a whole object: underline its first line only
            newline = analysis.text.find("\n", start)
            end = min(end, newline if newline != -1 else end)
    return types.Diagnostic(
        range=lines.range(start, max(end, start + 1)),
        message=diagnostic.message,
        severity=(
            types.DiagnosticSeverity.Error
            if diagnostic.is_error
            else types.DiagnosticSeverity.Warning
        ),
        code=diagnostic.code,
        source="runtara",
    )


server = WorkflowServer()


@server.feature(types.INITIALIZE)
def initialize(ls: WorkflowServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    paths = options.get("children") if isinstance(options, dict) else None
    if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
        ls.children = find_child_workflows(paths)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: WorkflowServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule_diagnostics(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: WorkflowServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule_diagnostics(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: WorkflowServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
    )


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[".", '"', "{", "["]),
)
def completion(ls: WorkflowServer, params: types.CompletionParams) -> types.CompletionList:
    analysis, lines = ls.analysis(params.text_document.uri)
    offset = lines.offset(params.position)
    items = [
        _completion_item(c, analysis, lines, offset, rank)
        for rank, c in enumerate(analysis.complete(offset))
    ]
    return types.CompletionList(is_incomplete=False, items=items)


def _completion_item(
    completion: Completion, analysis: Analysis, lines: Lines, offset: int, rank: int
) -> types.CompletionItem:
    """One item; ``rank`` keeps the document's order (steps as written, fields as declared)
    where a client would otherwise sort by label (step-1, step-10, step-100, ...)."""
    word_start = offset
    while word_start > 0 and analysis.text[word_start - 1] not in '."[{ ':
        word_start -= 1
    start = completion.replace_from if completion.replace_from is not None else word_start
    new_text = completion.insert or completion.label
    return types.CompletionItem(
        label=completion.label,
        kind=_KINDS.get(completion.kind),
        detail=completion.detail or None,
        documentation=(
            types.MarkupContent(types.MarkupKind.Markdown, completion.documentation)
            if completion.documentation
            else None
        ),
        filter_text=analysis.text[start:word_start] + completion.label
        if completion.insert
        else None,
        text_edit=types.TextEdit(lines.range(start, offset), new_text),
    )


def _target_step(analysis: Analysis, cursor: Cursor, offset: int) -> tuple[Graph, str] | None:
    """The step a string names: a step key or id, an entryPoint/edge, a reference's
    ``steps.<id>``, or (from an Agent's connectionId) the Connection step."""
    graph = cursor.graph
    if cursor.step_id is not None and (
        (cursor.rest == [] and cursor.is_key) or cursor.rest == ["id"]
    ):
        return graph, cursor.step_id
    value = analysis.raw_at(cursor.pointer)
    if analysis.step_id_site(cursor) and isinstance(value, str) and value in graph.steps:
        return graph, value
    if cursor.rest == ["connectionId"] and cursor.step_id is not None:
        for step_id, step in graph.steps.items():
            if (
                isinstance(step, dict)
                and step.get("stepType") == "Connection"
                and step.get("connectionId") == value
            ):
                return graph, step_id
    reference = analysis.reference_at(cursor, offset)
    if reference is not None and reference.step_id in graph.steps:
        return graph, reference.step_id
    return None


def _located(
    ls: WorkflowServer, uri: str, position: types.Position
) -> tuple[Analysis, Lines, Graph, str] | None:
    analysis, lines = ls.analysis(uri)
    offset = lines.offset(position)
    cursor = analysis.cursor(offset)
    if cursor is None:
        return None
    target = _target_step(analysis, cursor, offset)
    return None if target is None else (analysis, lines, *target)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: WorkflowServer, params: types.DefinitionParams) -> types.Location | None:
    found = _located(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, lines, graph, step_id = found
    assert analysis.document is not None
    start = analysis.document.source_map.key_offset(graph.step_pointer(step_id))
    if start is None:
        return None
    end = analysis.document.source_map.token_end(start)
    return types.Location(params.text_document.uri, lines.range(start, end))


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: WorkflowServer, params: types.HoverParams) -> types.Hover | None:
    found = _located(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, _, graph, step_id = found
    return types.Hover(
        types.MarkupContent(types.MarkupKind.Markdown, analysis.step_markdown(graph, step_id))
    )


@server.feature(types.TEXT_DOCUMENT_RENAME)
def rename(ls: WorkflowServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    found = _located(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, lines, graph, old = found
    new = params.new_name
    if not new or new != new.strip():
        raise JsonRpcInvalidParams("a step id cannot be empty or start or end with spaces")
    if new in graph.steps and new != old:
        raise JsonRpcInvalidParams(f"step '{new}' already exists in this graph")
    edits = [
        types.TextEdit(lines.range(s, e), text)
        for s, e, text in _rename_edits(analysis, graph, old, new)
    ]
    return types.WorkspaceEdit(changes={params.text_document.uri: edits})


def _rename_edits(
    analysis: Analysis, graph: Graph, old: str, new: str
) -> list[tuple[int, int, str]]:
    """(start, end, new text) of every place ``old`` names the step in ``graph``."""
    source_map = analysis.document.source_map if analysis.document else None
    assert source_map is not None
    quoted = json.dumps(new, ensure_ascii=False)
    edits: list[tuple[int, int, str]] = []

    def replace_string(start: int | None) -> None:
        if start is not None:
            edits.append((start, source_map.token_end(start), quoted))

    step_ptr = graph.step_pointer(old)
    replace_string(source_map.key_offset(step_ptr))
    step = graph.steps.get(old)
    if isinstance(step, dict) and step.get("id") == old:
        replace_string(source_map.value_offset(f"{step_ptr}/id"))
    if graph.raw.get("entryPoint") == old:
        replace_string(source_map.value_offset(f"{graph.pointer}/entryPoint"))
    plan = graph.raw.get("executionPlan")
    for index, edge in enumerate(plan if isinstance(plan, list) else []):
        for key in ("fromStep", "toStep"):
            if isinstance(edge, dict) and edge.get(key) == old:
                replace_string(
                    source_map.value_offset(f"{graph.pointer}/executionPlan/{index}/{key}")
                )
    segment = format_path(("steps", new))[len("steps") :]
    replacement = json.dumps(segment, ensure_ascii=False)[1:-1]
    for reference in analysis.references(graph):
        if reference.step_id == old:
            start, end = analysis.string_span(
                reference.value_pointer, reference.start, reference.end
            )
            edits.append((start, end, replacement))
    return sorted(edits)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: WorkflowServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    analysis, lines = ls.analysis(params.text_document.uri)
    graphs = analysis.graphs
    if not graphs or analysis.document is None:
        return []
    return _symbols(analysis, lines, graphs[0], {g.pointer: g for g in graphs})


def _symbols(
    analysis: Analysis, lines: Lines, graph: Graph, graphs: dict[str, Graph]
) -> list[types.DocumentSymbol]:
    assert analysis.document is not None
    source_map = analysis.document.source_map
    symbols = []
    for step_id, step in graph.steps.items():
        ptr = graph.step_pointer(step_id)
        key, value = source_map.key_offset(ptr), source_map.value_offset(ptr)
        if key is None or value is None or not isinstance(step, dict):
            continue
        children: list[types.DocumentSymbol] = []
        for sub_key in ("subgraph", "onWait"):
            inner = graphs.get(f"{ptr}/{sub_key}")
            if inner is not None:
                children += _symbols(analysis, lines, inner, graphs)
        symbols.append(
            types.DocumentSymbol(
                name=step_id,
                detail=analysis.step_summary(step)
                + (f" · {step['name']}" if isinstance(step.get("name"), str) else ""),
                kind=_SYMBOLS.get(str(step.get("stepType")), types.SymbolKind.Object),
                range=lines.range(key, source_map.token_end(value)),
                selection_range=lines.range(key, source_map.token_end(key)),
                children=children or None,
            )
        )
    return symbols


def main(argv: Any = None) -> None:
    """Serve over stdin/stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING)
    server.start_io()
