"""Document commands: ``validate`` and ``schema``."""

from __future__ import annotations

import typer

from runtara.cli._common import fail


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)


def validate() -> None:
    """Validate workflow files: every problem at once, as file:line:col: CODE message."""
    fail("not implemented yet", 1)


def schema() -> None:
    """Print or write the workflow JSON Schema (for IDEs and "$schema")."""
    fail("not implemented yet", 1)
