"""Document commands: ``validate`` and ``schema``."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Annotated

import typer

from runtara.cli._common import FormatOption, OutputFormat, fail, print_json, stderr


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)


def validate(
    paths: Annotated[
        list[str],
        typer.Argument(help="Workflow files, directories (searched for *.json) or glob patterns."),
    ],
    output_format: OutputFormat = FormatOption,
    child: Annotated[
        list[str] | None,
        typer.Option(
            "--child",
            "-c",
            help="Child workflow file or directory EmbedWorkflow may name (by file name "
            "without .json); the files being validated count too.",
        ),
    ] = None,
) -> None:
    """Validate workflow files: every problem at once, as file:line:col: CODE message.

    Exit 0 when valid (warnings allowed), 1 when errors were found, 2 when a file
    could not be read or is not JSON.
    """
    from runtara.dsl.validation import find_child_workflows
    from runtara.dsl.validation import validate as validate_file

    files = expand_paths(paths)
    if not files:
        fail(f"no workflow files found in {', '.join(paths)}", 2)
    children = set(find_child_workflows([*files, *(child or [])]))
    results = [validate_file(file, children=children) for file in files]
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


def expand_paths(patterns: list[str]) -> list[Path]:
    """Files named directly, ``*.json`` under directories (recursively), glob matches.

    A name that matches nothing is kept, so that it is reported as unreadable.
    """
    files: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.exists() or not glob.has_magic(pattern):
            files.append(path)
        else:
            for match in sorted(glob.glob(pattern, recursive=True)):
                matched = Path(match)
                if matched.is_dir():
                    files.extend(sorted(p for p in matched.rglob("*.json") if p.is_file()))
                else:
                    files.append(matched)
    unique: dict[str, Path] = {}
    for file in files:
        unique.setdefault(os.path.normpath(file), file)
    return list(unique.values())


def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the schema to this file instead of stdout."),
    ] = None,
) -> None:
    """Print or write the workflow JSON Schema (for IDEs and "$schema")."""
    from runtara.dsl.schema import render, workflow_schema

    text = render(workflow_schema())
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 1)
    stderr.print(f"wrote {output}", markup=False)
