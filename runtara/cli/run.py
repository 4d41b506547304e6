"""Execution commands: ``codegen`` (show the generated module) and ``run`` (run it now)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from runtara.cli._common import fail, stderr
from runtara.cli.exits import Exit
from runtara.cli.progress import Feedback, Quiet

if TYPE_CHECKING:
    from runtara.compiler.codegen import CodegenError
    from runtara.runtime.local.execute import Outcome

Children = Annotated[
    list[Path] | None,
    typer.Option(
        "--child",
        help="A child workflow file (or directory of them) for EmbedWorkflow steps; repeatable.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("codegen")(codegen)
    app.command("run")(run)


def codegen(
    file: Annotated[Path, typer.Argument(help="Workflow JSON file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the module here.")
    ] = None,
    child: Children = None,
) -> None:
    """Show the Python module generated for a workflow.

    Exit status: 0 generated, 1 the workflow has errors (listed as file:line:col: CODE
    message), 2 the workflow file cannot be read.
    """
    from runtara.compiler.codegen import CodegenError, generate, load_children
    from runtara.compiler.codegen.documents import read_workflow

    try:
        source = generate(
            read_workflow(file), children=load_children(child or []), source=str(file)
        )
    except CodegenError as exc:
        _refuse(exc)
    if output is None:
        typer.echo(source, nl=False)
        return
    try:
        output.write_text(source, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 1)
    stderr.print(f"wrote {output}")


def run(
    file: Annotated[
        Path, typer.Argument(help="Workflow JSON file, or a compiled output directory.")
    ],
    input: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Instance input: JSON text, or @FILE holding JSON."),
    ] = None,
    connection: Annotated[
        list[str] | None,
        typer.Option(
            "--connection",
            help='ID=@FILE.json: a connection {"integrationId", "parameters"}; repeatable.',
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Runtime URL (a `runtara server --dev`); default: an embedded one on .data/.",
        ),
    ] = None,
    instance_id: Annotated[
        str | None, typer.Option("--id", help="Instance id; rerun with the same id to resume it.")
    ] = None,
    child: Children = None,
    quiet: Quiet = False,
) -> None:
    """Run a workflow now, interpreted, on the embedded SQLite runtime.

    Prints the workflow output as JSON on stdout; progress and logs go to stderr (each
    retry with its cause and wait, a countdown for a durable delay on a terminal;
    --quiet keeps only the workflow's Log lines and errors).
    Exit status: 0 completed, 1 failed or refused, 2 the workflow file cannot be read,
    3 paused or cancelled, 130 interrupted (rerun with the same --id to resume).
    """
    from runtara.compiler.codegen import CodegenError
    from runtara.runtime.local.execute import run_workflow
    from runtara.runtime.local.request import RunError, RunRequest

    try:
        request = RunRequest.from_cli(
            file,
            input_text=input,
            connections=connection or [],
            server=server,
            instance_id=instance_id,
            children=child or [],
        )
    except RunError as exc:  # a bad --input, --connection, --server, --child
        fail(str(exc), Exit.USAGE)
    try:
        with Feedback(quiet=quiet) as feedback:
            exit_code = run_workflow(request, progress=feedback.run_event, report=_report)
    except CodegenError as exc:
        _refuse(exc)
    except RunError as exc:
        fail(str(exc), Exit.FAILED)
    # The embedded runtime imported FastAPI, SQLAlchemy and pydantic; collecting all of
    # that at exit takes 0.2-0.8 s, and nothing in it needs finalizing (the store is closed).
    gc.freeze()
    raise typer.Exit(exit_code)


def _report(outcome: Outcome) -> None:
    if outcome.printed is not None:
        typer.echo(outcome.printed)
    if outcome.message:
        stderr.print(outcome.message, markup=False)


def _refuse(exc: CodegenError) -> NoReturn:
    """The validator's diagnostics (``file:line:col: CODE message``), then one summary line;
    exit 2 when the file could not be read or is not JSON (as ``runtara validate``)."""
    from runtara.compiler.codegen.documents import InvalidWorkflow

    if isinstance(exc, InvalidWorkflow):
        for line in exc.lines:
            stderr.print(line, markup=False)
        fail(exc.message, 2 if exc.unreadable else 1)
    fail(str(exc), 1)
