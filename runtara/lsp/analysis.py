"""What the language server knows about one version of a document.

Built on ``runtara.dsl``: the loader's ``parse_json`` (JSON value + source map, once per
version, shared with the validator's run), the source map's token lookup (which string
the cursor is in), the reference parser, and the agent catalog. Everything below works
on the parsed JSON rather than the model, so a document that does not validate yet (the
normal state while typing) still completes, navigates and renames.

Positions here are character offsets into the text; ``server`` converts them to LSP's
line/UTF-16 positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from runtara.agents.catalog import Catalog
from runtara.dsl.loader import DocumentError, JsonDocument, parse_json
from runtara.dsl.references import ReferenceSyntaxError, parse_reference
from runtara.dsl.source_map import escape_pointer_token, unescape_pointer
from runtara.dsl.validation.references import RECORD_FIELDS

#: Keys of a step that hold a graph of its own (a separate namespace of step ids).
SUBGRAPH_KEYS = ("subgraph", "onWait")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ``{a, b}`` or ``[{a, b}]`` leading a capability's output description: its fields.
_OUTPUT_FIELDS = re.compile(r"^`\[?\{([^}`]*)\}\]?`")


@dataclass(frozen=True)
class Graph:
    """A graph in the document: where it is, its raw JSON, and what encloses it."""

    pointer: str
    raw: dict[str, Any]
    owner: tuple[str, dict[str, Any]] | None = None
    """(step id, raw step) of the Split/While/WaitForSignal holding it."""
    parent: Graph | None = None

    @property
    def steps(self) -> dict[str, Any]:
        steps = self.raw.get("steps")
        return steps if isinstance(steps, dict) else {}

    def step_pointer(self, step_id: str) -> str:
        return f"{self.pointer}/steps/{escape_pointer_token(step_id)}"


@dataclass(frozen=True)
class Cursor:
    """The string (key or value) under the cursor, placed in its graph and step."""

    pointer: str
    tokens: list[str]
    is_key: bool
    start: int
    """Offset of the opening quote."""
    graph: Graph
    step_id: str | None
    """The step of ``graph`` holding the cursor, if any."""
    rest: list[str]
    """Tokens below the step (or below the graph when not in a step)."""


@dataclass(frozen=True)
class Reference:
    """A ``steps.<id>`` path inside a string value: where its id is, for rename and go-to."""

    value_pointer: str
    step_id: str
    start: int
    """Index in the string's text of the id's segment, from its separator (``.`` or ``[``)."""
    end: int


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str
    """``step``, ``field``, ``variable``, ``root``, ``connection``."""
    detail: str = ""
    documentation: str = ""
    insert: str | None = None
    """Text replacing the typed segment (a bracketed ``['id']`` for unusual ids)."""
    replace_from: int | None = None
    """Offset where the replaced text starts (default: the typed word's start)."""


@dataclass
class Analysis:
    """One version of one document."""

    text: str
    catalog: Catalog
    filename: str = "<document>"

    @cached_property
    def document(self) -> JsonDocument | None:
        """The parsed JSON, or None while the text is not JSON."""
        try:
            return parse_json(self.text, self.filename)
        except DocumentError:
            return None

    # ----------------------------------------------------------------- structure

    @cached_property
    def graphs(self) -> list[Graph]:
        """Every graph, the top one first, subgraphs depth-first."""
        document = self.document
        if document is None or not isinstance(document.value, dict):
            return []
        value = document.value
        wrapped = isinstance(value.get("executionGraph"), dict)
        top = Graph("/executionGraph", value["executionGraph"]) if wrapped else Graph("", value)
        found: list[Graph] = []
        stack = [top]
        while stack:
            graph = stack.pop()
            found.append(graph)
            children = []
            for step_id, step in graph.steps.items():
                if not isinstance(step, dict):
                    continue
                for key in SUBGRAPH_KEYS:
                    sub = step.get(key)
                    if isinstance(sub, dict):
                        ptr = f"{graph.step_pointer(step_id)}/{key}"
                        children.append(Graph(ptr, sub, (step_id, step), graph))
            stack.extend(reversed(children))
        return found

    def graph_of(self, tokens: list[str]) -> tuple[Graph, str | None, list[str]]:
        """The innermost graph holding the pointer ``tokens``, its step, and the rest."""
        graphs = {g.pointer: g for g in self.graphs}
        graph = self.graphs[0]
        depth = len(unescape_pointer(graph.pointer))
        step_id: str | None = None
        rest = tokens[depth:]
        while len(rest) >= 2 and rest[0] == "steps":
            step_id = rest[1]
            below = rest[2:]
            if below and below[0] in SUBGRAPH_KEYS:
                inner = graphs.get(f"{graph.step_pointer(step_id)}/{below[0]}")
                if inner is not None:
                    graph, step_id, rest = inner, None, below[1:]
                    continue
            rest = below
            break
        return graph, step_id, rest

    def cursor(self, offset: int) -> Cursor | None:
        """The key or string value at ``offset`` (None elsewhere or while not JSON)."""
        document = self.document
        if document is None or not self.graphs:
            return None
        found = document.source_map.token_at(offset)
        if found is None:
            return None
        ptr, is_key, start = found
        if not is_key and self.text[start] != '"':
            return None
        tokens = unescape_pointer(ptr)
        graph, step_id, rest = self.graph_of(tokens)
        return Cursor(ptr, tokens, is_key, start, graph, step_id, rest)

    def raw_at(self, ptr: str) -> Any:
        value: Any = self.document.value if self.document else None
        for token in unescape_pointer(ptr):
            if isinstance(value, dict):
                value = value.get(token)
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                return None
        return value

    # ----------------------------------------------------------------- what a string is

    def step_id_site(self, cursor: Cursor) -> bool:
        """entryPoint, fromStep or toStep: a string naming a step of the cursor's graph."""
        rest = cursor.rest
        if cursor.is_key or cursor.step_id is not None:
            return False
        return rest == ["entryPoint"] or (
            len(rest) == 3 and rest[0] == "executionPlan" and rest[2] in ("fromStep", "toStep")
        )

    def path_text(self, cursor: Cursor, offset: int) -> tuple[str, int] | None:
        """For a reference value or a template placeholder under the cursor: the path
        text up to the cursor and the offset where that text starts."""
        if cursor.is_key or not cursor.tokens or cursor.tokens[-1] != "value":
            return None
        holder = self.raw_at(cursor.pointer.rpartition("/")[0])
        if not isinstance(holder, dict):
            return None
        body_start = cursor.start + 1
        typed = self.text[body_start:offset]
        if holder.get("valueType") == "reference":
            return typed, body_start
        if holder.get("valueType") == "template":
            opened = typed.rfind("{{")
            if opened == -1 or "}}" in typed[opened:]:
                return None
            inner = typed[opened + 2 :]
            stripped = inner.lstrip()
            return stripped, body_start + opened + 2 + (len(inner) - len(stripped))
        return None

    # ----------------------------------------------------------------- completion

    def complete(self, offset: int) -> list[Completion]:
        cursor = self.cursor(offset)
        if cursor is None or cursor.is_key:
            return []
        if self.step_id_site(cursor):
            return self._step_items(cursor.graph, exclude=None)
        if cursor.rest == ["connectionId"] and cursor.step_id is not None:
            step = cursor.graph.steps.get(cursor.step_id, {})
            if isinstance(step, dict) and step.get("stepType") == "Agent":
                return self._connection_items(cursor.graph)
        found = self.path_text(cursor, offset)
        if found is None:
            return []
        typed, typed_start = found
        return self._path_items(cursor, typed, typed_start)

    def _step_items(self, graph: Graph, exclude: str | None) -> list[Completion]:
        items = []
        for step_id, step in graph.steps.items():
            if step_id == exclude or not isinstance(step, dict):
                continue
            items.append(
                Completion(
                    step_id,
                    "step",
                    detail=self.step_summary(step),
                    documentation=self.step_markdown(graph, step_id),
                )
            )
        return items

    def _connection_items(self, graph: Graph) -> list[Completion]:
        seen: dict[str, Completion] = {}
        for step_id, step in graph.steps.items():
            if isinstance(step, dict) and step.get("stepType") == "Connection":
                connection = step.get("connectionId")
                if isinstance(connection, str) and connection not in seen:
                    integration = step.get("integrationId", "?")
                    seen[connection] = Completion(
                        connection,
                        "connection",
                        detail=f"{integration} (Connection step '{step_id}')",
                    )
        return list(seen.values())

    def roots(self, cursor: Cursor) -> dict[str, str]:
        """Roots a path may start from here, with what each holds (the validator's rules:
        ``item`` in a Split subgraph or a Filter condition, ``loop`` in a While subgraph or
        condition, ``iteration`` in either loop)."""
        roots = {
            "data": "The input of this graph (the instance input, or a Split's item).",
            "variables": "Constants and loop variables.",
            "steps": "Outputs of the steps that ran before.",
            "workflow": "workflow.inputs.data / workflow.inputs.variables: the instance's own.",
        }
        owners = self._owner_types(cursor.graph)
        in_split = "Split" in owners
        in_while = "While" in owners or self._condition_of(cursor, "While")
        if in_split or self._condition_of(cursor, "Filter"):
            roots["item"] = "The current item (Split subgraph, Filter condition)."
        if in_while:
            roots["loop"] = "loop.index, loop.outputs: the While iteration."
        if in_split or in_while:
            roots["iteration"] = "iteration.index, .indices, .item: where the loop is."
        return roots

    def _owner_types(self, graph: Graph) -> set[str]:
        """Step types of the steps enclosing ``graph`` (Split, While, WaitForSignal)."""
        found: set[str] = set()
        current: Graph | None = graph
        while current is not None and current.owner is not None:
            found.add(str(current.owner[1].get("stepType")))
            current = current.parent
        return found

    def _condition_of(self, cursor: Cursor, step_type: str) -> bool:
        if cursor.step_id is None:
            return False
        step = cursor.graph.steps.get(cursor.step_id)
        if not isinstance(step, dict) or step.get("stepType") != step_type:
            return False
        rest = cursor.rest
        return rest[:1] == ["condition"] or rest[:2] == ["config", "condition"]

    def _path_items(self, cursor: Cursor, typed: str, typed_start: int) -> list[Completion]:
        head, dot, _ = typed.rpartition(".")
        if not dot:
            return [
                Completion(name, "root", documentation=doc)
                for name, doc in self.roots(cursor).items()
            ]
        try:
            segments = parse_reference(head).segments
        except ReferenceSyntaxError:
            return []
        separator = typed_start + len(head)
        names = self.names_after(cursor, segments)
        items = []
        for name, kind, detail, doc in names:
            if _PLAIN.fullmatch(name):
                items.append(Completion(name, kind, detail, doc))
            else:  # steps['fetch-orders']: replace ".partial" by the bracketed name
                items.append(
                    Completion(
                        name,
                        kind,
                        detail,
                        doc,
                        insert=f"[{name!r}]",
                        replace_from=separator,
                    )
                )
        return items

    def names_after(
        self, cursor: Cursor, segments: tuple[str | int, ...]
    ) -> list[tuple[str, str, str, str]]:
        """(name, kind, detail, documentation) of what may follow ``segments``."""
        root, rest = str(segments[0]), segments[1:]
        graph = cursor.graph
        if root == "steps":
            if not rest:
                return [
                    (c.label, "step", c.detail, c.documentation)
                    for c in self._step_items(graph, exclude=cursor.step_id)
                ]
            step = graph.steps.get(str(rest[0]))
            if not isinstance(step, dict):
                return []
            if len(rest) == 1:
                return [(f, "field", "step record", "") for f in RECORD_FIELDS]
            if rest[1] == "outputs":
                return [(f, "field", t, d) for f, t, d in self.output_fields(step, rest[2:])]
            return []
        if root == "data":
            schema = self._input_schema(graph)
            return [(f, "field", t, d) for f, t, d in _schema_fields(schema, rest)]
        if root == "variables" and not rest:
            return [
                (name, "variable", kind, doc) for name, (kind, doc) in self.variables(graph).items()
            ]
        if root in ("workflow", "scenario"):
            top = self.graphs[0]
            if not rest:
                return [("inputs", "field", "", "The instance's own data and variables.")]
            if list(rest) == ["inputs"]:
                return [("data", "field", "", ""), ("variables", "field", "", "")]
            if rest[:2] == ("inputs", "data"):
                schema = top.raw.get("inputSchema")
                return [(f, "field", t, d) for f, t, d in _schema_fields(schema, rest[2:])]
            if list(rest) == ["inputs", "variables"]:
                return [(n, "variable", k, d) for n, (k, d) in self.variables(top).items()]
        if root == "loop" and not rest:
            return [
                ("index", "field", "integer", "0-based iteration."),
                ("outputs", "field", "", ""),
            ]
        return []

    def _input_schema(self, graph: Graph) -> Any:
        own = graph.raw.get("inputSchema")
        if own is None and graph.owner is not None:
            return graph.owner[1].get("inputSchema")
        return own

    def variables(self, graph: Graph) -> dict[str, tuple[str, str]]:
        """Variables a graph sees: its parents', its own, and a loop's extras."""
        chain: list[Graph] = []
        current: Graph | None = graph
        while current is not None:
            chain.append(current)
            current = current.parent
        found: dict[str, tuple[str, str]] = {}
        for scope in reversed(chain):
            variables = scope.raw.get("variables")
            for name, spec in (variables if isinstance(variables, dict) else {}).items():
                if isinstance(spec, dict):
                    found[name] = (str(spec.get("type", "")), str(spec.get("description") or ""))
            if scope.owner is not None:
                owner = scope.owner[1]
                if owner.get("stepType") == "Split":
                    config = owner.get("config")
                    extra = config.get("variables") if isinstance(config, dict) else None
                    for key in extra if isinstance(extra, dict) else {}:
                        found[key.split(".")[0]] = ("", "Set by the Split's config.variables.")
                    found["_index"] = ("integer", "The item's index.")
                elif owner.get("stepType") == "While":
                    config = owner.get("config")
                    extra = config.get("variables") if isinstance(config, dict) else None
                    for key in extra if isinstance(extra, dict) else {}:
                        found[key.split(".")[0]] = ("", "Set by the While's config.variables.")
                    found["_index"] = ("integer", "The iteration's index.")
                    found["_previousOutputs"] = ("", "The previous iteration's outputs.")
                if owner.get("stepType") in ("Split", "While"):
                    found["_loop"] = ("object", "The innermost loop: index and item.")
                    found["_loop_indices"] = ("array", "The indices of the enclosing loops.")
        return found

    def output_fields(
        self, step: dict[str, Any], below: tuple[str | int, ...]
    ) -> list[tuple[str, str, str]]:
        """(field, type, description) a step's outputs declare, where the catalog says."""
        if below:
            return []
        step_type = step.get("stepType")
        if step_type == "Agent":
            capability = self.catalog.capability(
                str(step.get("agentId")), str(step.get("capabilityId"))
            )
            if capability is None:
                return []
            match = _OUTPUT_FIELDS.match(capability.output_description)
            if not match:
                return []
            names = [n.strip().split(" ")[0].rstrip("?") for n in match.group(1).split(",")]
            where = f"output of {capability.qualified_id}"
            return [(n, where, capability.output_description) for n in names if n]
        if step_type == "Connection":
            kind = self.catalog.connection_types.get(str(step.get("integrationId")))
            return [(p.name, p.type, p.description) for p in kind.parameters] if kind else []
        if step_type == "Filter":
            return [("items", "array", "The items kept."), ("count", "integer", "How many.")]
        if step_type == "While":
            return [
                ("iterations", "integer", "Iterations run."),
                ("outputs", "", "The last iteration's outputs."),
            ]
        if step_type == "Finish":
            mapping = step.get("inputMapping")
            return [(k, "", "") for k in mapping] if isinstance(mapping, dict) else []
        return []

    # ----------------------------------------------------------------- descriptions

    def step_summary(self, step: dict[str, Any]) -> str:
        step_type = str(step.get("stepType", "?"))
        if step_type == "Agent":
            return f"Agent {step.get('agentId')}:{step.get('capabilityId')}"
        return step_type

    def step_markdown(self, graph: Graph, step_id: str) -> str:
        step = graph.steps.get(step_id)
        if not isinstance(step, dict):
            return ""
        lines = [f"**{step_id}**: {self.step_summary(step)}"]
        if isinstance(step.get("name"), str):
            lines[0] += f" ({step['name']})"
        if step.get("stepType") == "Agent":
            capability = self.catalog.capability(
                str(step.get("agentId")), str(step.get("capabilityId"))
            )
            if capability is not None:
                lines.append(capability.description)
                output = capability.output_description or capability.output_type
                lines.append(f"Output ({capability.output_type}): {output}")
        fields = self.output_fields(step, ())
        if fields and step.get("stepType") != "Agent":
            lines.append("Outputs: " + ", ".join(f"`{f}`" for f, _, _ in fields))
        if graph.pointer:
            lines.append(f"In the subgraph of '{graph.owner[0] if graph.owner else '?'}'.")
        return "\n\n".join(lines)

    # ----------------------------------------------------------------- references

    def references(self, graph: Graph) -> Iterator[Reference]:
        """Every ``steps.<id>`` path read in ``graph`` (its steps and edge conditions,
        not its subgraphs: those are namespaces of their own)."""
        for step_id, step in graph.steps.items():
            yield from self._references_in(step, graph.step_pointer(step_id), top=True)
        plan = graph.raw.get("executionPlan")
        for index, edge in enumerate(plan if isinstance(plan, list) else []):
            yield from self._references_in(
                edge, f"{graph.pointer}/executionPlan/{index}", top=False
            )

    def _references_in(self, node: Any, ptr: str, *, top: bool) -> Iterator[Reference]:
        if isinstance(node, dict):
            kind, value = node.get("valueType"), node.get("value")
            if isinstance(value, str) and kind in ("reference", "template"):
                yield from _step_paths(value, f"{ptr}/value", kind == "template")
            for key, item in node.items():
                if top and key in SUBGRAPH_KEYS:
                    continue
                yield from self._references_in(
                    item, f"{ptr}/{escape_pointer_token(key)}", top=False
                )
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._references_in(item, f"{ptr}/{index}", top=False)

    def reference_at(self, cursor: Cursor, offset: int) -> Reference | None:
        """The ``steps.<id>`` path whose id the cursor is on (or anywhere in its path)."""
        for ref in self.references(cursor.graph):
            if ref.value_pointer != cursor.pointer:
                continue
            start, end = self.string_span(cursor.pointer, ref.start, ref.end)
            path_end = self.text.find("}}", start)
            if start <= offset <= max(end, path_end if path_end != -1 else end):
                return ref
        return None

    def string_span(self, ptr: str, first: int, last: int) -> tuple[int, int]:
        """Offsets in the text of characters ``first``..``last`` of the string at ``ptr``."""
        source_map = self.document.source_map if self.document else None
        assert source_map is not None
        start = source_map.value_offset(ptr)
        assert start is not None
        return _string_offset(self.text, start, first), _string_offset(self.text, start, last)


def _string_offset(text: str, quote: int, index: int) -> int:
    """Offset of character ``index`` of the JSON string whose quote is at ``quote``."""
    offset = quote + 1
    for _ in range(index):
        char = text[offset]
        if char == '"':
            break
        offset += (6 if text[offset + 1] == "u" else 2) if char == "\\" else 1
    return offset


def _step_paths(value: str, ptr: str, template: bool) -> Iterator[Reference]:
    """``steps.<id>`` reads in a reference or a template: the id's place in the string."""
    if template:
        for match in re.finditer(r"\{\{\s*(.*?)\s*(?:\|[^}]*)?\}\}", value, re.DOTALL):
            yield from _path_reference(match.group(1), match.start(1), ptr)
    else:
        yield from _path_reference(value, 0, ptr)


def _path_reference(path: str, at: int, ptr: str) -> Iterator[Reference]:
    try:
        parsed = parse_reference(path)
    except ReferenceSyntaxError:
        return
    step_id = parsed.step_id
    if step_id is None or parsed.root != "steps":
        return
    # steps.id, or steps['id'] / steps["id"]
    end = 6 + len(step_id) if path[5:6] == "." else path.find(path[6] + "]", 7) + 2
    yield Reference(ptr, step_id, at + 5, at + end)


def _schema_fields(schema: Any, below: tuple[str | int, ...]) -> list[tuple[str, str, str]]:
    """(field, type, description) of an inputSchema (or a nested object's properties)."""
    for name in below:
        field_spec = schema.get(str(name)) if isinstance(schema, dict) else None
        schema = field_spec.get("properties") if isinstance(field_spec, dict) else None
    if not isinstance(schema, dict):
        return []
    return [
        (name, str(spec.get("type", "")), str(spec.get("description") or ""))
        for name, spec in schema.items()
        if isinstance(spec, dict)
    ]
