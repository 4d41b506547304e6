"""``runtara server``: the runtime service."""

from __future__ import annotations

import typer

from runtara.cli._common import fail


def register(app: typer.Typer) -> None:
    app.command("server")(server)


def server() -> None:
    """Run the runtime service (SQLite by default, PostgreSQL in production)."""
    fail("not implemented yet", 1)
