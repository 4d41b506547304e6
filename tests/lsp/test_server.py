"""``runtara lsp`` driven by a real LSP client (pytest-lsp) over stdio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from runtara.dsl import find_child_workflows, validate, validate_text
from runtara.lsp.server import Lines
from tests.editors import documents

ROOT = Path(__file__).resolve().parents[2]
INVALID = sorted((ROOT / "tests" / "fixtures" / "invalid").glob("*.json"))
#: Where EmbedWorkflow children are found (as ``runtara validate --child``).
CHILDREN = (ROOT / "tests" / "fixtures" / "invalid", ROOT / "tests" / "fixtures" / "children")

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCUMENT: dict[str, Any] = {
    "name": "orders",
    "inputSchema": {
        "customer": {
            "type": "object",
            "description": "Who orders.",
            "properties": {"id": {"type": "string", "description": "Customer id."}},
        },
        "items": {"type": "array", "description": "Order lines."},
    },
    "variables": {"region": {"type": "string", "value": "eu", "description": "Where."}},
    "steps": {
        "api": {
            "stepType": "Connection",
            "id": "api",
            "connectionId": "orders-api",
            "integrationId": "http_bearer",
        },
        "fetch-orders": {
            "stepType": "Agent",
            "id": "fetch-orders",
            "agentId": "http",
            "capabilityId": "http-request",
            "connectionId": "orders-api",
            "inputMapping": {
                "url": {"valueType": "template", "value": "/c/{{ data.customer.id }}"},
            },
        },
        "check": {
            "stepType": "Conditional",
            "id": "check",
            "condition": {
                "op": "EQ",
                "arguments": [
                    {
                        "valueType": "reference",
                        "value": "steps['fetch-orders'].outputs.status_code",
                    },
                    {"valueType": "immediate", "value": 200},
                ],
            },
        },
        "each": {
            "stepType": "Split",
            "id": "each",
            "config": {"value": {"valueType": "reference", "value": "data.items"}},
            "subgraph": {
                "entryPoint": "line",
                "steps": {
                    "line": {
                        "stepType": "Finish",
                        "id": "line",
                        "inputMapping": {"sku": {"valueType": "reference", "value": "data.sku"}},
                    }
                },
            },
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {
                "body": {"valueType": "reference", "value": "steps['fetch-orders'].outputs.body"},
                "text": {
                    "valueType": "template",
                    "value": "{{ steps['fetch-orders'].outputs.status_code }} in {{ variables.region }}",
                },
            },
        },
    },
    "entryPoint": "api",
    "executionPlan": [
        {"fromStep": "api", "toStep": "fetch-orders"},
        {"fromStep": "fetch-orders", "toStep": "check"},
        {"fromStep": "check", "toStep": "each", "label": "true"},
        {"fromStep": "check", "toStep": "done", "label": "false"},
        {"fromStep": "each", "toStep": "done"},
    ],
}
TEXT = json.dumps(DOCUMENT, indent=2) + "\n"


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "runtara", "lsp"]),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=ROOT.as_uri(),
            initialization_options={"children": [str(p) for p in CHILDREN]},
        )
    )
    yield
    await lsp_client.shutdown_session()


_opened: list[int] = [0]


async def _open(client: LanguageClient, text: str) -> str:
    """Open ``text`` as a new document; wait for its first diagnostics; return its URI."""
    _opened[0] += 1
    uri = (ROOT / f"opened-{_opened[0]}.workflow.json").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "json", 1, text))
    )
    await _diagnostics_for(client, uri, 1)
    return uri


async def _diagnostics_for(
    client: LanguageClient, uri: str, version: int
) -> list[types.Diagnostic]:
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri and params.version == version:
            return list(params.diagnostics)


def _at(text: str, needle: str, after: int = 0, occurrence: int = 1) -> types.Position:
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    return Lines(text).position(offset + after)


async def _complete(client: LanguageClient, uri: str, position: types.Position) -> list[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), position)
    )
    assert isinstance(result, types.CompletionList)
    return [item.label for item in result.items]


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = Lines(text)
    spans = sorted(
        ((lines.offset(e.range.start), lines.offset(e.range.end), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
async def test_publishes_the_validators_diagnostics_for_each_invalid_fixture(
    client: LanguageClient, fixture: Path
) -> None:
    text = fixture.read_text(encoding="utf-8")
    children = find_child_workflows(CHILDREN)
    expected = validate(fixture, children=set(children), child_files=children).diagnostics
    uri = fixture.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "json", 1, text))
    )
    published = await _diagnostics_for(client, uri, 1)
    assert [(d.code, d.message) for d in published] == [(d.code, d.message) for d in expected]
    assert [(d.range.start.line + 1) for d in published] == [d.line for d in expected]
    code = fixture.stem.split("_")[0]
    assert code in {d.code for d in published}
    severity = (
        types.DiagnosticSeverity.Warning if code.startswith("W") else types.DiagnosticSeverity.Error
    )
    assert {d.severity for d in published if d.code == code} == {severity}


async def test_diagnostics_follow_the_edits(client: LanguageClient) -> None:
    uri = await _open(client, TEXT)
    assert list(client.diagnostics[uri]) == []
    typo = _at(TEXT, "fetch-orders'].outputs.body", 0)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(typo, types.Position(typo.line, typo.character + 5)),
                    text="fetch",
                )
            ],
        )
    )
    # (the same replacement: version 2 is still valid) then a typo: version 3
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=3, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(typo, types.Position(typo.line, typo.character + 5)),
                    text="fetc",
                )
            ],
        )
    )
    published = await _diagnostics_for(client, uri, 3)
    (problem,) = published
    assert problem.code == "E010"
    assert "Did you mean 'fetch-orders'?" in problem.message
    assert problem.range.start.line == typo.line


# --------------------------------------------------------------------------- completion


def _with_value(old: str, new: str) -> str:
    assert old in TEXT
    return TEXT.replace(old, new, 1)


async def test_completes_step_ids_then_declared_outputs(client: LanguageClient) -> None:
    text = _with_value('"value": "steps[\'fetch-orders\'].outputs.body"', '"value": "steps."')
    uri = await _open(client, text)
    labels = await _complete(client, uri, _at(text, '"steps."', len('"steps.')))
    assert labels == ["api", "fetch-orders", "check", "each"]  # not 'done' itself
    text = _with_value(
        '"value": "steps[\'fetch-orders\'].outputs.body"',
        '"value": "steps[\'fetch-orders\'].outputs."',
    )
    uri = await _open(client, text)
    position = _at(text, 'outputs."', len("outputs."))
    assert await _complete(client, uri, position) == ["status_code", "headers", "body", "success"]


async def test_bracketed_ids_replace_the_dot(client: LanguageClient) -> None:
    text = _with_value('"value": "steps[\'fetch-orders\'].outputs.body"', '"value": "steps.fe"')
    uri = await _open(client, text)
    position = _at(text, '"steps.fe"', len('"steps.fe'))
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), position)
    )
    assert isinstance(result, types.CompletionList)
    (item,) = [i for i in result.items if i.label == "fetch-orders"]
    assert isinstance(item.text_edit, types.TextEdit)
    applied = _apply(text, [item.text_edit])
    assert "\"steps['fetch-orders']\"" in applied


async def test_completes_data_from_the_input_schema_and_variables(client: LanguageClient) -> None:
    text = _with_value('"value": "data.items"', '"value": "data.customer."')
    uri = await _open(client, text)
    assert await _complete(client, uri, _at(text, "data.customer.", len("data.customer."))) == [
        "id"
    ]
    text = _with_value('"value": "data.items"', '"value": "data."')
    uri = await _open(client, text)
    assert await _complete(client, uri, _at(text, '"data."', len('"data.'))) == [
        "customer",
        "items",
    ]
    labels = await _complete(client, uri, _at(TEXT, "{{ variables.", len("{{ variables.")))
    assert labels == ["region"]


async def test_roots_include_item_only_where_in_scope(client: LanguageClient) -> None:
    text = _with_value('"value": "data.sku"', '"value": ""')
    uri = await _open(client, text)
    inside_split = await _complete(client, uri, _at(text, '"value": ""', len('"value": "')))
    assert {"item", "iteration"} <= set(inside_split) and "loop" not in inside_split
    text = _with_value('"value": "data.items"', '"value": ""')
    uri = await _open(client, text)
    top = await _complete(client, uri, _at(text, '"value": ""', len('"value": "')))
    assert top == ["data", "variables", "steps", "workflow"]


async def test_completes_step_ids_in_entry_point_and_edges_and_connection_ids(
    client: LanguageClient,
) -> None:
    uri = await _open(client, TEXT)
    everything = ["api", "fetch-orders", "check", "each", "done"]
    assert await _complete(client, uri, _at(TEXT, '"entryPoint": "api"', 15)) == everything
    assert await _complete(client, uri, _at(TEXT, '"toStep": "check"', 11)) == everything
    sub = await _complete(client, uri, _at(TEXT, '"entryPoint": "line"', 15))
    assert sub == ["line"]  # a subgraph is a namespace of its own
    connection = _at(TEXT, '"connectionId": "orders-api"', 17, occurrence=2)
    assert await _complete(client, uri, connection) == ["orders-api"]


# --------------------------------------------------------------------------- navigation


async def test_definition_hover_from_references_and_edges(client: LanguageClient) -> None:
    uri = await _open(client, TEXT)
    step_key = _at(TEXT, '"fetch-orders": {')
    for position in (
        _at(TEXT, "steps['fetch-orders'].outputs.body", 9),
        _at(TEXT, "{{ steps['fetch-orders']", 12),
        _at(TEXT, '"toStep": "fetch-orders"', 12),
    ):
        found = await client.text_document_definition_async(
            types.DefinitionParams(types.TextDocumentIdentifier(uri), position)
        )
        assert isinstance(found, types.Location)
        assert found.range.start == step_key
    hover = await client.text_document_hover_async(
        types.HoverParams(
            types.TextDocumentIdentifier(uri), _at(TEXT, "steps['fetch-orders'].outputs.body", 9)
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**fetch-orders**: Agent http:http-request" in hover.contents.value
    assert "status_code, headers, body, success" in hover.contents.value


async def test_rename_a_step_everywhere_it_is_named(client: LanguageClient) -> None:
    uri = await _open(client, TEXT)
    edit = await client.text_document_rename_async(
        types.RenameParams(
            types.TextDocumentIdentifier(uri), _at(TEXT, '"toStep": "fetch-orders"', 12), "load"
        )
    )
    assert edit is not None and edit.changes is not None
    renamed = _apply(TEXT, edit.changes[uri])
    assert "fetch-orders" not in renamed
    document = json.loads(renamed)
    assert document["steps"]["load"]["id"] == "load"
    assert document["steps"]["done"]["inputMapping"]["text"]["value"].startswith(
        "{{ steps.load.outputs"
    )
    assert validate_text(renamed).diagnostics == []


async def test_rename_refuses_an_id_that_exists_or_is_blank(client: LanguageClient) -> None:
    uri = await _open(client, TEXT)
    where = _at(TEXT, '"toStep": "fetch-orders"', 12)
    for name, reason in (("check", "step 'check' already exists"), (" ", "cannot be empty")):
        with pytest.raises(JsonRpcException, match=reason):
            await client.text_document_rename_async(
                types.RenameParams(types.TextDocumentIdentifier(uri), where, name)
            )


async def test_document_symbols_outline_steps_and_subgraphs(client: LanguageClient) -> None:
    uri = await _open(client, TEXT)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
    )
    assert symbols is not None
    outline = {s.name: [c.name for c in s.children or []] for s in symbols}  # type: ignore[union-attr]
    assert outline == {"api": [], "fetch-orders": [], "check": [], "each": ["line"], "done": []}


# --------------------------------------------------------------------------- 1,000 steps


async def test_a_thousand_step_document(client: LanguageClient) -> None:
    text = documents.text(1000)
    uri = await _open(client, text)
    assert list(client.diagnostics[uri]) == []
    position = _at(text, '"value": "steps[\'step-900\'].outputs"', len('"value": "steps[\'step-9'))
    found = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(uri), position)
    )
    assert isinstance(found, types.Location)
    assert found.range.start == _at(text, '"step-900": {')
    outputs = text.index("\"steps['step-896'].outputs.body\"")
    labels = await _complete(
        client, uri, Lines(text).position(outputs + len("\"steps['step-896'].outputs."))
    )
    assert labels == ["status_code", "headers", "body", "success"]


async def test_every_position_answers_without_error_even_mid_edit(client: LanguageClient) -> None:
    """Completion, hover and definition anywhere, on the document and on a broken copy
    (cut mid-string, as while typing): answers or nothing, never a server error."""
    for text in (TEXT, TEXT[: TEXT.index("outputs.body") + 3]):
        uri = await _open(client, text)
        identifier = types.TextDocumentIdentifier(uri)
        lines = Lines(text)
        for offset in range(0, len(text) + 1, 11):
            position = lines.position(offset)
            await client.text_document_completion_async(
                types.CompletionParams(identifier, position)
            )
            await client.text_document_hover_async(types.HoverParams(identifier, position))
            await client.text_document_definition_async(
                types.DefinitionParams(identifier, position)
            )
