"""``runtara lsp``: the language server for workflow documents, over stdio."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("lsp")(lsp)


def lsp() -> None:
    """Run the workflow language server on stdin/stdout (for VS Code, Neovim, ...).

    Diagnostics of `runtara validate` as you type, completion of reference paths, step
    and connection ids, go to definition, hover, rename of a step id, the step outline.
    """
    from runtara.lsp.server import main

    main()
