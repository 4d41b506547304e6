"""The workflow JSON Schema (draft 2020-12), generated from the models and the agent catalog.

Two flavours:

* ``structural_schema()`` — the models only. The validator checks documents against it
  (``S001``); agent-specific problems are left to the semantic checks, which report them
  with their own codes (E020, E022, ...) and suggestions.
* ``workflow_schema(catalog)`` — the published schema (``runtara schema``, committed as
  ``runtara/schemas/workflow.schema.json``): the same plus, per capability, the
  ``inputMapping`` keys with descriptions and types, and the known agent and integration
  ids, so an editor completes keys and flags unknown agents.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import json
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from runtara.dsl._base import DslModel
from runtara.dsl.graph import ExecutionGraph, Workflow

if TYPE_CHECKING:
    from runtara.agents.catalog import Catalog
    from runtara.agents.framework import CapabilitySpec, InputSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: Where the committed schema lives (``runtara schema -o`` regenerates it).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "workflow.schema.json"
REGENERATE_COMMAND = "runtara schema -o runtara/schemas/workflow.schema.json"


@lru_cache(maxsize=1)
def structural_schema() -> dict[str, Any]:
    """The schema of the models alone (no catalog); cached, do not mutate."""
    schemas, definitions = TypeAdapter.json_schemas(
        [
            ("wrapper", "validation", TypeAdapter(Workflow)),
            ("graph", "validation", TypeAdapter(ExecutionGraph)),
        ],
        ref_template="#/$defs/{model}",
    )
    defs = dict(definitions.get("$defs", {}))
    for name, key in (("Workflow", "wrapper"), ("ExecutionGraph", "graph")):
        top = schemas[(key, "validation")]
        if top.get("$ref") != f"#/$defs/{name}":
            defs[name] = top
    _hoist_inline_branches(defs, defs)
    _describe_fields(defs)
    defs = _strip_titles(dict(sorted(defs.items())))
    return {
        "$schema": DRAFT,
        "title": "Runtara workflow",
        "description": (
            "A Runtara workflow (DSL 3.1): a bare execution graph or the "
            "{executionGraph, memoryTier, debugMode} wrapper."
        ),
        "if": {"type": "object", "required": ["executionGraph"]},
        "then": {"$ref": "#/$defs/Workflow"},
        "else": {"$ref": "#/$defs/ExecutionGraph"},
        "$defs": defs,
    }


def workflow_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The published schema: structure plus what the catalog knows about agents."""
    schema = copy.deepcopy(structural_schema())
    if catalog is None:
        from runtara.agents.catalog import catalog as load_catalog

        catalog = load_catalog()
    _add_agents(_step_schema(schema, "Agent"), catalog)
    _add_integrations(_step_schema(schema, "Connection"), catalog)
    return schema


def render(schema: dict[str, Any]) -> str:
    """The schema as committed: 2-space indented JSON with a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- helpers


def _describe_fields(defs: dict[str, Any]) -> None:
    """Attribute docstrings of the models become property descriptions (IDE hover text).

    Read here, when a schema is generated, rather than by pydantic's
    ``use_attribute_docstrings`` on every import of the DSL (a fifth of its import time).
    """
    for model in _models(DslModel):
        definition = defs.get(model.__name__)
        if definition is None:
            continue
        properties = definition.get("properties", {})
        docs: dict[str, str] = {}
        for cls in reversed(model.__mro__[: model.__mro__.index(DslModel)]):
            docs.update(_attribute_docstrings(cls))
        for name, info in model.model_fields.items():
            prop = properties.get(info.alias or name)
            if isinstance(prop, dict) and name in docs and "description" not in prop:
                described = sorted({**prop, "description": docs[name]}.items())  # as pydantic
                prop.clear()
                prop.update(described)


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``name: T = ...`` followed by a string literal, in the class body itself."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _models(base: type[DslModel]) -> list[type[DslModel]]:
    found: list[type[DslModel]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_models(sub))
    return found


def _hoist_inline_branches(node: Any, defs: dict[str, Any]) -> None:
    """Give union branches that pydantic inlined (``then: {...}``) a named ``$defs`` entry."""
    if isinstance(node, dict):
        then = node.get("then")
        if (
            isinstance(then, dict)
            and "properties" in then
            and then.get("title") not in (None, *defs)
        ):
            defs[then["title"]] = then
            node["then"] = {"$ref": f"#/$defs/{then['title']}"}
        for value in list(node.values()):
            _hoist_inline_branches(value, defs)
    elif isinstance(node, list):
        for item in node:
            _hoist_inline_branches(item, defs)


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's generated ``title`` s ("Maxretries"); descriptions say more."""
    if isinstance(node, dict):
        return {
            key: (
                {name: _strip_titles(sub) for name, sub in value.items()}
                if key in ("properties", "$defs")
                else _strip_titles(value)
            )
            for key, value in node.items()
            if key != "title"
        }
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def _step_schema(schema: dict[str, Any], step_type: str) -> dict[str, Any]:
    """Find the object schema of one step type (pydantic may inline or ``$ref`` it)."""
    found = _find(
        schema,
        lambda node: _const_of(node, "stepType") == step_type and len(node["properties"]) > 1,
    )
    if found is None:
        raise LookupError(f"no schema for step type {step_type!r}")
    return found


