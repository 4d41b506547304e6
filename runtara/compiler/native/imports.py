"""Check a workflow module's imports against what the launcher contains, before compiling.

The launcher ships only the modules it was built with; a workflow importing anything
else would compile fine and then fail when the binary starts. Finding that here turns
a run-time crash into a compile error that names the import and its line.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator, Set
from dataclasses import dataclass
from pathlib import Path

from runtara.errors import Error


class UnavailableImportError(Error):
    """The workflow imports modules the native runtime does not contain."""


@dataclass(frozen=True)
class ImportSite:
    module: str
    line: int


def imported_modules(source: str, filename: str = "<workflow>") -> Iterator[ImportSite]:
    """Every absolute module an ``import`` or ``from ... import`` names, anywhere in the file.

    ``from package import name`` yields ``package``, and ``package.name`` too when that
    is a runtara module (generated code imports agents as ``from runtara.agents import http``).
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
            if not node.module or node.module == "__future__":
                continue
            yield ImportSite(node.module, node.lineno)
            if node.module == "runtara" or node.module.startswith("runtara."):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    if _is_module(submodule):
                        yield ImportSite(submodule, node.lineno)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_imports(
    source: str,
    available: Set[str],
    filename: str = "<workflow>",
    *,
    excluded: Set[str] = frozenset(),
) -> None:
    """Raise ``UnavailableImportError`` listing each import ``available`` lacks, and each
    runtara module the workflow uses that needs an ``excluded`` third-party package
    (the launcher leaves those out, so such an agent cannot run natively)."""
    sites = list(imported_modules(source, filename))
    missing = [site for site in sites if site.module not in available]
    if missing:
        listed = ", ".join(f"{site.module} (line {site.line})" for site in missing)
        raise UnavailableImportError(
            f"{filename}: imports modules the native runtime does not contain: {listed}. "
            "A native build holds runtara.sdk, runtara.agents and most of the standard "
            "library, not these; code needing them runs under Python "
            "(`runtara images register --command`)."
        )
    for site in sites:
        needs = _third_party_needs(site.module, excluded)
        if needs:
            raise UnavailableImportError(
                f"{filename}:{site.line}: {site.module} needs {', '.join(sorted(needs))}, "
                "which native builds do not include yet; run this workflow interpreted"
            )


def third_party_needs(source: str, packages: Set[str], filename: str = "<workflow>") -> set[str]:
    """The ``packages`` (top-level names) the module ``source`` loads, directly or
    through the runtara modules it imports."""
    needs: set[str] = set()
    for site in imported_modules(source, filename):
        top = site.module.split(".")[0]
        if top in packages:
            needs.add(top)
        needs |= _third_party_needs(site.module, packages)
    return needs


def _third_party_needs(module: str, excluded: Set[str]) -> set[str]:
    """The ``excluded`` packages ``module`` imports, directly or through other runtara
    modules (imports inside functions count: they run when the agent does)."""
    needs: set[str] = set()
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen or not name.startswith("runtara."):
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        source = Path(spec.origin).read_text(encoding="utf-8")
        for site in imported_modules(source, spec.origin):
            top = site.module.split(".")[0]
            if top in excluded:
                needs.add(top)
            pending.append(site.module)
    return needs
