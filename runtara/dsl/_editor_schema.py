"""The published schema's shape for editors: fast on large documents, rich on hover.

The structural schema (``schema.structural_schema``) is what the validator checks; this
module rewrites a copy of it, plus the agent catalog, into what an editor's JSON engine
answers quickly and helpfully. Every rule follows from how such engines (VS Code's
vscode-json-languageservice in particular) evaluate a schema:

* Completion and hover evaluate only the nodes on the path to the cursor, *except*
  under ``if``/``then``/``else``, ``allOf``, ``anyOf``, ``oneOf`` and ``not``, whose
  branches are evaluated over their whole subtree. A conditional at the root or around
  the graph therefore walks every step on each keystroke (and overflows the engine's
  stack from a few hundred steps). So the root and the graph carry plain ``properties``;
  the wrapper/bare-graph choice is a conditional whose branches test only key presence.
* An ``if`` contributes its sub-schemas to completion, so a rule "if capabilityId is X"
  offers X as a capability of every agent. Capability rules are nested under their
  agent's rule: ``capabilityId`` completes to that agent's capabilities only.
* Hover shows the first description among the schemas matching a node, deepest first.
  Mapping-value branches carry their description on ``valueType`` instead of the
  object, so an input key shows the input's own description.
* Completion offers the keys of the schemas that match. Untagged unions (conditions,
  mapping values) list every key of every branch at the union level (shallow: the
  branches still validate), with descriptions and per-value descriptions.
* ``defaultSnippets`` (one per step type, condition and mapping-value kind) are built
  from the models' required fields.

The result passes Ajv in strict mode with the editor keywords (``markdownDescription``,
``enumDescriptions``, ``defaultSnippets``, ...) declared as a vocabulary.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from runtara.dsl._schema_docs import enum_docs

if TYPE_CHECKING:
    from runtara.agents.catalog import Catalog
    from runtara.agents.framework import CapabilitySpec, InputSpec

#: Keywords editors read beside standard JSON Schema (annotations; they never validate).
EDITOR_KEYWORDS = (
    "markdownDescription",
    "enumDescriptions",
    "markdownEnumDescriptions",
    "defaultSnippets",
    "errorMessage",
    "doNotSuggest",
)

_REF = "#/$defs/"
_WRAPPER_KEYS = ("executionGraph", "memoryTier", "debugMode")


def editor_schema(structural: dict[str, Any], catalog: Catalog, schema_id: str) -> dict[str, Any]:
    """The published schema: ``structural`` restructured for editors, plus the catalog."""
    source = copy.deepcopy(structural)
    defs: dict[str, Any] = source["$defs"]
    _add_agents(defs["AgentStep"], catalog)
    defs["ConnectionStep"]["properties"]["integrationId"]["enum"] = list(catalog.connection_types)
    _describe_integrations(defs["ConnectionStep"]["properties"]["integrationId"], catalog)
    _describe_step_union(defs)
    _describe_mapping_values(defs)
    _describe_conditions(defs)
    _describe_settings(defs)
    root = _root(source, defs, schema_id)
    _finish(root)
    return root


# --------------------------------------------------------------------------- root


def _root(source: dict[str, Any], defs: dict[str, Any], schema_id: str) -> dict[str, Any]:
    """One object listing the wrapper's and the bare graph's keys; no conditional walks.

    The wrapper form forbids graph keys at the top and the bare form forbids the
    wrapper's: both are told by key presence only (``{"not": {}}`` never descends).
    """
    graph = defs["ExecutionGraph"]
    wrapper = defs.pop("Workflow")
    graph_keys = [key for key in graph["properties"] if key != "$schema"]
    properties: dict[str, Any] = {"$schema": graph["properties"]["$schema"]}
    for key in _WRAPPER_KEYS:
        prop = dict(wrapper["properties"][key])
        prop["description"] = f"{prop.get('description', 'The workflow graph.')} (wrapper form)"
        properties[key] = prop
    properties.update({key: graph["properties"][key] for key in graph_keys})

    def forbidden(key: str, why: str) -> dict[str, Any]:
        return {"not": {}, "errorMessage": f"'{key}' {why}"}

    return {
        "$schema": source["$schema"],
        "$id": schema_id,
        "title": source["title"],
        "description": source["description"],
        "type": "object",
        "properties": properties,
        "required": [],
        "additionalProperties": False,
        "if": {
            "type": "object",
            "properties": {"executionGraph": True},
            "required": ["executionGraph"],
        },
        "then": {
            "type": "object",
            "properties": {
                key: forbidden(key, "belongs inside executionGraph in the wrapper form")
                for key in graph_keys
            },
        },
        "else": {
            "type": "object",
            "properties": {
                "steps": True,
                "entryPoint": True,
                **{
                    key: forbidden(key, "needs the wrapper form {executionGraph, ...}")
                    for key in _WRAPPER_KEYS[1:]
                },
            },
            "required": ["steps", "entryPoint"],
        },
        "$defs": defs,
    }


# --------------------------------------------------------------------------- agents


def _add_agents(agent_step: dict[str, Any], catalog: Catalog) -> None:
    """agentId -> its capabilities (only those complete) -> each one's inputMapping keys."""
    agent_id = agent_step["properties"]["agentId"]
    agent_id["enum"] = list(catalog.agents)
    agent_id["enumDescriptions"] = [
        _first_sentence(agent.description or agent.name) for agent in catalog.agents.values()
    ]
    # Each choice is guarded by an ``if`` that holds for a known id (cheap, and never a
    # failed branch on a valid document), so an unknown agent or capability gets the one
    # "not one of" error, not also a near-miss branch's complaints.
    agent_step["if"] = _one_of("agentId", agent_id)
    agent_step["then"] = {
        "type": "object",
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "agentId": {"const": agent.id},
                    "capabilityId": {
                        "enum": [c.id for c in agent.capabilities.values()],
                        "enumDescriptions": [
                            _capability_summary(c) for c in agent.capabilities.values()
                        ],
                    },
                },
                "if": _one_of(
                    "capabilityId",
                    {
                        "enum": list(agent.capabilities),
                        "enumDescriptions": [
                            _capability_summary(c) for c in agent.capabilities.values()
                        ],
                    },
                ),
                "then": {
                    "type": "object",
                    "anyOf": [_capability_schema(c) for c in agent.capabilities.values()],
                },
            }
            for agent in catalog.agents.values()
        ],
    }


