"""The published JSON Schema: current, valid, and useful to an editor."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runtara.dsl.schema import (
    REGENERATE_COMMAND,
    SCHEMA_PATH,
    SCHEMASTORE_PATH,
    render,
    schemastore_schema,
    workflow_schema,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.joinpath("examples").glob("*.json")) + sorted(
    ROOT.joinpath("tests", "fixtures", "valid").glob("*.json")
)


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    return workflow_schema()


def test_committed_schema_is_current(schema: dict[str, object]) -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    assert committed == render(schema), (
        f"{SCHEMA_PATH} is stale: regenerate it with `{REGENERATE_COMMAND}`"
    )


def test_schema_is_valid_draft_2020_12(schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _errors(schema: dict[str, object], document: object) -> list[str]:
    """Every leaf error, following into the union branch the document chose.

    The published schema tells steps, agents and capabilities apart by ``anyOf``
    branches with a ``const`` tag (what editors evaluate fastest); a plain validator
    reports "not valid under any of the given schemas" on top and the real reasons in
    the branch whose tag matched, which this returns.
    """
    validator = jsonschema.Draft202012Validator(schema)
    return [message for error in validator.iter_errors(document) for message in _leaves(error)]


def _leaves(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "anyOf" or not error.context:
        return [error.message]
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        by_branch.setdefault(sub.schema_path[0], []).append(sub)  # type: ignore[arg-type]
    # The chosen branch: the one whose errors are not about its tag (const).
    chosen = [subs for subs in by_branch.values() if all(s.validator != "const" for s in subs)]
    if len(chosen) != 1:
        return [error.message]
    return [message for sub in chosen[0] for message in _leaves(sub)]


def _agent_doc(agent: str, capability: str, inputs: dict[str, object]) -> dict[str, object]:
    return {
        "steps": {
            "a": {
                "stepType": "Agent",
                "id": "a",
                "agentId": agent,
                "capabilityId": capability,
                "inputMapping": inputs,
            }
        },
        "entryPoint": "a",
    }


def test_schema_knows_capability_inputs_and_flags_unknown_agents(
    schema: dict[str, object],
) -> None:
    url = {"valueType": "reference", "value": "data.url"}
    assert _errors(schema, _agent_doc("http", "http-request", {"url": url})) == []
    assert any("'nope' is not one of" in m for m in _errors(schema, _agent_doc("nope", "x", {})))
    missing = _errors(schema, _agent_doc("http", "http-request", {}))
    assert "'url' is a required property" in missing
    bad_method = {"url": url, "method": {"valueType": "immediate", "value": "FETCH"}}
    assert any(
        "FETCH" in m for m in _errors(schema, _agent_doc("http", "http-request", bad_method))
    )


def test_each_capability_lists_its_input_keys_with_descriptions(
    schema: dict[str, object],
) -> None:
    from runtara.agents.catalog import catalog

    agents = schema["$defs"]["AgentStep"]["then"]["anyOf"]  # type: ignore[index]
    by_capability = {
        (agent["properties"]["agentId"]["const"], rule["properties"]["capabilityId"]["const"]): rule
        for agent in agents
        for rule in agent["then"]["anyOf"]
    }
    for agent in catalog().agents.values():
        for capability in agent.capabilities.values():
            rule = by_capability[(agent.id, capability.id)]
            inputs = rule["properties"]["inputMapping"]["properties"]
            if any(spec.required for spec in capability.inputs):
                assert rule["required"] == ["inputMapping"]
            assert list(inputs) == list(capability.input_names)
            assert all(field["description"] for field in inputs.values())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_the_published_schema(schema: dict[str, object], example: Path) -> None:
    assert _errors(schema, json.loads(example.read_text(encoding="utf-8"))) == []


def test_unknown_input_keys_of_a_known_capability_are_flagged(
    schema: dict[str, object],
) -> None:
    url = {"valueType": "reference", "value": "data.url"}
    typo = _errors(schema, _agent_doc("http", "http-request", {"url": url, "urll": url}))
    assert len(typo) == 1 and "'urll'" in typo[0]
    unknown_head = _errors(schema, _agent_doc("http", "http-request", {"url": url, "x.y": url}))
    assert len(unknown_head) == 1 and "'x.y'" in unknown_head[0]
    # What the validator accepts silently stays accepted: part of a known input, "_" keys.
    allowed = {"url": url, "headers.Accept": url, "_note": url}
    assert _errors(schema, _agent_doc("http", "http-request", allowed)) == []


@pytest.mark.parametrize(
    "example", sorted(ROOT.joinpath("examples").glob("*.json")), ids=lambda p: p.name
)
def test_examples_name_the_committed_schema_by_a_working_relative_path(example: Path) -> None:
    reference = json.loads(example.read_text(encoding="utf-8"))["$schema"]
    assert (example.parent / reference).resolve() == SCHEMA_PATH


def test_readme_points_editors_at_the_committed_schema() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [json.loads(block.split("```")[0]) for block in readme.split("```json\n")[1:]]
    (document,) = [b for b in blocks if "$schema" in b]
    assert (ROOT / "examples" / document["$schema"]).resolve() == SCHEMA_PATH
    (settings,) = [b for b in blocks if "json.schemas" in b]
    (mapping,) = settings["json.schemas"]
    assert (ROOT / mapping["url"]).resolve() == SCHEMA_PATH
    assert "examples/*.json" in mapping["fileMatch"]


def _enums(node: object, path: str = "#") -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            found.append((path, node))
        for key, value in node.items():
            if key not in ("defaultSnippets", "enum", "default"):
                found.extend(_enums(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_enums(value, f"{path}/{index}"))
    return found


def test_every_enum_value_is_described(schema: dict[str, object]) -> None:
    enums = _enums(schema)
    assert len(enums) >= 40  # step types, ops, agents, capabilities per agent, inputs, ...
    for path, node in enums:
        docs = node.get("enumDescriptions")
        assert isinstance(docs, list) and len(docs) == len(node["enum"]), path  # type: ignore[arg-type]
        assert all(isinstance(d, str) and d.strip() for d in docs), path


def test_each_step_type_has_a_snippet_with_its_required_fields(schema: dict[str, object]) -> None:
    union = schema["$defs"]["ExecutionGraph"]["properties"]["steps"]["additionalProperties"]  # type: ignore[index]
    snippets = {s["body"]["stepType"]: s["body"] for s in union["defaultSnippets"]}
    for ref in union["anyOf"]:
        definition = schema["$defs"][ref["$ref"].rsplit("/", 1)[1]]  # type: ignore[index]
        step_type = definition["properties"]["stepType"]["const"]
        if definition.get("deprecated"):
            continue
        assert set(definition["required"]) <= set(snippets[step_type]), step_type


def test_committed_schemastore_variant_is_current_draft_07() -> None:
    variant = schemastore_schema()
    committed = SCHEMASTORE_PATH.read_text(encoding="utf-8") if SCHEMASTORE_PATH.exists() else ""
    assert committed == render(variant), (
        f"{SCHEMASTORE_PATH} is stale: regenerate it with "
        f"`runtara schema --schemastore -o {SCHEMASTORE_PATH.relative_to(ROOT)}`"
    )
    jsonschema.Draft7Validator.check_schema(variant)
    assert "$defs" not in json.dumps(variant) and '"deprecated"' not in json.dumps(variant)
    validator = jsonschema.Draft7Validator(variant)
    for example in EXAMPLES:
        assert list(validator.iter_errors(json.loads(example.read_text(encoding="utf-8")))) == []
    url = {"valueType": "reference", "value": "data.url"}
    assert list(validator.iter_errors(_agent_doc("http", "http-request", {"urll": url})))