def _const_of(node: dict[str, Any], key: str) -> Any:
    prop = node.get("properties", {}).get(key)
    return prop.get("const") if isinstance(prop, dict) else None


def _find(node: Any, predicate: Any) -> dict[str, Any] | None:
    if isinstance(node, dict):
        if "properties" in node and predicate(node):
            return node
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, predicate)
        if found is not None:
            return found
    return None


_VALUE_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "array": {"type": "array"},
    "object": {"type": "object"},
    "file": {"type": ["string", "object", "array"]},
}


def _add_agents(agent_step: dict[str, Any], catalog: Catalog) -> None:
    properties = agent_step["properties"]
    properties["agentId"]["enum"] = list(catalog.agents)
    rules: list[dict[str, Any]] = []
    for agent in catalog.agents.values():
        rules.append(
            {
                "if": {"properties": {"agentId": {"const": agent.id}}, "required": ["agentId"]},
                "then": {"properties": {"capabilityId": {"enum": list(agent.capabilities)}}},
            }
        )
        for capability in agent.capabilities.values():
            rules.append(
                {
                    "if": {
                        "properties": {
                            "agentId": {"const": agent.id},
                            "capabilityId": {"const": capability.id},
                        },
                        "required": ["agentId", "capabilityId"],
                    },
                    "then": _capability_schema(capability),
                }
            )
    agent_step["allOf"] = rules


def _capability_schema(capability: CapabilitySpec) -> dict[str, Any]:
    """An Agent step running ``capability``: its inputMapping keys (required ones too)."""
    schema: dict[str, Any] = {"properties": {"inputMapping": _input_mapping_schema(capability)}}
    if any(spec.required for spec in capability.inputs):
        schema["required"] = ["inputMapping"]
    return schema


def _input_mapping_schema(capability: CapabilitySpec) -> dict[str, Any]:
    """The keys a capability takes; any other is flagged (the validator's W020).

    Also allowed, as the validator allows them: a dotted key setting part of a known
    input (``headers.Accept``) and a key starting with ``_``.
    """
    names = "|".join(spec.name for spec in capability.inputs)  # identifiers: no escaping
    schema: dict[str, Any] = {
        "description": capability.description,
        "properties": {spec.name: _input_schema(spec) for spec in capability.inputs},
        "patternProperties": {f"^(?:_|(?:{names})\\.)" if names else "^_": {}},
        "additionalProperties": False,
    }
    required = [spec.name for spec in capability.inputs if spec.required]
    if required:
        schema["required"] = required
    return schema


def _input_schema(spec: InputSpec) -> dict[str, Any]:
    """A capability input: any mapping value; an immediate one must fit type and enum."""
    detail = [spec.type + (" (required)" if spec.required else "")]
    if spec.has_default:
        detail.append(f"default {json.dumps(spec.default)}")
    description = spec.description or spec.name
    schema: dict[str, Any] = {
        "$ref": "#/$defs/MappingValue",
        "description": f"{description} [{', '.join(detail)}]",
    }
    value: dict[str, Any] = dict(_VALUE_TYPES.get(spec.type, {}))
    if spec.enum is not None:
        value = {"enum": list(spec.enum)}
    if value:
        if spec.nullable or not spec.required:
            value = {"anyOf": [value, {"type": "null"}]}
        schema["if"] = {
            "properties": {"valueType": {"const": "immediate"}},
            "required": ["valueType"],
        }
        schema["then"] = {"properties": {"value": value}}
    return schema


def _add_integrations(connection_step: dict[str, Any], catalog: Catalog) -> None:
    integration = connection_step["properties"]["integrationId"]
    integration["enum"] = list(catalog.connection_types)
