"""Talking to a runtime: the ``--url``, ``--tenant`` and ``--api-key`` options, declared
once here and used by every command that calls the management API, and the client
session that turns an API error into one line and an exit status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from runtara.cli._common import fail
from runtara.cli.exits import Exit

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="RUNTARA_URL",
        metavar="URL",
        help="Runtime URL; default http://127.0.0.1:8001.",
        show_default=False,
    ),
]
Tenant = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        envvar="RUNTARA_TENANT",
        metavar="TENANT",
        help="Tenant to act for, with an admin key or on a --dev server; "
        "default: a tenant key's own tenant.",
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="RUNTARA_API_KEY",
        metavar="KEY",
        help="Tenant or admin API key; default: none (a --dev server needs none).",
        show_default=False,
    ),
]


@contextmanager
def connect(url: str | None, tenant: str | None, api_key: str | None) -> Iterator[Any]:
    """A management client; an API error ends the command with its detail (exit 1)."""
    from runtara.client import ApiError, Client

    try:
        with Client(url, api_key, tenant=tenant) as client:
            yield client
    except ApiError as exc:
        hint = " (pass --api-key or set RUNTARA_API_KEY)" if exc.status == 401 else ""
        fail(exc.detail + hint, Exit.FAILED)
