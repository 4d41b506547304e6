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
    durable: bool = True
    """False (``durable: false``): the step is not checkpointed; a resumed instance
    runs it again."""
    breakpoint: bool = False
    """In ``debugMode``, the instance suspends before this step (``resume`` goes on)."""
    pure: bool = False
    """The step has no external side effect (codegen knows it from the step type and
    the capability's ``sideEffects``): its record is saved buffered, and committed
    with others before the next step with side effects starts."""

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
    item: Any = None
    """``item``: the element of the innermost enclosing Split."""
    loop: dict[str, Any] = field(default_factory=dict)
    """``loop``: ``{index, outputs}`` of the innermost enclosing While iteration."""
    iteration: dict[str, Any] = field(
        default_factory=lambda: {"index": None, "indices": [], "item": None}
    )
    """``iteration``: ``{index, indices, item}`` of the innermost Split item or While
    iteration; ``indices`` holds the index of every enclosing one, outermost first."""

    @classmethod
    def root(cls, data: Any, variables: dict[str, Any]) -> Scope:
        inputs = {"data": data, "variables": variables}
        return cls(data=data, variables=variables, workflow={"inputs": inputs})

    def key(self, step_id: str) -> str:
        return self.prefix + step_id

    def child(self, *, data: Any, variables: dict[str, Any], prefix: str) -> Scope:
        """A nested graph's scope: fresh ``steps``, same ``workflow.inputs`` and loops."""
        return Scope(
            data=data,
            variables=variables,
            workflow=self.workflow,
            prefix=prefix,
            item=self.item,
            loop=self.loop,
            iteration=self.iteration,
        )

    def indices(self, index: int) -> list[int]:
        """The loop indices of a nested iteration ``index`` (outermost first)."""
        return [*self.iteration["indices"], index]

    def split_item(self, *, item: Any, index: int, variables: dict[str, Any], prefix: str) -> Scope:
        """The scope of one Split item: ``item``, ``iteration`` and the ``_loop`` variables."""
        indices = self.indices(index)
        loop_variables = {"_index": index, "_loop": {"index": index}, "_loop_indices": indices}
        child = self.child(data=item, variables={**variables, **loop_variables}, prefix=prefix)
        child.item = item
        child.iteration = {"index": index, "indices": indices, "item": item}
        return child

    def while_iteration(
        self, *, index: int, previous: Any, variables: dict[str, Any], prefix: str
    ) -> Scope:
        """The scope of one While iteration: ``loop``, ``iteration`` and loop variables."""
        indices = self.indices(index)
        extra: dict[str, Any] = {"_index": index, "_loop": {"index": index}}
        extra["_loop_indices"] = indices
        if previous is not None:
            extra["_previousOutputs"] = previous
        child = self.child(data=self.data, variables={**variables, **extra}, prefix=prefix)
        child.loop = {"index": index, "outputs": previous}
        child.iteration = {"index": index, "indices": indices, "item": self.item}
        return child

    def embedded(self, *, data: Any, variables: dict[str, Any], prefix: str) -> Scope:
        """An embedded child workflow's scope: its own ``workflow.inputs`` as well."""
        inputs = {"data": data, "variables": variables}
        return Scope(data=data, variables=variables, workflow={"inputs": inputs}, prefix=prefix)
