"""``runtara hooks``: webhooks whose (signed) POSTs start instances of an image."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from runtara.cli._common import (
    Format,
    Limit,
    Offset,
    OutputFormat,
    fail,
    print_done,
    print_json,
    print_rows,
    stderr,
    stdout,
)
from runtara.cli.exits import Exit
from runtara.cli.remote import ApiKey, Tenant, Url, connect

app = typer.Typer(no_args_is_help=True)

Ref = Annotated[str, typer.Argument(help="Hook name or id.")]


def _secret(value: str | None, option: str) -> str | None:
    """``-`` reads the secret from stdin (keeps it out of shell history and ps)."""
    if value != "-":
        return value
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        fail(f"{option} -: no secret on standard input", Exit.USAGE)
    return text


def _url(client: Any, hook: dict[str, Any]) -> str:
    """The delivery URL on the address the CLI reached the server at."""
    return f"{client.url}{hook['path']}"


def _show(hook: dict[str, Any], url: str, fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print_json({**hook, "url": url})
        return
    stdout.print(url)
    signed = "signed (X-Runtara-Signature)" if hook["signed"] else "unsigned"
    stderr.print(f"hook {hook['name']}  image {hook['image']}  {signed}")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Hook name (letters, digits, . _ -).")],
    image: Annotated[str, typer.Option("--image", help="Image id, NAME (latest) or NAME:VERSION.")],
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="HMAC-SHA256 key deliveries are signed with ('-': read it from stdin).",
            show_default=False,
        ),
    ] = None,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Create a webhook and print its URL: a POST of JSON there starts an instance."""
    key = _secret(secret, "--secret")
    with connect(url, tenant, api_key) as client:
        hook = client.create_hook(name, image, secret=key)
        _show(hook, _url(client, hook), fmt)


@app.command("list")
def list_hooks(
    limit: Limit = 100,
    offset: Offset = 0,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List webhooks by name."""
    with connect(url, tenant, api_key) as client:
        found = [
            {**h, "url": _url(client, h)} for h in client.list_hooks(limit=limit, offset=offset)
        ]
    print_rows(found, ["name", "image", "signed", "url"], fmt)


@app.command("get")
def get(
    ref: Ref,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show a webhook (never its secret) and its deliveries of the last 24 hours."""
    with connect(url, tenant, api_key) as client:
        hook = client.get_hook(ref)
        deliveries = client.list_hook_deliveries(hook["id"], limit=20)
        hook_url = _url(client, hook)
    if fmt == OutputFormat.json:
        print_json({**hook, "url": hook_url, "deliveries": deliveries})
        return
    _show(hook, hook_url, fmt)
    for d in deliveries:
        key = f"  key {d['idempotency_key']}" if d["idempotency_key"] else ""
        stdout.print(f"  {d['created_at']}  {d['instance_id']}  {d['status'] or 'deleted'}{key}")


@app.command("delete")
def delete(
    ref: Ref,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Delete a webhook: its URL answers 404 from now on."""
    with connect(url, tenant, api_key) as client:
        deleted = client.delete_hook(ref)
    print_done(deleted, fmt, f"deleted hook {deleted['name']}")


@app.command("rotate-secret")
def rotate_secret(
    ref: Ref,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="The new secret (default: a random one; '-': read it from stdin).",
            show_default=False,
        ),
    ] = None,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Replace the signing secret and print the new one, this once."""
    key = _secret(secret, "--secret")
    with connect(url, tenant, api_key) as client:
        hook = client.rotate_hook_secret(ref, key)
        hook_url = _url(client, hook)
    if fmt == OutputFormat.json:
        print_json({**hook, "url": hook_url})
        return
    stdout.print(hook["secret"])
    stderr.print(
        f"new secret of hook {hook['name']} (shown once); deliveries signed with the old one "
        "now get 401"
    )
