"""Check a workflow module's imports against what the launcher contains, before compiling.

The launcher ships only the modules it was built with; a workflow importing anything
else would compile fine and then fail when the binary starts. Finding that here turns
a run-time crash into a compile error that names the import and its line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Set
from dataclasses import dataclass


class UnavailableImportError(Exception):
    """The workflow imports modules the native runtime does not contain."""


@dataclass(frozen=True)
class ImportSite:
    module: str
    line: int


def imported_modules(source: str, filename: str = "<workflow>") -> Iterator[ImportSite]:
    """Every absolute module an ``import`` or ``from ... import`` names, anywhere in the file.

    ``from package import name`` yields ``package`` (``name`` may be an attribute).
    """
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportSite(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise UnavailableImportError(
                    f"{filename}:{node.lineno}: relative import; a workflow module stands alone"
                )
            if node.module and node.module != "__future__":
                yield ImportSite(node.module, node.lineno)


def check_imports(source: str, available: Set[str], filename: str = "<workflow>") -> None:
    """Raise ``UnavailableImportError`` listing each import ``available`` lacks."""
    missing = [site for site in imported_modules(source, filename) if site.module not in available]
    if missing:
        listed = ", ".join(f"{site.module} (line {site.line})" for site in missing)
        raise UnavailableImportError(
            f"{filename}: imports modules the native runtime does not contain: {listed}. "
            "Image-side code may use only the standard library, runtara.sdk and runtara.agents."
        )
