"""Build commands: ``compile`` (native binary + OCI image) and ``push`` (to a registry)."""

from __future__ import annotations

import typer

from runtara.cli._common import fail


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_)
    app.command("push")(push)


def compile_() -> None:
    """Compile a workflow to a native binary (Nuitka) packed in an OCI image."""
    fail("not implemented yet", 1)


def push() -> None:
    """Push a compiled image to an OCI registry."""
    fail("not implemented yet", 1)
