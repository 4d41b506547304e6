"""What references read while a graph runs, and where its checkpoints are keyed.

One ``Scope`` per graph execution: the root workflow, each Split item, each While
iteration and each embedded child has its own, with its own ``steps`` namespace and a
key prefix that makes checkpoint keys unique by position (``orders/split[17]/charge``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepInfo:
    """Static facts about a step, emitted once per step by codegen."""

    id: str
    type: str
    name: str | None = None
    handled: bool = False
    """An onError edge leaves this step: its failure is checkpointed, so a resumed
    instance goes down the handler again instead of trying the step anew."""

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass
class Scope:
    data: Any
    variables: dict[str, Any]
    workflow: dict[str, Any]
    steps: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""

    @classmethod
    def root(cls, data: Any, variables: dict[str, Any]) -> Scope:
        inputs = {"data": data, "variables": variables}
        return cls(data=data, variables=variables, workflow={"inputs": inputs})

    def key(self, step_id: str) -> str:
        return self.prefix + step_id

    def child(self, *, data: Any, variables: dict[str, Any], prefix: str) -> Scope:
        """A nested graph's scope: fresh ``steps``, same ``workflow.inputs``."""
        return Scope(data=data, variables=variables, workflow=self.workflow, prefix=prefix)

    def embedded(self, *, data: Any, variables: dict[str, Any], prefix: str) -> Scope:
        """An embedded child workflow's scope: its own ``workflow.inputs`` as well."""
        inputs = {"data": data, "variables": variables}
        return Scope(data=data, variables=variables, workflow={"inputs": inputs}, prefix=prefix)
