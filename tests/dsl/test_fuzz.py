"""No input makes the validator crash: random JSON, random bytes, mutated workflows.

Every outcome is a list of diagnostics with a code and a position inside the text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtara.dsl import CODES
from runtara.dsl.validation import ValidationResult, validate_text

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))
SEEDS = [json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
# Keys and values the language uses, so that random documents get past the first checks.
words = st.sampled_from(
    [
        "steps", "entryPoint", "executionPlan", "stepType", "Agent", "Split", "While",
        "Finish", "Conditional", "id", "valueType", "reference", "immediate", "template",
        "composite", "value", "inputMapping", "subgraph", "config", "fromStep", "toStep",
        "label", "onError", "condition", "op", "arguments", "type", "operation",
        "steps.a.outputs", "data..x", "{{ data.x }}", "a", "b", "http", "variables.x",
    ]
)  # fmt: skip
language_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=5),
    max_leaves=40,
)


def assert_well_formed(result: ValidationResult, text: str) -> None:
    lines = text.count("\n") + 1
    for diagnostic in result.diagnostics:
        assert diagnostic.code in CODES
        assert 1 <= diagnostic.line <= lines
        assert diagnostic.column >= 1
        assert diagnostic.message
    if not result.readable:
        assert result.diagnostics and result.diagnostics[0].code == "S000"


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_random_json_never_crashes(value: Any) -> None:
    text = json.dumps(value, indent=1)
    assert_well_formed(validate_text(text, "random.json"), text)


@settings(max_examples=150, deadline=None)
@given(language_values)
def test_random_language_like_documents_never_crash(value: Any) -> None:
    text = json.dumps(value, indent=1)
    assert_well_formed(validate_text(text, "random.json"), text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    result = validate_text(data, "random.bin")
    text = data.decode("utf-8", "replace")
    assert_well_formed(result, text)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    document = json.loads(json.dumps(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(language_values)
    return document


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_mutated_examples_never_crash(document: Any) -> None:
    text = json.dumps(document, indent=2)
    assert_well_formed(validate_text(text, "mutated.json"), text)


def test_deeply_nested_documents_are_reported_not_crashed() -> None:
    deep = '{"steps": ' + "[" * 5000 + "]" * 5000 + ', "entryPoint": "a"}'
    result = validate_text(deep, "deep.json")
    assert result.diagnostics and not result.ok
    composite = {"valueType": "immediate", "value": 1}
    for _ in range(400):
        composite = {"valueType": "composite", "value": [composite]}
    document = {
        "steps": {"a": {"stepType": "Finish", "id": "a", "inputMapping": {"x": composite}}},
        "entryPoint": "a",
    }
    text = json.dumps(document)
    assert_well_formed(validate_text(text, "composite.json"), text)


def _pointers(value: Any, ptr: str = "") -> list[tuple[str, Any]]:
    found = [(ptr, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            found += _pointers(item, f"{ptr}/{escaped}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _pointers(item, f"{ptr}/{index}")
    return found


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from([None, 1, 2]))
def test_source_map_finds_every_value(value: Any, indent: int | None) -> None:
    from runtara.dsl import SourceMap

    text = json.dumps(value, indent=indent, ensure_ascii=False)
    lines = text.split("\n")
    source_map = SourceMap(text)
    for ptr, item in _pointers(value):
        position = source_map.value(ptr)
        assert position is not None, ptr
        start = lines[position.line - 1][position.column - 1 :]
        expected = json.dumps(item, ensure_ascii=False)
        if isinstance(item, dict | list):
            expected = expected[:1]  # "{" or "[" (the text may be indented)
        assert start.startswith(expected), (ptr, start[:20], expected[:20])
