"""Reading workflow documents for codegen: validated first, so problems come as the
validator reports them (``file:line:col: CODE message``), every one at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runtara import dsl
from runtara.compiler.codegen.errors import CodegenError


class InvalidWorkflow(CodegenError):
    """The document has errors; ``lines`` are the validator's diagnostics.

    ``unreadable`` (a missing file, not JSON) lets the CLI exit 2 as ``validate`` does.
    """

    def __init__(self, message: str, lines: Sequence[str], *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.lines = list(lines)
        self.unreadable = unreadable

    def __str__(self) -> str:
        return "\n".join([*self.lines, self.message])


def read_workflow(path: Path, children: Sequence[Path] = ()) -> dsl.Workflow:
    """The model of a valid workflow file; ``children`` resolve EmbedWorkflow ids (E051)."""
    from runtara.dsl.validation import find_child_workflows, validate

    found = find_child_workflows(children)
    result = validate(path, children=set(found), child_files=found)
    if result.errors or result.workflow is None:
        lines = [d.format(str(path)) for d in result.errors] or [f"{path}: invalid workflow"]
        raise InvalidWorkflow(
            f"{path}: {len(lines)} error(s); nothing generated",
            lines,
            unreadable=not result.readable,
        )
    return result.workflow


def load_children(paths: Sequence[Path]) -> dict[str, dsl.Workflow]:
    """Child workflows for EmbedWorkflow by id (a file's name without ``.json``;
    directories are searched recursively), each validated."""
    from runtara.dsl.validation import find_child_workflows

    return {
        child_id: read_workflow(file, paths)
        for child_id, file in find_child_workflows(paths).items()
    }
