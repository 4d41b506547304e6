"""What every check needs: where things are, what is known, and where to report."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from runtara.agents.catalog import Catalog
from runtara.dsl.diagnostics import Diagnostic
from runtara.dsl.graph import Workflow
from runtara.dsl.source_map import SourceMap


@dataclass
class CheckContext:
    """One document being validated, and the diagnostics found so far."""

    workflow: Workflow
    source_map: SourceMap
    catalog: Catalog
    children: Collection[str] | None = None
    """Ids of the child workflows that exist; None: E051 is not checked."""
    child_files: dict[str, Path] = field(default_factory=dict)
    """Child id -> file, for checking what a step passes to it (E055, W054)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(
        self, code: str, message: str, ptr: str, *, at: str = "value", index: int | None = None
    ) -> None:
        """Record a problem at ``ptr`` (``at="key"``: at the member's key; ``index``: at
        that character of the string value, e.g. a template placeholder)."""
        if index is None:
            where = self.source_map.locate(ptr, prefer=at)
        else:
            where = self.source_map.inside_string(ptr, index)
        self.diagnostics.append(Diagnostic(code, message, ptr, where.line, where.column))
