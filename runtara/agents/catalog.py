"""The agent catalog: built-in agents plus those installed through entry points.

Other packages add agents by declaring an entry point in the group ``runtara.agents``
that names a module; importing it runs its ``agent()`` / ``@capability`` declarations::

    # pyproject.toml of the plugin
    [project.entry-points."runtara.agents"]
    acme = "acme_agents"

The schema, ``runtara validate``, codegen and ``runtara agents list`` then know them.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points

from runtara.agents.errors import InstanceError
from runtara.agents.framework import (
    AgentSpec,
    CapabilitySpec,
    ConnectionTypeSpec,
    registered_agents,
    registered_connection_types,
)

#: Modules holding the built-in agents, imported in this order.
BUILTIN_MODULES: tuple[str, ...] = (
    "runtara.agents.connections",
    "runtara.agents.utils",
    "runtara.agents.transform",
    "runtara.agents.text",
    "runtara.agents.csv_agent",
    "runtara.agents.xml_agent",
    "runtara.agents.http",
    "runtara.agents.sftp",
    "runtara.agents.openai_agent",
    "runtara.agents.mcp_agent",
    "runtara.agents.memory",
)

ENTRY_POINT_GROUP = "runtara.agents"


class AgentLoadError(InstanceError, RuntimeError):
    """An installed package declares agents that cannot be imported."""


@dataclass(frozen=True)
class Catalog:
    """Every known agent and connection type, in a stable order."""

    agents: dict[str, AgentSpec]
    connection_types: dict[str, ConnectionTypeSpec]

    def agent(self, agent_id: str) -> AgentSpec | None:
        return self.agents.get(agent_id)

    def capability(self, agent_id: str, capability_id: str) -> CapabilitySpec | None:
        owner = self.agents.get(agent_id)
        return owner.capabilities.get(capability_id) if owner else None

    def secure_agents(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.agents.values() if a.secure)

    def lookup(self, reference: str) -> AgentSpec | CapabilitySpec:
        """``"http"`` -> the agent, ``"http:http-request"`` -> the capability.

        Raises ``LookupError`` whose message names the unknown part and suggests a close one.
        """
        agent_id, _, capability_id = reference.partition(":")
        owner = self.agents.get(agent_id)
        if owner is None:
            raise LookupError(f"unknown agent {agent_id!r}{suggest(agent_id, self.agents)}")
        if not capability_id:
            return owner
        spec = owner.capabilities.get(capability_id)
        if spec is None:
            raise LookupError(
                f"agent {agent_id!r} has no capability {capability_id!r}"
                f"{suggest(capability_id, owner.capabilities)}"
            )
        return spec


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice ``name`` was probably meant to be (case-insensitive), or None.

    The one "did you mean" rule of the project: the validator's hints use it too.
    """
    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(choice.casefold(), choice)
    folded = name.casefold()
    if folded in by_folded:
        return by_folded[folded] if by_folded[folded] != name else None
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def suggest(name: str, choices: Iterable[str]) -> str:
    """ ". Did you mean 'x'? Available: a, b" for error messages."""
    names = sorted(choices)
    close = closest(name, names)
    hint = f". Did you mean {close!r}?" if close else "."
    return f"{hint} Available: {', '.join(names)}"


def _import_all() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module = ep.value.split(":")[0].strip()
        try:
            importlib.import_module(module)
        except Exception as exc:
            dist = ep.dist.name if ep.dist is not None else "an installed package"
            raise AgentLoadError(
                f"cannot load agents {ep.name!r} from {dist} (module {module!r}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """Load (once) and return the catalog."""
    _import_all()
    return Catalog(
        agents=dict(sorted(registered_agents().items())),
        connection_types=dict(sorted(registered_connection_types().items())),
    )
