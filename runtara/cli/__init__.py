"""The ``runtara`` command line: thin wrappers that parse, call the library and print.

Each command group lives in its own module and is registered below, explicitly; heavy
imports (server, compiler) happen inside the commands so ``runtara --help`` is fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape

from runtara import __version__
from runtara.cli import (
    agents,
    build,
    connections,
    graph,
    hooks,
    images,
    instances,
    instances_launch,
    lsp,
    run,
    schedules,
    server,
    tenants,
    validate,
)
from runtara.cli._common import CliError, stderr
from runtara.cli.exits import Exit, help_epilog
from runtara.cli.help import tidy

app = typer.Typer(
    name="runtara",
    help="Durable workflows: validate, run, compile to native OCI images, and operate instances.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=help_epilog(),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runtara {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Durable workflows: validate, run, compile to native OCI images, and operate instances."""


validate.register(app)
lsp.register(app)
run.register(app)
graph.register(app)
build.register(app)
server.register(app)
instances_launch.register(instances.app)
app.add_typer(
    instances.app,
    name="instances",
    help="Start, list, pause, resume, cancel and inspect instances.",
)
app.add_typer(images.app, name="images", help="Register and manage images (what instances run).")
app.add_typer(
    agents.app, name="agents", help="Show the agent catalog (built-in and installed agents)."
)
app.add_typer(
    connections.app,
    name="connections",
    help="Manage stored connections (credentials for secure agents).",
)
app.add_typer(tenants.app, name="tenants", help="Manage tenants and their API keys (admin).")
app.add_typer(
    schedules.app,
    name="schedules",
    help="Cron and interval schedules that start instances, once per fire.",
)
app.add_typer(hooks.app, name="hooks", help="Webhooks whose signed POSTs start instances.")


def command() -> Any:
    """The ``runtara`` command tree, with plain help placeholders (``runtara.cli.help``)."""
    return tidy(typer.main.get_command(app))


def main() -> None:
    """Entry point: runs the app and turns errors into one line and an exit code.

    A command-line mistake (unknown option, bad value) is one line and exit 2; a
    ``CliError`` is the library telling the user what is wrong; anything else is a bug,
    reported without a traceback unless ``RUNTARA_DEBUG=1``.
    """
    try:
        code = command().main(prog_name="runtara", standalone_mode=False)
    except CliError as exc:
        stderr.print(f"[bold red]error:[/] {escape(exc.message)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(Exit.INTERRUPTED)
    except typer.Abort:
        stderr.print("aborted")
        sys.exit(Exit.FAILED)
    except Exception as exc:
        usage = _command_line_error(exc)
        if usage is not None:
            message, exit_code = usage
            if message:  # empty: a group run without a command, its help already shown
                stderr.print(f"[bold red]error:[/] {escape(message)}")
            sys.exit(exit_code)
        if os.environ.get("RUNTARA_DEBUG"):
            raise
        stderr.print(
            f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))} "
            "(set RUNTARA_DEBUG=1 for the traceback)"
        )
        sys.exit(Exit.INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


def _command_line_error(exc: Exception) -> tuple[str, int] | None:
    """(one-line message, exit code) for typer's parser errors (unknown option, bad value).

    Recognised by shape (``format_message``, ``exit_code``, ``ctx``): typer keeps its
    click exception classes private.
    """
    format_message = getattr(exc, "format_message", None)
    exit_code = getattr(exc, "exit_code", None)
    if not callable(format_message) or not isinstance(exit_code, int) or not hasattr(exc, "ctx"):
        return None
    message = str(format_message()).replace("Value error, ", "")  # typer's wording
    ctx = exc.ctx
    if message and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message, exit_code
