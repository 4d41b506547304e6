"""Workflow commands: ``validate``, ``schema``, ``codegen``, ``run``."""

from __future__ import annotations

import typer

from runtara.cli._common import fail


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("codegen")(codegen)
    app.command("run")(run)


def validate() -> None:
    """Validate workflow files: every problem at once, as file:line:col: CODE message."""
    fail("not implemented yet", 1)


def schema() -> None:
    """Print or write the workflow JSON Schema (for IDEs and "$schema")."""
    fail("not implemented yet", 1)


def codegen() -> None:
    """Show the Python module generated for a workflow."""
    fail("not implemented yet", 1)


def run() -> None:
    """Run a workflow now, interpreted, on the embedded SQLite runtime."""
    fail("not implemented yet", 1)
