"""Execution commands: ``codegen`` and ``run``."""

from __future__ import annotations

import typer

from runtara.cli._common import fail


def register(app: typer.Typer) -> None:
    app.command("codegen")(codegen)
    app.command("run")(run)


def codegen() -> None:
    """Show the Python module generated for a workflow."""
    fail("not implemented yet", 1)


def run() -> None:
    """Run a workflow now, interpreted, on the embedded SQLite runtime."""
    fail("not implemented yet", 1)
