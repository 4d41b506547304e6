"""The agent framework: ``agent()`` / ``@capability`` declare capabilities with typed inputs.

A capability is an ordinary Python function. Its signature *is* the catalog entry:
parameter names are the input field names (snake_case, as in Runtara), annotations give
the types, ``Literal[...]`` gives an enum, defaults make a field optional, and
``Annotated[T, Doc("...")]`` adds a description. The JSON Schema, the validator, codegen
and ``runtara agents list`` all read these same definitions, so nothing is written twice.

A parameter named ``_connection`` receives the connection handed to a secure agent; it is
not an input field. Image-side module: standard library only.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

F = TypeVar("F", bound=Callable[..., Any])


class _Missing:
    """Marks an input without a default (distinct from a default of None)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

#: Field types of the catalog (the JSON-ish vocabulary shared with the DSL validator).
FIELD_TYPES = ("string", "integer", "number", "boolean", "array", "object", "file", "any")


@dataclass(frozen=True)
class Doc:
    """Extra metadata for a capability input, used inside ``Annotated[T, Doc(...)]``.

    ``type`` overrides the type derived from the annotation (e.g. ``"file"`` for an input
    that accepts a file value, bytes or a base64 string).
    """

    description: str = ""
    type: str | None = None
    secret: bool = False
    example: Any = MISSING


@dataclass(frozen=True)
class InputSpec:
    """One typed input field of a capability (or one parameter of a connection type)."""

    name: str
    type: str
    required: bool = False
    default: Any = MISSING
    enum: tuple[Any, ...] | None = None
    description: str = ""
    items: str | None = None
    secret: bool = False
    nullable: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.has_default:
            out["default"] = self.default
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.items is not None:
            out["items"] = self.items
        if self.description:
            out["description"] = self.description
        if self.secret:
            out["secret"] = True
        if self.nullable:
            out["nullable"] = True
        return out


@dataclass
class CapabilitySpec:
    """A capability: its metadata and the function that implements it."""

    agent_id: str
    id: str
    func: Callable[..., Any]
    inputs: tuple[InputSpec, ...]
    description: str = ""
    output_type: str = "any"
    output_description: str = ""
    side_effects: bool = False
    takes_connection: bool = False

    @property
    def qualified_id(self) -> str:
        return f"{self.agent_id}:{self.id}"

    def input(self, name: str) -> InputSpec | None:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        return None

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "inputs": [spec.to_json() for spec in self.inputs],
            "output": {"type": self.output_type, "description": self.output_description},
            "sideEffects": self.side_effects,
            "acceptsConnection": self.takes_connection,
        }


@dataclass
class AgentSpec:
    """An agent: a named group of capabilities, secure when it may receive connections."""

    id: str
    name: str
    description: str = ""
    secure: bool = False
    module: str = ""
    capabilities: dict[str, CapabilitySpec] = field(default_factory=dict)

    @property
    def side_effects(self) -> bool:
        return any(cap.side_effects for cap in self.capabilities.values())

    def capability(
        self,
        id: str | None = None,
        *,
        description: str | None = None,
        output: str = "",
        side_effects: bool | None = None,
    ) -> Callable[[F], F]:
        """Decorator: register ``func`` as a capability of this agent."""

        def decorate(func: F) -> F:
            spec = build_capability_spec(
                self,
                func,
                id=id,
                description=description,
                output=output,
                side_effects=self.secure if side_effects is None else side_effects,
            )
            if spec.id in self.capabilities:
                raise ValueError(f"capability {spec.qualified_id} is declared twice")
            self.capabilities[spec.id] = spec
            func.__runtara_capability__ = spec  # type: ignore[attr-defined]
            return func

        return decorate

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "secure": self.secure,
            "sideEffects": self.side_effects,
            "module": self.module,
            "capabilities": [cap.to_json() for cap in self.capabilities.values()],
        }


@dataclass(frozen=True)
class ConnectionTypeSpec:
    """A kind of stored connection (``integrationId``): its parameters and who may use it."""

    id: str
    name: str
    parameters: tuple[InputSpec, ...]
    agents: tuple[str, ...]
    description: str = ""

    @property
    def secret_parameters(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters if p.secret)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "agents": list(self.agents),
            "parameters": [p.to_json() for p in self.parameters],
        }


# --------------------------------------------------------------------------- registry

_AGENTS: dict[str, AgentSpec] = {}
_CONNECTION_TYPES: dict[str, ConnectionTypeSpec] = {}


def agent(id: str, *, name: str, description: str = "", secure: bool = False) -> AgentSpec:
    """Declare an agent (once per module); use the result's ``.capability`` as decorator."""
    if id in _AGENTS:
        raise ValueError(f"agent {id!r} is declared twice")
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    module = caller.f_globals.get("__name__", "") if caller is not None else ""
    spec = AgentSpec(id=id, name=name, description=description, secure=secure, module=module)
    _AGENTS[id] = spec
    return spec


