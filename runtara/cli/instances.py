"""``runtara instances``: inspect and steer instances through the management API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.table import Table

from runtara.cli._common import (
    FormatOption,
    OutputFormat,
    fail,
    json_option,
    print_json,
    stderr,
    stdout,
)
from runtara.runtime.status import Status

app = typer.Typer(no_args_is_help=True)

UrlOption = typer.Option(
    None,
    "--url",
    envvar="RUNTARA_URL",
    help="Runtime URL [env RUNTARA_URL; default http://127.0.0.1:8001].",
)
TenantOption = typer.Option(
    None, "--tenant", envvar="RUNTARA_TENANT", help="Tenant to act for (admin key, --dev server)."
)
ApiKeyOption = typer.Option(
    None, "--api-key", envvar="RUNTARA_API_KEY", help="Tenant or admin API key.", show_default=False
)

StatusOption = typer.Option(None, "--status", help="Only instances in this status.")


@contextmanager
def _client(url: str | None, tenant: str | None, api_key: str | None) -> Iterator[Any]:
    from runtara.client import ApiError, Client

    try:
        with Client(url, api_key, tenant=tenant) as client:
            yield client
    except ApiError as exc:
        hint = " (pass --api-key or set RUNTARA_API_KEY)" if exc.status == 401 else ""
        fail(exc.detail + hint, 1)


def _show_instance(instance: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print_json(instance)
        return
    for name in (
        "id",
        "status",
        "pending_signal",
        "attempts",
        "last_checkpoint_id",
        "created_at",
        "finished_at",
    ):
        if instance.get(name) is not None:
            stdout.print(f"{name}: {instance[name]}")
    for name in ("output", "error"):
        if instance.get(name) is not None:
            stdout.print(f"{name}: {json.dumps(instance[name], ensure_ascii=False)}")


@app.command("list")
def list_instances(
    status: Status | None = StatusOption,
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    offset: int = typer.Option(0, "--offset", min=0, max=10_000_000),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """List instances, newest first."""
    with _client(url, tenant, api_key) as client:
        found = client.list_instances(status=status, limit=limit, offset=offset)
    if fmt == OutputFormat.json:
        print_json(found)
        return
    table = Table("id", "status", "attempts", "created", "finished")
    for i in found:
        table.add_row(
            i["id"], i["status"], str(i["attempts"]), i["created_at"] or "", i["finished_at"] or ""
        )
    stdout.print(table)


@app.command("get")
def get(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Show an instance: status, output, error, progress."""
    with _client(url, tenant, api_key) as client:
        _show_instance(client.get_instance(instance_id), fmt)


@app.command("pause")
def pause(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Pause: a running instance stops at its next checkpoint (suspended)."""
    with _client(url, tenant, api_key) as client:
        _show_instance(client.pause_instance(instance_id), fmt)


@app.command("resume")
def resume(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Resume a suspended instance from its checkpoints (or withdraw a pending pause)."""
    with _client(url, tenant, api_key) as client:
        resumed = client.resume_instance(instance_id)
    _show_instance(resumed, fmt)
    if resumed["status"] == "suspended" and resumed.get("image_id") is None:
        # a self-registering script (Runtara.localhost): no runner can relaunch it
        stderr.print(f"{instance_id} has no image to relaunch: run its script again to continue")


@app.command("cancel")
def cancel(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Cancel: a running instance ends at its next checkpoint; others end now."""
    with _client(url, tenant, api_key) as client:
        _show_instance(client.cancel_instance(instance_id), fmt)


@app.command("signal")
def signal(
    instance_id: str = typer.Argument(..., help="Instance id."),
    checkpoint_id: str = typer.Argument(..., help="Checkpoint / step id the signal is for."),
    payload: str = typer.Option("null", "--payload", "-p", help="JSON payload, or @FILE."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Send a custom signal (e.g. to a WaitForSignal step)."""
    document = json_option(payload, "--payload")
    with _client(url, tenant, api_key) as client:
        client.send_signal(instance_id, checkpoint_id, document)
    if fmt == OutputFormat.json:
        print_json({"id": instance_id, "checkpoint_id": checkpoint_id, "status": "accepted"})
    else:
        stdout.print(f"signal sent to {instance_id} / {checkpoint_id}")


@app.command("events")
def events(
    instance_id: str = typer.Argument(..., help="Instance id."),
    event_type: str | None = typer.Option(None, "--type", help="Only this event type."),
    subtype: str | None = typer.Option(None, "--subtype", help="Only this subtype."),
    after: int = typer.Option(0, "--after", min=0, help="Events after this sequence number."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """List an instance's events in order."""
    with _client(url, tenant, api_key) as client:
        found = client.list_events(
            instance_id, after=after, limit=limit, event_type=event_type, subtype=subtype
        )
    if fmt == OutputFormat.json:
        print_json(found)
        return
    table = Table("seq", "time", "type", "subtype", "payload")
    for e in found:
        payload = "" if e["payload"] is None else json.dumps(e["payload"], ensure_ascii=False)
        table.add_row(
            str(e["seq"]), e["created_at"] or "", e["event_type"], e["subtype"] or "", payload
        )
    stdout.print(table)


@app.command("checkpoints")
def checkpoints(
    instance_id: str = typer.Argument(..., help="Instance id."),
    after: int = typer.Option(0, "--after", min=0, help="Checkpoints after this sequence number."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """List an instance's checkpoints in the order they were saved."""
    with _client(url, tenant, api_key) as client:
        found = client.list_checkpoints(instance_id, after=after, limit=limit)
    if fmt == OutputFormat.json:
        print_json(found)
        return
    table = Table("seq", "checkpoint", "bytes", "type", "time")
    for c in found:
        table.add_row(
            str(c["seq"]),
            c["checkpoint_id"],
            str(c["size"]),
            c["content_type"],
            c["created_at"] or "",
        )
    stdout.print(table)


@app.command("output")
def output(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: str | None = UrlOption,
    tenant: str | None = TenantOption,
    api_key: str | None = ApiKeyOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Print how an instance ended: its output (or error)."""
    with _client(url, tenant, api_key) as client:
        result = client.get_output(instance_id)
    if fmt == OutputFormat.json:
        print_json(result)
    elif result["error"] is not None:
        stdout.print(f"{result['status']}: {json.dumps(result['error'], ensure_ascii=False)}")
    else:
        stdout.print(json.dumps(result["output"], indent=2, ensure_ascii=False))
