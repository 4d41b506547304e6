"""The agent catalog: built-in agents plus those installed through entry points.

Other packages add agents by declaring an entry point in the group ``runtara.agents``
that names a module; importing it runs its ``agent()`` / ``@capability`` declarations.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points

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
)

ENTRY_POINT_GROUP = "runtara.agents"


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


def _import_all() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        importlib.import_module(ep.value.split(":")[0])


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """Load (once) and return the catalog."""
    _import_all()
    return Catalog(
        agents=dict(sorted(registered_agents().items())),
        connection_types=dict(sorted(registered_connection_types().items())),
    )