def _one_of(key: str, values: dict[str, Any]) -> dict[str, Any]:
    """``if`` the key holds one of these (described) values; editors offer them too."""
    choice = {"enum": values["enum"], "enumDescriptions": values["enumDescriptions"]}
    return {"type": "object", "properties": {key: choice}, "required": [key]}


def _when(key: str, value: str) -> dict[str, Any]:
    """``if`` this key has this value (cheap: one property of the node itself)."""
    return {"type": "object", "properties": {key: {"const": value}}, "required": [key]}


def _capability_summary(capability: CapabilitySpec) -> str:
    summary = _first_sentence(capability.description) or capability.id
    if capability.output_description:
        summary += f" Output: {capability.output_description}"
    return summary


def _capability_schema(capability: CapabilitySpec) -> dict[str, Any]:
    """An Agent step running ``capability``: its inputMapping keys (required ones too)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "capabilityId": {"const": capability.id},
            "inputMapping": _input_mapping_schema(capability),
        },
    }
    if any(spec.required for spec in capability.inputs):
        schema["required"] = ["inputMapping"]
    return schema


def _input_mapping_schema(capability: CapabilitySpec) -> dict[str, Any]:
    """The keys a capability takes; any other is flagged (the validator's W020).

    Also allowed, as the validator allows them: a dotted key setting part of a known
    input (``headers.Accept``) and a key starting with ``_``.
    """
    names = "|".join(spec.name for spec in capability.inputs)  # identifiers: no escaping
    description = capability.description or capability.qualified_id
    if capability.output_description:
        description += f"\n\nOutput: {capability.output_description}"
    schema: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": {spec.name: _input_schema(capability, spec) for spec in capability.inputs},
        "patternProperties": {f"^(?:_|(?:{names})\\.)" if names else "^_": {}},
        "additionalProperties": False,
    }
    required = [spec.name for spec in capability.inputs if spec.required]
    if required:
        schema["required"] = required
    return schema


_VALUE_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "array": {"type": "array"},
    "object": {"type": "object"},
    "file": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}]},
}


def _input_schema(capability: CapabilitySpec, spec: InputSpec) -> dict[str, Any]:
    """A capability input: any mapping value; an immediate one must fit type and enum."""
    detail = [spec.type + (" (required)" if spec.required else "")]
    if spec.has_default:
        detail.append(f"default {json.dumps(spec.default)}")
    if spec.enum is not None:
        detail.append("one of " + ", ".join(json.dumps(v) for v in spec.enum))
    description = spec.description or spec.name
    schema: dict[str, Any] = {
        "$ref": f"{_REF}MappingValue",
        "description": f"{description} [{', '.join(detail)}]",
    }
    value: dict[str, Any] = dict(_VALUE_TYPES.get(spec.type, {}))
    if spec.enum is not None:
        value = {
            "enum": list(spec.enum),
            "enumDescriptions": [
                f"{capability.id} {spec.name}: {json.dumps(v)}. {description}" for v in spec.enum
            ],
        }
    if value:
        if spec.nullable or not spec.required:
            value = {"anyOf": [value, {"type": "null"}]}
        schema["if"] = _when("valueType", "immediate")
        schema["then"] = {"type": "object", "properties": {"value": value}}
    return schema


def _describe_integrations(integration_id: dict[str, Any], catalog: Catalog) -> None:
    integration_id["enumDescriptions"] = [
        _first_sentence(kind.description or kind.name) + f" (agents: {', '.join(kind.agents)})"
        for kind in catalog.connection_types.values()
    ]


# --------------------------------------------------------------------------- steps


def _discriminate(union: dict[str, Any]) -> list[str]:
    """``allOf: [{if: tag = X, then: $ref}]`` -> ``anyOf: [$ref]``; returns the $defs names.

    Each branch has ``properties.<tag>.const``: editors then evaluate only the branch
    whose tag the node has (VS Code's discriminator optimisation), not one failed ``if``
    per other branch, which dominates validation time on large documents.
    """
    refs = [rule["then"]["$ref"].removeprefix(_REF) for rule in union.pop("allOf")]
    names = list(dict.fromkeys(refs))  # a model with two tags (EmbedWorkflow) once
    union["anyOf"] = [{"$ref": f"{_REF}{name}"} for name in names]
    return names


def _split_older_step_type(defs: dict[str, Any], union: dict[str, Any]) -> None:
    """EmbedWorkflow and its older name StartScenario become two branches, one tag each."""
    embed = defs["EmbedWorkflowStep"]
    older = copy.deepcopy(embed)
    embed["properties"]["stepType"] = {"const": "EmbedWorkflow", "type": "string"}
    older["properties"]["stepType"] = {"const": "StartScenario", "type": "string"}
    older["description"] = "Older name of EmbedWorkflow (Runtara DSL 3.0). " + embed["description"]
    older["deprecated"] = True
    defs["StartScenarioStep"] = older
    refs = union["anyOf"]
    at = refs.index({"$ref": f"{_REF}EmbedWorkflowStep"})
    refs.insert(at + 1, {"$ref": f"{_REF}StartScenarioStep"})


def _step_types(defs: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stepType, $defs name, definition) of every step type, in the union's order."""
    union = defs["ExecutionGraph"]["properties"]["steps"]["additionalProperties"]
    for ref in union["anyOf"]:
        name = ref["$ref"].removeprefix(_REF)
        yield defs[name]["properties"]["stepType"]["const"], name, defs[name]


def _describe_step_union(defs: dict[str, Any]) -> None:
    union = defs["ExecutionGraph"]["properties"]["steps"]["additionalProperties"]
    _discriminate(union)
    _split_older_step_type(defs, union)
    docs: dict[str, str] = {}
    snippets = []
    for tag, name, definition in _step_types(defs):
        doc = definition.get("description", name)
        docs[tag] = doc
        if tag != "StartScenario":
            snippets.append(
                {
                    "label": f"{tag} step",
                    "description": _first_sentence(doc),
                    "body": _snippet_body(definition, defs, tag),
                }
            )
    union["properties"]["stepType"].update(
        {
            "description": "The kind of step; it decides the step's other fields.",
            "enumDescriptions": [docs[tag] for tag in union["properties"]["stepType"]["enum"]],
        }
    )
    union["defaultSnippets"] = snippets
    for _, _, definition in _step_types(defs):
        step_type = definition["properties"]["stepType"]
        step_type.setdefault("description", "The kind of step; it decides the step's other fields.")


def _snippet_body(definition: dict[str, Any], defs: dict[str, Any], tag: str) -> dict[str, Any]:
    """The step's required fields with placeholders (tab stops numbered in order)."""
    counter = itertools.count(1)
    body: dict[str, Any] = {"stepType": tag, "id": f"${{{next(counter)}:{tag.lower()}-1}}"}
    wanted = [k for k in definition.get("required", []) if k not in body]
    if "inputMapping" in definition["properties"] and "inputMapping" not in wanted:
        wanted.append("inputMapping")
    if "childWorkflowId" in definition["properties"] and "childWorkflowId" not in wanted:
        wanted.insert(0, "childWorkflowId")
    for key in wanted:
        body[key] = _placeholder(definition["properties"][key], defs, counter, key)
    return body


def _placeholder(schema: dict[str, Any], defs: dict[str, Any], counter: Any, key: str) -> Any:
    ref = schema.get("$ref", "").removeprefix(_REF)
    if ref == "MappingValue":
        return {"valueType": "reference", "value": f"${{{next(counter)}:data.{key}}}"}
    if ref in ("Condition", "ConditionArgument"):
        return _condition_snippet(counter)
    if ref == "ExecutionGraph":
        first = f"${{{next(counter)}:first}}"
        return {"entryPoint": first, "steps": {}, "executionPlan": []}
    if ref:
        definition = defs[ref]
        return {
            k: _placeholder(definition["properties"][k], defs, counter, k)
            for k in definition.get("required", [])
        }
    if "enum" in schema:
        choices = ",".join(str(v) for v in schema["enum"])
        return f"${{{next(counter)}|{choices}|}}"
    if "anyOf" in schema:
        return _placeholder(schema["anyOf"][0], defs, counter, key)
    kind = schema.get("type")
    if kind == "integer" or kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return f"${next(counter)}"


def _condition_snippet(counter: Any) -> dict[str, Any]:
    return {
        "type": "operation",
        "op": f"${{{next(counter)}:EQ}}",
        "arguments": [
            {"valueType": "reference", "value": f"${{{next(counter)}:data.field}}"},
            {"valueType": "immediate", "value": f"${{{next(counter)}:value}}"},
        ],
    }


# --------------------------------------------------------------------------- unions

_MAPPING_KINDS = ("ImmediateValue", "ReferenceValue", "TemplateValue", "CompositeValue")


def _describe_mapping_values(defs: dict[str, Any]) -> None:
    """Union-level keys of all four kinds; each kind's text moves to its ``valueType``."""
    docs: list[str] = []
    for name in _MAPPING_KINDS:
        definition = defs[name]
        doc = definition.pop("description", name)
        docs.append(doc)
        definition["properties"]["valueType"]["description"] = doc
    union = defs["MappingValue"]
    _discriminate(union)
    reference = defs["ReferenceValue"]["properties"]
    # No description on the union itself: hover shows the first one found, and the
    # property holding the value (an input, a setting) says more.
    union["properties"] = {
        "valueType": {**union["properties"]["valueType"], "enumDescriptions": docs},
        "value": {
            "description": "What `valueType` says: the literal, the path, the text or the parts."
        },
        "type": {
            **reference["type"],
            "description": "reference only: " + reference["type"]["description"],
        },
        "default": {"description": "reference only: " + reference["default"]["description"]},
    }
    union["defaultSnippets"] = [
        {"label": "reference", "description": docs[1], "body": {"valueType": "reference", "value": "${1:data.field}"}},
        {"label": "immediate", "description": docs[0], "body": {"valueType": "immediate", "value": "${1}"}},
        {"label": "template", "description": docs[2], "body": {"valueType": "template", "value": "${1:Hello {{ data.name \\}\\}}"}},
        {"label": "composite", "description": docs[3], "body": {"valueType": "composite", "value": {}}},
    ]  # fmt: skip


def _describe_conditions(defs: dict[str, Any]) -> None:
    """Conditions (and their arguments) offer op, arguments, type, valueType, value."""
    operation = defs["OperationCondition"]["properties"]
    value = defs["ValueCondition"]["properties"]
    mapping = defs["MappingValue"]["properties"]
    kinds = ["operation", "value"]
    value["valueType"]["enumDescriptions"] = mapping["valueType"]["enumDescriptions"]
    for name, extra in (("Condition", ()), ("ConditionArgument", ("mapping value",))):
        union = defs[name]
        union["description"] = (
            "A condition: {op, arguments} applies an operator; {type: value, valueType, value} "
            "tests a value for truthiness"
            + (
                ", and a plain mapping value {valueType, value} is an argument too."
                if extra
                else "."
            )
        )
        type_values = kinds + (mapping["type"]["anyOf"][0]["enum"] if extra else [])
        type_docs = enum_docs(kinds) or []
        if extra:
            type_docs += [f"reference argument: {d}" for d in enum_docs(type_values[2:]) or []]
        union["properties"] = {
            "type": {
                "description": "operation (the default when `op` is given) or value"
                + ("; on a reference argument, the conversion type" if extra else ""),
                "enum": type_values,
                "enumDescriptions": type_docs,
            },
            "op": {k: v for k, v in operation["op"].items() if k != "type"},
            "arguments": {"type": "array", "description": operation["arguments"]["description"]},
            "valueType": {**mapping["valueType"]},
            "value": {
                "description": "With valueType: the value (a literal, a path or a template)."
            },
            "default": {"description": value["default"]["description"]},
        }
        union["defaultSnippets"] = [
            {"label": "comparison", "description": "EQ, GT, ... of two values", "body": _condition_snippet(itertools.count(1))},
            {"label": "AND", "description": "All of several conditions", "body": {"op": "AND", "arguments": ["$1"]}},
            {"label": "value", "description": "A value tested for truthiness", "body": {"type": "value", "valueType": "reference", "value": "${1:data.flag}"}},
        ]  # fmt: skip


def _describe_settings(defs: dict[str, Any]) -> None:
    """Every property gets a description: a step's ``config`` names its settings."""
    for tag, _, definition in _step_types(defs):
        config = definition["properties"].get("config")
        if config is None:
            continue
        target = defs[config["$ref"].removeprefix(_REF)]
        keys = ", ".join(target["properties"])
        config.setdefault("description", f"Settings of the {tag} step: {keys}.")
        target.setdefault("description", f"Settings of the {tag} step.")
    for key, doc in (
        ("condition", "The condition: {op, arguments} or {type: value, valueType, value}."),
        ("subgraph", "The steps this step runs (a graph of its own: its own step ids)."),
        ("inputMapping", "Input field -> mapping value."),
        ("level", "Log level."),
        ("message", "The text."),
        ("code", "A stable error code, e.g. ORDER_NOT_FOUND."),
        ("severity", "How bad it is."),
        ("durable", "A durable delay survives restarts: the process ends and resumes when due."),
        ("pollIntervalMs", "Milliseconds between checks for the signal."),
        ("matchType", "How `value` is compared with `match`."),
        ("retryDelay", "Milliseconds before the first retry, doubled for each further one."),
        ("name", "Human name."),
        ("description", "What this is for."),
        ("variables", "Name -> constant, read as variables.<name>."),
        ("outputSchema", "The output's fields (documentation)."),
        ("value", "The value."),
        ("type", "The value's type."),
        ("example", "An example value."),
        ("enum", "The allowed values."),
        ("default", "Used when no value is given."),
        ("fromStep", "Id of the step this edge leaves."),
        ("toStep", "Id of the step this edge leads to."),
    ):
        for definition in defs.values():
            prop = definition.get("properties", {}).get(key)
            if isinstance(prop, dict) and "description" not in prop:
                described = sorted({**prop, "description": doc}.items())
                prop.clear()
                prop.update(described)


# --------------------------------------------------------------------------- finishing

_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "patternProperties")
_ARRAY_KEYWORDS = ("items", "prefixItems")
_BACKTICKS = re.compile(r"``(.+?)``")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")


def _finish(node: Any, under_map: bool = False) -> None:
    """Declare types (Ajv strict), describe enums, add markdown text; in place."""
    if isinstance(node, list):
        for item in node:
            _finish(item)
        return
    if not isinstance(node, dict):
        return
    if under_map:
        for value in node.values():
            _finish(value)
        return
    branches = node.get("anyOf")
    if (
        isinstance(branches, list)
        and len(branches) == 2
        and branches[1] == {"type": "null"}
        and set(branches[0]) <= {"type", "minimum"}
        and isinstance(branches[0].get("type"), str)
    ):
        # ``anyOf [T, null]`` tries (and fails) one branch per value: ``type: [T, null]``.
        del node["anyOf"]
        node.update(branches[0])
        node["type"] = [branches[0]["type"], "null"]
    if "type" not in node and "$ref" not in node:
        if any(k in node for k in _OBJECT_KEYWORDS):
            node["type"] = "object"
        elif any(k in node for k in _ARRAY_KEYWORDS):
            node["type"] = "array"
    required = node.get("required")
    if isinstance(required, list) and required:
        # Ajv strict: a required key must be declared (``true``: any value) where it is.
        declared = node.setdefault("properties", {})
        for key in required:
            declared.setdefault(key, True)
    if "enum" in node and "enumDescriptions" not in node:
        docs = enum_docs(node["enum"])
        if docs is not None:
            node["enumDescriptions"] = docs
    if "description" in node and isinstance(node["description"], str):
        plain = _BACKTICKS.sub(r"`\1`", node["description"])
        node["description"] = plain
        if "`" in plain:
            node["markdownDescription"] = plain
    if "enumDescriptions" in node:
        node["enumDescriptions"] = [_BACKTICKS.sub(r"`\1`", d) for d in node["enumDescriptions"]]
    if "enumDescriptions" in node and any("`" in d for d in node["enumDescriptions"]):
        node["markdownEnumDescriptions"] = node["enumDescriptions"]
    for key, value in node.items():
        if key in ("defaultSnippets", "enum", "const", "default", "examples"):
            continue
        _finish(value, under_map=key in _SCHEMA_MAPS)


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", text)
    return text[: match.start()] if match else text