def capability(
    agent_or_id: AgentSpec | str,
    id: str | None = None,
    *,
    description: str | None = None,
    output: str = "",
    side_effects: bool | None = None,
) -> Callable[[F], F]:
    """Free-function form of ``AgentSpec.capability``: ``@capability("utils", "do-nothing")``."""
    owner = agent_or_id if isinstance(agent_or_id, AgentSpec) else _AGENTS[agent_or_id]
    return owner.capability(id, description=description, output=output, side_effects=side_effects)


def connection_type(
    id: str,
    *,
    name: str,
    agents: tuple[str, ...],
    parameters: tuple[InputSpec, ...],
    description: str = "",
) -> ConnectionTypeSpec:
    """Declare a connection type (integrationId) usable by the given secure agents."""
    spec = ConnectionTypeSpec(
        id=id, name=name, agents=agents, parameters=parameters, description=description
    )
    _CONNECTION_TYPES[id] = spec
    return spec


def registered_agents() -> Mapping[str, AgentSpec]:
    """Agents declared so far (see ``runtara.agents.catalog`` for the loaded catalog)."""
    return _AGENTS


def registered_connection_types() -> Mapping[str, ConnectionTypeSpec]:
    return _CONNECTION_TYPES


# --------------------------------------------------------------------------- signatures


def build_capability_spec(
    owner: AgentSpec,
    func: Callable[..., Any],
    *,
    id: str | None,
    description: str | None,
    output: str,
    side_effects: bool,
) -> CapabilitySpec:
    """Read a capability's catalog entry from its function signature and docstring."""
    hints = typing.get_type_hints(func, include_extras=True)
    signature = inspect.signature(func)
    inputs: list[InputSpec] = []
    takes_connection = False
    for param in signature.parameters.values():
        if param.name == "_connection":
            takes_connection = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{func.__qualname__}: capabilities take named inputs only")
        annotation = hints.get(param.name, Any)
        if not _is_json(param.default):
            raise TypeError(
                f"{func.__qualname__}: the default of input {param.name!r} is a "
                f"{type(param.default).__name__}, not a JSON value (the catalog and the "
                "JSON Schema publish it)"
            )
        inputs.append(input_spec_from_annotation(param.name, annotation, param.default))
    if takes_connection and not owner.secure:
        raise TypeError(f"{owner.id}: only secure agents may take a _connection")
    return_type, _, _ = _describe_type(hints.get("return", Any))
    doc = inspect.getdoc(func) or ""
    return CapabilitySpec(
        agent_id=owner.id,
        id=id or func.__name__.replace("_", "-"),
        func=func,
        inputs=tuple(inputs),
        description=description if description is not None else doc.split("\n\n")[0],
        output_type=return_type,
        output_description=output,
        side_effects=side_effects,
        takes_connection=takes_connection,
    )


def _is_json(default: Any) -> bool:
    if default is inspect.Parameter.empty:
        return True
    try:
        json.dumps(default, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def input_spec_from_annotation(name: str, annotation: Any, default: Any) -> InputSpec:
    """Turn ``name: Annotated[T, Doc(...)] = default`` into an ``InputSpec``."""
    doc = Doc()
    if get_origin(annotation) is typing.Annotated:
        base, *extras = get_args(annotation)
        for extra in extras:
            if isinstance(extra, Doc):
                doc = extra
        annotation = base
    type_name, enum, items = _describe_type(annotation)
    nullable = _is_optional(annotation)
    has_default = default is not inspect.Parameter.empty
    return InputSpec(
        name=name,
        type=doc.type or type_name,
        required=not has_default,
        default=default if has_default else MISSING,
        enum=enum,
        description=doc.description,
        items=items,
        secret=doc.secret,
        nullable=nullable,
    )


_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    bytes: "file",
    type(None): "any",
}


def _is_optional(annotation: Any) -> bool:
    return _is_union(annotation) and type(None) in get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _describe_type(annotation: Any) -> tuple[str, tuple[Any, ...] | None, str | None]:
    """Map a Python annotation to (catalog type, enum values, array item type)."""
    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if annotation is Any or annotation is inspect.Parameter.empty:
        return "any", None, None
    if annotation in _SCALARS:
        return _SCALARS[annotation], None, None
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        kinds = {_SCALARS.get(type(v), "any") for v in values}
        return (kinds.pop() if len(kinds) == 1 else "any"), tuple(values), None
    if _is_union(annotation):
        members = [a for a in get_args(annotation) if a is not type(None)]
        described = [_describe_type(a) for a in members]
        kinds = {d[0] for d in described}
        if kinds == {"integer", "number"}:
            return "number", None, None
        if len(kinds) == 1:
            return described[0]
        return "any", None, None
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        items = _describe_type(args[0])[0] if len(args) == 1 else None
        return "array", None, items
    if origin in (dict, Mapping) or annotation is dict:
        return "object", None, None
    if isinstance(annotation, type) and typing.is_typeddict(annotation):
        return "object", None, None
    return "any", None, None
