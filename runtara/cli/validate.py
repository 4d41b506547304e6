"""Document commands: ``validate`` and ``schema``."""

from __future__ import annotations

import contextlib
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtara.cli._common import Format, OutputFormat, fail, print_json, stderr

if TYPE_CHECKING:
    from runtara.agents.catalog import Catalog
    from runtara.dsl.diagnostics import Diagnostic


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)


def validate(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH",
            help="Workflow files, directories (searched for *.json) or glob patterns.",
            show_default=False,
        ),
    ],
    output_format: Format = OutputFormat.text,
    child: Annotated[
        list[str] | None,
        typer.Option(
            "--child",
            "-c",
            metavar="PATH",
            help="Child workflow file or directory EmbedWorkflow may name (by file name "
            "without .json); the files being validated count too. Given, a child named "
            "nowhere is an error (E051).",
        ),
    ] = None,
) -> None:
    """Validate workflow files: every problem at once, as file:line:col: CODE message.

    Exit 0 when valid (warnings allowed), 1 when errors were found, 2 when a file
    could not be read or is not JSON (or a directory or pattern holds no *.json file).
    """
    from runtara.dsl.validation import ValidationResult, find_child_workflows
    from runtara.dsl.validation import validate as validate_file

    for entry in child or []:
        if not entry or not Path(entry).exists():
            fail(f"--child {entry!r}: no such file or directory", 2)
    _load_catalog(exit_code=2)  # installed agents are part of what a document may use
    selected = expand_paths(paths)
    files = [entry for entry in selected if isinstance(entry, Path)]
    # Every child is known only when --child names where they are (then E051 applies);
    # the files being validated count as children too, for E055 / W054.
    child_files = find_child_workflows([*files, *(child or [])])
    children = set(child_files) if child else None
    results = [
        validate_file(entry, children=children, child_files=child_files)
        if isinstance(entry, Path)
        else ValidationResult(entry.name, [entry.problem], readable=False)
        for entry in selected
    ]
    if output_format is OutputFormat.json:
        print_json(
            {
                "files": [
                    {
                        "file": result.filename,
                        "valid": result.ok,
                        "diagnostics": [d.to_json() for d in result.diagnostics],
                    }
                    for result in results
                ]
            }
        )
    else:
        for result in results:
            for diagnostic in result.diagnostics:
                typer.echo(diagnostic.format(result.filename))
        errors = sum(len(result.errors) for result in results)
        warnings = sum(len(result.warnings) for result in results)
        valid = sum(result.ok for result in results)
        stderr.print(
            f"{valid} of {len(results)} file(s) valid: {errors} error(s), {warnings} warning(s)",
            style="green" if valid == len(results) else "red",
        )
    if any(not result.readable for result in results):
        raise typer.Exit(2)
    if any(result.errors for result in results):
        raise typer.Exit(1)


@dataclass(frozen=True)
class Unmatched:
    """An argument that selects no file, and why (reported as an S000 result)."""

    name: str
    problem: Diagnostic


def expand_paths(patterns: list[str]) -> list[Path | Unmatched]:
    """Files named directly, ``*.json`` under directories (recursively), glob matches,
    in argument order and without repeats.

    An argument that selects no file (an empty name, a directory without ``*.json``, a
    pattern matching nothing) becomes an ``Unmatched``. A plain name that does not exist
    is kept as a file, so that it is reported as unreadable.
    """
    from runtara.dsl.diagnostics import Diagnostic

    selected: list[Path | Unmatched] = []
    seen: set[str] = set()
    for pattern in patterns:
        path = Path(pattern)
        if not pattern:
            found, reason = [], "empty path"
        elif path.is_dir():
            found, reason = _json_files(path), "directory holds no *.json file"
        elif path.exists() or not glob.has_magic(pattern):
            found, reason = [path], ""
        else:
            found, reason = [], "pattern matches no file"
            for match in sorted(glob.glob(pattern, recursive=True)):
                matched = Path(match)
                found.extend(_json_files(matched) if matched.is_dir() else [matched])
        if not found:
            selected.append(Unmatched(pattern or "''", Diagnostic("S000", reason)))
        for file in found:
            key = os.path.normpath(file)
            if key not in seen:
                seen.add(key)
                selected.append(file)
    return selected


def _json_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.json") if p.is_file())


def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the schema to this file instead of stdout."),
    ] = None,
    schemastore: Annotated[
        bool,
        typer.Option(
            "--schemastore",
            help="The draft-07 variant for SchemaStore's catalog (runtara/schemas/workflow.schemastore.json).",
        ),
    ] = False,
) -> None:
    """Print or write the workflow JSON Schema (for IDEs and "$schema")."""
    from runtara.dsl.schema import render, schemastore_schema, workflow_schema

    if output is not None and (not str(output) or output.is_dir()):
        fail(f"--output {str(output)!r}: give a file name, not a directory", 2)
    generate = schemastore_schema if schemastore else workflow_schema
    text = render(generate(_load_catalog(exit_code=1)))
    if output is None:
        typer.echo(text, nl=False)
        return
    # A regular file is replaced whole (a failed write never leaves half a schema behind);
    # anything else (a pipe, /dev/stdout) is written to as it is.
    regular = not output.exists() or output.is_file()
    partial = output.with_name(f".{output.name}.partial") if regular else output
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        if regular:
            os.replace(partial, output)
    except FileExistsError:
        fail(f"cannot write {output}: {output.parent} is not a directory", 1)
    except OSError as exc:
        if regular:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
        fail(f"cannot write {output}: {exc.strerror or exc}", 1)
    stderr.print(f"wrote {output}", markup=False)


def _load_catalog(*, exit_code: int) -> Catalog:
    """The agent catalog; an installed agent package that fails to import is one line."""
    from runtara.agents.catalog import AgentLoadError, catalog

    try:
        return catalog()
    except AgentLoadError as exc:
        fail(str(exc), exit_code)
