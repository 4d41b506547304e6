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
import inspect
import itertools
import json
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from runtara import __version__
from runtara.dsl._base import DslModel
from runtara.dsl._editor_schema import editor_schema
from runtara.dsl.graph import ExecutionGraph, Workflow

if TYPE_CHECKING:
    from runtara.agents.catalog import Catalog

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: Where the committed schema lives (``runtara schema -o`` regenerates it).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "workflow.schema.json"
REGENERATE_COMMAND = "runtara schema -o runtara/schemas/workflow.schema.json"
#: The language version the schema describes.
DSL_VERSION = "3.1"
#: Versioned by the language and by this package (whose catalog of agents it lists).
SCHEMA_ID = f"https://runtara.dev/schemas/workflow/{DSL_VERSION}/runtara-{__version__}.schema.json"
#: The file-name convention editors and catalogs match workflow documents by.
FILE_MATCH = ("*.workflow.json",)
#: The draft-07 variant for SchemaStore's catalog (``runtara schema --schemastore``).
SCHEMASTORE_PATH = SCHEMA_PATH.with_name("workflow.schemastore.json")
SCHEMASTORE_ID = "https://json.schemastore.org/runtara-workflow.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


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
    """The published schema: structure plus what the catalog knows about agents, shaped
    for editors (see ``runtara.dsl._editor_schema``)."""
    if catalog is None:
        from runtara.agents.catalog import catalog as load_catalog

        catalog = load_catalog()
    return editor_schema(structural_schema(), catalog, SCHEMA_ID)


def schemastore_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The published schema in draft-07, the draft SchemaStore's catalog and most editors
    read best: ``$defs`` become ``definitions``, ``deprecated`` (2019-09) becomes a
    ``DEPRECATED.`` description prefix (SchemaStore's convention), and the ``$id`` is
    the catalog's. Nothing else differs: the same keywords mean the same in draft-07."""
    schema = workflow_schema(catalog)
    converted = _to_draft_07(schema)
    converted["$schema"] = DRAFT_07
    converted["$id"] = SCHEMASTORE_ID
    converted["definitions"] = converted.pop("$defs")
    return converted


def schemastore_catalog_entry() -> dict[str, Any]:
    """The entry to add to SchemaStore's ``catalog.json`` (it lists the variant)."""
    return {
        "name": "Runtara workflow",
        "description": structural_schema()["description"],
        "fileMatch": list(FILE_MATCH),
        "url": SCHEMASTORE_ID,
    }


def _to_draft_07(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_draft_07(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "deprecated" and value is True:
            continue
        elif key in ("defaultSnippets", "enum", "const", "default", "examples"):
            out[key] = value
        else:
            out[key] = _to_draft_07(value)
    if node.get("deprecated") is True:
        for text_key in ("description", "markdownDescription"):
            if text_key in out:
                out[text_key] = "DEPRECATED. " + out[text_key]
        out.setdefault("description", "DEPRECATED.")
    return out


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
