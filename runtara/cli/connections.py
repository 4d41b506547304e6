"""``runtara connections``: stored credentials for secure agents (secrets never printed)."""

from __future__ import annotations

from typing import Any

import typer

from runtara.cli._common import (
    Format,
    OutputFormat,
    fail,
    json_option,
    print_done,
    print_json,
    print_rows,
    stdout,
)
from runtara.cli.remote import ApiKey, Tenant, Url, connect

app = typer.Typer(no_args_is_help=True)

ParametersOption = typer.Option(
    ...,
    "--parameters",
    "-p",
    help="Parameters as JSON, or @FILE (keeps secrets out of shell history).",
)


def _parameters(text: str) -> dict[str, Any]:
    value = json_option(text, "--parameters")
    if not isinstance(value, dict):
        fail("--parameters: must be a JSON object", 2)
    return value


def _show(connection: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print_json(connection)
    else:
        stdout.print(
            f"{connection['id']} ({connection['integration_id']}), updated {connection['updated_at']}"
        )


@app.command("create")
def create(
    connection_id: str = typer.Argument(..., help="Connection id, as workflows reference it."),
    integration: str = typer.Option(
        ..., "--integration", "-t", help="Type: http_bearer, http_api_key, http_basic, sftp."
    ),
    parameters: str = ParametersOption,
    name: str | None = typer.Option(None, "--name", help="Display name."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Store a connection (parameters are encrypted at rest)."""
    document = _parameters(parameters)
    with connect(url, tenant, api_key) as client:
        _show(client.create_connection(connection_id, integration, document, name=name), fmt)


@app.command("list")
def list_connections(
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List the tenant's connections."""
    with connect(url, tenant, api_key) as client:
        found = client.list_connections()
    print_rows(
        found,
        ["id", ("integration", "integration_id"), "name", ("updated", "updated_at")],
        fmt,
    )


@app.command("get")
def get(
    connection_id: str = typer.Argument(..., help="Connection id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show a connection (without its parameters)."""
    with connect(url, tenant, api_key) as client:
        _show(client.get_connection(connection_id), fmt)


@app.command("update")
def update(
    connection_id: str = typer.Argument(..., help="Connection id."),
    parameters: str = ParametersOption,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Replace a connection's parameters (e.g. rotate a token)."""
    document = _parameters(parameters)
    with connect(url, tenant, api_key) as client:
        _show(client.update_connection(connection_id, document), fmt)


@app.command("delete")
def delete(
    connection_id: str = typer.Argument(..., help="Connection id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Delete a connection."""
    with connect(url, tenant, api_key) as client:
        client.delete_connection(connection_id)
    print_done({"id": connection_id, "deleted": True}, fmt, f"deleted {connection_id}")
