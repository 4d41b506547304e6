"""The committed schema in the engine VS Code runs for JSON (vscode-json-languageservice).

Completion, hover and diagnostics on the examples, on each invalid fixture and on a
1,000-step document, plus Ajv in strict mode. Node and the npm packages are needed
(``vscode_engine.install``); outside CI a machine without them skips with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtara.agents.catalog import catalog
from runtara.dsl import find_child_workflows, parse_json, validate
from runtara.dsl.schema import SCHEMA_ID, SCHEMA_PATH, SCHEMASTORE_PATH
from tests.editors import documents
from tests.editors.vscode_engine import EngineUnavailable, VsCodeJson, position_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json")) + sorted(
    (ROOT / "tests" / "fixtures" / "valid").glob("*.json")
)
INVALID = sorted((ROOT / "tests" / "fixtures" / "invalid").glob("*.json"))
#: Problems a JSON Schema can see (agents, capabilities, inputs, structure); the others
#: (flow, references, secrets, limits) are the validator's, shown by ``runtara lsp``.
SCHEMA_CODES = {"S000", "S001", "E020", "E021", "E022", "E023", "E024", "E030", "W020"}
URI = (ROOT / "generated.workflow.json").as_uri()


@pytest.fixture(scope="module")
def engine() -> Iterator[VsCodeJson]:
    try:
        with VsCodeJson(SCHEMA_PATH) as running:
            yield running
    except EngineUnavailable as exc:
        pytest.skip(f"VS Code's JSON engine unavailable: {exc}")


@pytest.fixture(scope="module")
def thousand() -> str:
    return documents.text(1000)


def _labels(items: list[dict[str, Any]]) -> list[str]:
    """Labels as shown (a string value's label is its JSON text: quotes removed here)."""
    return [item["label"].strip('"') for item in items]


def _problems(diagnostics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the engine flags, less "deprecated" notes (the older spellings still work)."""
    return [d for d in diagnostics if "deprecated" not in d["message"]]


def test_ajv_strict_accepts_the_schema_and_its_schemastore_variant(engine: VsCodeJson) -> None:
    assert engine.ajv_strict(SCHEMA_PATH) == []
    assert engine.ajv_strict(SCHEMASTORE_PATH) == []
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_ID and "/3.1/" in SCHEMA_ID


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_have_no_problems_and_answer_hover_and_completion(
    engine: VsCodeJson, example: Path
) -> None:
    text = example.read_text(encoding="utf-8")
    assert _problems(engine.validate(example.as_uri(), text)) == []
    line, character = position_of(text, '"stepType": "', after=len('"stepType": "'))
    step_type = json.loads(text[text.index('"stepType"') :].split(",")[0].split(":")[1])
    hover = engine.hover(example.as_uri(), text, line, character)
    assert f"`{step_type}`:" in hover  # the step type's own description
    offered = set(_labels(engine.complete(example.as_uri(), text, line, character)))
    assert {"Agent", "Conditional", "Split", "Finish"} <= offered


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_each_invalid_fixture(engine: VsCodeJson, fixture: Path) -> None:
    """Schema-level problems are flagged on the validator's line; the others, which only
    the validator sees, raise nothing false; completion and hover answer at the spot."""
    text = fixture.read_text(encoding="utf-8")
    code = fixture.stem.split("_")[0]
    found = engine.validate(fixture.as_uri(), text)
    children = find_child_workflows([fixture.parent, fixture.parent.parent / "children"])
    diagnostics = validate(fixture, children=set(children), child_files=children).diagnostics
    expected_lines = {d.line for d in diagnostics if d.code == code}
    problems = _problems(found)
    if code in SCHEMA_CODES:
        assert {d["range"]["start"]["line"] + 1 for d in problems} & expected_lines
    else:
        assert problems == []
    if code != "S000":
        line = min(expected_lines) - 1
        engine.complete(fixture.as_uri(), text, line, 0)
        engine.hover(fixture.as_uri(), text, line, len(text.splitlines()[line]) - 2)


def test_capability_completion_follows_the_agent(engine: VsCodeJson, thousand: str) -> None:
    needle = '"capabilityId": "render-template"'
    line, character = position_of(thousand, needle, occurrence=100, after=len(needle) - 1)
    labels = _labels(engine.complete(URI, thousand, line, character))
    assert sorted(labels) == sorted(catalog().agents["text"].capabilities)
    needle = '"capabilityId": "http-request"'
    line, character = position_of(thousand, needle, occurrence=120, after=len(needle) - 1)
    assert _labels(engine.complete(URI, thousand, line, character)) == ["http-request"]


def test_input_keys_hover_with_their_own_description(engine: VsCodeJson, thousand: str) -> None:
    http = catalog().capability("http", "http-request")
    assert http is not None
    for key in ("url", "method"):
        spec = http.input(key)
        assert spec is not None
        line, character = position_of(thousand, f'"{key}": {{', occurrence=110, after=2)
        hover = engine.hover(URI, thousand, line, character)
        assert hover.startswith(spec.description.rstrip(".").replace("`", "\\`")[:20]), hover
        assert "literal JSON value" not in hover


def test_enum_values_are_described_on_hover(engine: VsCodeJson, thousand: str) -> None:
    line, character = position_of(thousand, '"op": "GT"', occurrence=50, after=8)
    assert "`GT`: Greater than" in engine.hover(URI, thousand, line, character)
    line, character = position_of(thousand, '"stepType": "Split"', occurrence=60, after=15)
    assert "`Split`: Run the subgraph once per item" in engine.hover(URI, thousand, line, character)


def _replace_value(text: str, ptr: str, new: str) -> tuple[str, int]:
    """``text`` with the value at JSON pointer ``ptr`` replaced by ``new``; its offset."""
    source_map = parse_json(text).source_map
    start = source_map.value_offset(ptr)
    assert start is not None
    return text[:start] + new + text[source_map.token_end(start) :], start


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset), offset - (text.rfind("\n", 0, offset) + 1)


def test_an_empty_condition_offers_all_its_keys(engine: VsCodeJson, thousand: str) -> None:
    text, at = _replace_value(thousand, "/steps/step-802/condition", "{}")
    labels = set(_labels(engine.complete(URI, text, *_position(text, at + 1))))
    assert {"op", "arguments", "type", "valueType", "value", "default"} <= labels
    text, at = _replace_value(thousand, "/steps/step-802/condition", "")
    labels = set(_labels(engine.complete(URI, text, *_position(text, at))))
    assert {"comparison", "AND", "value"} <= labels  # the snippets, where the value goes


def test_an_empty_mapping_value_offers_all_its_keys(engine: VsCodeJson, thousand: str) -> None:
    ptr = "/steps/step-801/inputMapping/property_path"
    text, at = _replace_value(thousand, ptr, "{}")
    labels = set(_labels(engine.complete(URI, text, *_position(text, at + 1))))
    assert {"valueType", "value", "type", "default"} <= labels
    text, at = _replace_value(thousand, ptr, "")
    labels = set(_labels(engine.complete(URI, text, *_position(text, at))))
    assert {"reference", "immediate", "template", "composite"} <= labels  # snippets


def test_each_step_type_has_a_snippet(engine: VsCodeJson, thousand: str) -> None:
    text = thousand.replace('"steps": {\n', '"steps": {\n    "new": ,\n', 1)
    line, character = position_of(text, '"new": ,', after=len('"new": '))
    labels = set(_labels(engine.complete(URI, text, line, character)))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    union = schema["$defs"]["ExecutionGraph"]["properties"]["steps"]["additionalProperties"]
    current = [t for t in union["properties"]["stepType"]["enum"] if t != "StartScenario"]
    assert {f"{t} step" for t in current} <= labels


def test_a_thousand_steps_validate_and_a_typo_is_placed(engine: VsCodeJson, thousand: str) -> None:
    assert engine.validate(URI, thousand) == []
    at = thousand.index('"agentId": "http"', thousand.index('"step-896": {'))
    typo = thousand[:at] + '"agentID"' + thousand[at + len('"agentId"') :]
    step, _ = position_of(typo, '"step-896": {')
    line, _ = position_of(typo, '"agentID"')
    found = {d["range"]["start"]["line"] for d in engine.validate(URI, typo)}
    assert found and found <= set(range(step, line + 1))  # in that step, nowhere else


def test_the_schemastore_variant_in_the_engine(thousand: str) -> None:
    try:
        with VsCodeJson(SCHEMASTORE_PATH) as draft_07:
            assert draft_07.validate(URI, thousand) == []
            needle = '"capabilityId": "render-template"'
            line, character = position_of(thousand, needle, occurrence=3, after=len(needle) - 1)
            labels = _labels(draft_07.complete(URI, thousand, line, character))
            assert sorted(labels) == sorted(catalog().agents["text"].capabilities)
    except EngineUnavailable as exc:
        pytest.skip(f"VS Code's JSON engine unavailable: {exc}")
