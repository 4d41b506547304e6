"""``runtara tenants``: tenants and their API keys (needs the admin key, or a --dev server)."""

from __future__ import annotations

import typer

from runtara.cli._common import (
    Format,
    OutputFormat,
    print_done,
    print_json,
    print_rows,
    stderr,
    stdout,
)
from runtara.cli.remote import ApiKey, Tenant, Url, connect

app = typer.Typer(no_args_is_help=True)
keys = typer.Typer(no_args_is_help=True)
app.add_typer(keys, name="keys", help="Create, list and revoke a tenant's API keys.")


@app.command("create")
def create(
    tenant_id: str = typer.Argument(..., help="Tenant id (letters, digits, . _ -)."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the id)."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Create a tenant."""
    with connect(url, tenant, api_key) as client:
        created = client.create_tenant(tenant_id, name)
    print_done(created, fmt, f"created tenant {created['id']}")


@app.command("list")
def list_tenants(
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List tenants."""
    with connect(url, tenant, api_key) as client:
        found = client.list_tenants()
    print_rows(found, ["id", "name", ("created", "created_at")], fmt)


@app.command("get")
def get(
    tenant_id: str = typer.Argument(..., help="Tenant id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show a tenant."""
    with connect(url, tenant, api_key) as client:
        found = client.get_tenant(tenant_id)
    print_json(found) if fmt == OutputFormat.json else stdout.print(
        f"{found['id']}: {found['name']}"
    )


@keys.command("create")
def create_key(
    tenant_id: str = typer.Argument(..., help="Tenant the key acts for."),
    name: str = typer.Option("default", "--name", help="What the key is for."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Create an API key; its secret is printed this once."""
    with connect(url, tenant, api_key) as client:
        created = client.create_api_key(tenant_id, name)
    if fmt == OutputFormat.json:
        print_json(created)
        return
    stdout.print(created["key"])
    stderr.print(
        f"API key {created['id']} for tenant {tenant_id}: store it now, it is not shown again"
    )


@keys.command("list")
def list_keys(
    tenant_id: str = typer.Argument(..., help="Tenant id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List a tenant's API keys (never their secrets)."""
    with connect(url, tenant, api_key) as client:
        found = client.list_api_keys(tenant_id)
    print_rows(
        found,
        ["id", "name", ("created", "created_at"), ("revoked", "revoked_at")],
        fmt,
    )


@keys.command("revoke")
def revoke_key(
    tenant_id: str = typer.Argument(..., help="Tenant id."),
    key_id: str = typer.Argument(..., help="Key id (rk_...), as `keys list` shows it."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Revoke an API key: it stops working at once."""
    with connect(url, tenant, api_key) as client:
        client.revoke_api_key(tenant_id, key_id)
    print_done({"id": key_id, "tenant_id": tenant_id, "revoked": True}, fmt, f"revoked {key_id}")
