"""Render the emitter's context through the Jinja2 templates; format with ruff if present."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from runtara.compiler.codegen.emitter import Emitter, input_schema_of
from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.literals import Code, py_literal, text
from runtara.dsl.collection import collection_paused
from runtara.dsl.graph import Workflow

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", re.ASCII)


def _code_only(value: Any) -> Any:
    """Jinja ``finalize``: every ``{{ }}`` must print ``Code``, a macro's output or an int.

    Document text that reached a template without ``py_literal`` or ``text`` stops here
    (a codegen bug, reported as one) instead of becoming part of the module.
    """
    if isinstance(value, Code | markupsafe.Markup) or type(value) is int:
        return value
    raise CodegenError(
        f"a template printed {type(value).__name__} {value!r}, not Code (a codegen bug)"
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """Autoescaping is on only so that macro output is ``Markup`` (told apart from raw
    text by ``_code_only``); ``Code`` passes through it unchanged."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("runtara", "templates"),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        finalize=_code_only,
    )


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes (each start compiled them again: 70-150
    ms of ``runtara run``). Jinja's per-user folder under the temp dir, which it makes
    0700 and refuses if another user owns it; entries are keyed by the template's source
    checksum, so an edited template is compiled anew. None (no cache) if unusable."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def generate(
    workflow: Workflow,
    *,
    children: Mapping[str, Workflow] | None = None,
    source: str = "a workflow document",
    format: bool = True,
) -> str:
    """The Python module for ``workflow``; ``children`` resolves EmbedWorkflow ids."""
    with collection_paused():
        return _generate(workflow, children, source, format)


def _generate(
    workflow: Workflow, children: Mapping[str, Workflow] | None, source: str, format: bool
) -> str:
    emitter = Emitter(workflow, dict(children or {}))
    emitter.emit()
    agents = emitter.agents
    for module in agents:
        if not _MODULE.fullmatch(module):
            raise CodegenError(f"agent module {module!r} is not a dotted Python name")
    graph = workflow.graph
    schema = input_schema_of(graph)
    context: dict[str, Any] = {
        "title": text(graph.name or Path(source).stem),
        "source": text(Path(source).name),
        "debug": py_literal(workflow.debug_mode),
        "timeout": py_literal(graph.execution_timeout_seconds),
        "variables": py_literal({n: v.value for n, v in graph.variables.items()}),
        "input_schema": py_literal(schema),
        "builtin_agents": Code(
            ", ".join(sorted(m.removeprefix("runtara.agents.") for m in agents if _builtin(m)))
        ),
        "plugin_agents": [Code(m) for m in sorted(agents) if not _builtin(m)],
        "children": [
            {
                "variables_name": c.variables_name,
                "variables_literal": py_literal(c.variables),
                "schema_name": c.schema_name,
                "schema_literal": py_literal(c.input_schema),
            }
            for c in emitter.compiled_children.values()
        ],
        "graphs": emitter.graphs,
    }
    code = _environment().get_template("module.py.j2").render(context)
    # The template writes the imports already sorted unless an installed agent adds one
    # (its section is ruff's to decide), so only then is ``ruff check`` needed.
    return format_source(code, sort_imports=bool(context["plugin_agents"])) if format else code


def _builtin(module: str) -> bool:
    return module.startswith("runtara.agents.") and module.count(".") == 2


def format_source(code: str, *, sort_imports: bool = True) -> str:
    """The module checked to parse, then ``ruff format``-ed when ruff is installed.

    Formatting is cosmetic: ruff is a developer tool (the ``dev`` extra), so a plain
    install runs the module as rendered. The parse check does not depend on it, so a
    codegen bug is reported the same way with or without ruff. It compiles to bytecode
    rather than ``ast.parse``: the same syntax check without building Python AST objects
    (less than half the time on a large module). ``sort_imports=False`` skips ``ruff
    check`` when the imports are known to be sorted already.
    """
    try:
        compile(code, "workflow.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise CodegenError(
            f"generated code does not parse (a codegen bug): line {exc.lineno}: {exc.msg}"
        ) from None
    ruff = _ruff()
    if ruff is None:
        return code
    try:
        fixed = (
            _run_ruff(
                [ruff, "check", "--select", "I,F401", "--fix", "--quiet", "--exit-zero"], code
            )
            if sort_imports
            else code
        )
        return _run_ruff([ruff, "format", "--line-length", "100"], fixed or code) or code
    except (OSError, subprocess.CalledProcessError):
        return code  # a broken ruff install: the module parses, run it unformatted


def _ruff() -> str | None:
    """The ruff executable on PATH or beside this interpreter, if any."""
    return shutil.which("ruff") or shutil.which("ruff", path=sysconfig.get_path("scripts"))


def _run_ruff(command: list[str], code: str) -> str:
    return subprocess.run(
        [*command, "--stdin-filename", "workflow.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
