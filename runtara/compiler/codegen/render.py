"""Render the emitter's context through the Jinja2 templates and format with ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from runtara.compiler.codegen.emitter import Emitter, input_schema_of
from runtara.compiler.codegen.errors import CodegenError
from runtara.compiler.codegen.literals import py_literal
from runtara.dsl.graph import Workflow


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("runtara", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def generate(
    workflow: Workflow,
    *,
    children: Mapping[str, Workflow] | None = None,
    source: str = "a workflow document",
    format: bool = True,
) -> str:
    """The Python module for ``workflow``; ``children`` resolves EmbedWorkflow ids."""
    emitter = Emitter(workflow, dict(children or {}))
    emitter.emit()
    graph = workflow.graph
    schema = input_schema_of(graph)
    context: dict[str, Any] = {
        "title": graph.name or Path(source).stem,
        "source": Path(source).name,
        "debug": repr(workflow.debug_mode),
        "timeout": repr(graph.execution_timeout_seconds),
        "variables": py_literal({n: v.value for n, v in graph.variables.items()}),
        "input_schema": py_literal(schema),
        "builtin_agents": sorted(
            m.removeprefix("runtara.agents.") for m in emitter.agents if _builtin(m)
        ),
        "plugin_agents": sorted(m for m in emitter.agents if not _builtin(m)),
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
    return format_source(code) if format else code


def _builtin(module: str) -> bool:
    return module.startswith("runtara.agents.") and module.count(".") == 2


def format_source(code: str) -> str:
    """``ruff format`` the module (and fix import order); the source as is without ruff."""
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    try:
        fixed = subprocess.run(
            [
                *command,
                "check",
                "--select",
                "I,F401",
                "--fix",
                "--quiet",
                "--exit-zero",
                "--stdin-filename",
                "workflow.py",
                "-",
            ],
            input=code,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return subprocess.run(
            [*command, "format", "--line-length", "100", "--stdin-filename", "workflow.py", "-"],
            input=fixed or code,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        return code
    except subprocess.CalledProcessError as exc:
        raise CodegenError(f"generated code does not parse (a codegen bug): {exc.stderr}") from None
