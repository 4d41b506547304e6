"""``runtara server``: the runtime service."""

from __future__ import annotations

import gc

import typer

from runtara.cli._common import fail, stderr
from runtara.cli.exits import Exit


def register(app: typer.Typer) -> None:
    app.command("server")(server)


def server(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8001, "--port", min=0, max=65535, help="TCP port."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="sqlite:///path or postgresql://... [env RUNTARA_DATABASE_URL; default sqlite:///.data/runtara.db]",
        show_default=False,
    ),
    dev: bool = typer.Option(
        False,
        "--dev",
        help="Development mode: instances self-register without tokens, API keys optional.",
    ),
) -> None:
    """Run the runtime service (SQLite by default, PostgreSQL in production)."""
    from runtara.runtime.errors import StoreUnavailable
    from runtara.runtime.scheduler import SchedulerConfig
    from runtara.runtime.server import serve
    from runtara.runtime.settings import Settings

    try:
        settings = Settings.from_env(database_url=database_url, dev=dev or None)
        SchedulerConfig.from_env()  # the scheduler's RUNTARA_* settings, checked up front
    except ValueError as exc:
        fail(f"invalid setting: {exc}", 2)

    def announce(url: str) -> None:
        mode = ", dev mode" if settings.dev else ""
        stderr.print(f"runtara server on {url} ({_describe(settings.database_url)}{mode})")

    interrupted = False
    try:
        serve(
            settings,
            host,
            port,
            on_ready=announce,
            on_stopping=lambda line: stderr.print(line, markup=False, highlight=False),
        )
    except KeyboardInterrupt:  # uvicorn raises again the Ctrl-C it stopped gracefully on
        interrupted = True
    except StoreUnavailable as exc:
        fail(exc.detail, 1)
    except OSError as exc:
        fail(str(exc), 1)
    # Everything is closed (store, scheduler, ticker): collecting the web framework's
    # object graphs at exit takes time and finalizes nothing.
    gc.freeze()
    stderr.print("runtara server stopped", highlight=False)
    raise typer.Exit(Exit.INTERRUPTED if interrupted else Exit.OK)


def _describe(url: str) -> str:
    """The database, without credentials."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
