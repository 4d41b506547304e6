"""``runtara instances``: inspect and steer instances through the management API."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from runtara.cli._common import (
    Format,
    Limit,
    Offset,
    OutputFormat,
    as_json,
    json_option,
    print_done,
    print_json,
    print_rows,
    stderr,
    stdout,
)
from runtara.cli.exits import Exit
from runtara.cli.remote import ApiKey, Tenant, Url, connect
from runtara.runtime.status import Status

app = typer.Typer(no_args_is_help=True)

StatusOption = typer.Option(None, "--status", help="Only instances in this status.")


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
            stdout.print(f"{name}: {as_json(instance[name])}")


@app.command("list")
def list_instances(
    status: Status | None = StatusOption,
    limit: Limit = 50,
    offset: Offset = 0,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List instances, newest first."""
    with connect(url, tenant, api_key) as client:
        found = client.list_instances(status=status, limit=limit, offset=offset)
    print_rows(
        found,
        ["id", "status", "attempts", ("created", "created_at"), ("finished", "finished_at")],
        fmt,
    )


@app.command("get")
def get(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show an instance: status, output, error, progress."""
    with connect(url, tenant, api_key) as client:
        _show_instance(client.get_instance(instance_id), fmt)


@app.command("pause")
def pause(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Pause: a running instance stops at its next checkpoint (suspended)."""
    with connect(url, tenant, api_key) as client:
        _show_instance(client.pause_instance(instance_id), fmt)


@app.command("resume")
def resume(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Resume a suspended instance from its checkpoints (or withdraw a pending pause).

    Shows the instance in its new status: a suspended instance with an image is
    relaunched by the server's scheduler, which this waits for (a few seconds at most).
    """
    with connect(url, tenant, api_key) as client:
        resumed = client.resume_instance(instance_id)
        relaunched = resumed["status"] == "suspended" and resumed.get("image_id") is not None
        if relaunched:
            resumed = _relaunched(client, instance_id, resumed)
    _show_instance(resumed, fmt)
    if resumed["status"] != "suspended":
        return
    if relaunched:
        stderr.print(f"{instance_id} is due now: the server relaunches it from its checkpoints")
    else:  # a self-registering script (Runtara.localhost): no runner can relaunch it
        stderr.print(f"{instance_id} has no image to relaunch: run its script again to continue")


def _relaunched(client: Any, instance_id: str, instance: dict[str, Any]) -> dict[str, Any]:
    """The instance once the scheduler has relaunched it (or after RELAUNCH_WAIT_S)."""
    deadline = time.monotonic() + RELAUNCH_WAIT_S
    while instance["status"] == "suspended" and time.monotonic() < deadline:
        time.sleep(0.1)
        instance = client.get_instance(instance_id)
    return instance


#: How long ``instances resume`` waits to show the relaunched instance's status.
RELAUNCH_WAIT_S = 5.0


@app.command("cancel")
def cancel(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Cancel: a running instance ends at its next checkpoint; others end now."""
    with connect(url, tenant, api_key) as client:
        _show_instance(client.cancel_instance(instance_id), fmt)


@app.command("signal")
def signal(
    instance_id: str = typer.Argument(..., help="Instance id."),
    checkpoint_id: str = typer.Argument(..., help="Checkpoint / step id the signal is for."),
    payload: str = typer.Option("null", "--payload", "-p", help="JSON payload, or @FILE."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Send a custom signal (e.g. to a WaitForSignal step)."""
    document = json_option(payload, "--payload")
    with connect(url, tenant, api_key) as client:
        client.send_signal(instance_id, checkpoint_id, document)
    print_done(
        {"id": instance_id, "checkpoint_id": checkpoint_id, "status": "accepted"},
        fmt,
        f"signal sent to {instance_id} / {checkpoint_id}",
    )


@app.command("events")
def events(
    instance_id: str = typer.Argument(..., help="Instance id."),
    event_type: str | None = typer.Option(None, "--type", help="Only this event type."),
    subtype: str | None = typer.Option(None, "--subtype", help="Only this subtype."),
    after: int = typer.Option(0, "--after", min=0, help="Events after this sequence number."),
    limit: Limit = 100,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List an instance's events in order."""
    with connect(url, tenant, api_key) as client:
        found = client.list_events(
            instance_id, after=after, limit=limit, event_type=event_type, subtype=subtype
        )
    print_rows(
        found,
        [
            "seq",
            ("time", "created_at"),
            ("type", "event_type"),
            "subtype",
            ("payload", lambda e: None if e["payload"] is None else as_json(e["payload"])),
        ],
        fmt,
    )


@app.command("checkpoints")
def checkpoints(
    instance_id: str = typer.Argument(..., help="Instance id."),
    after: int = typer.Option(0, "--after", min=0, help="Checkpoints after this sequence number."),
    limit: Limit = 100,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List an instance's checkpoints in the order they were saved."""
    with connect(url, tenant, api_key) as client:
        found = client.list_checkpoints(instance_id, after=after, limit=limit)
    print_rows(
        found,
        [
            "seq",
            ("checkpoint", "checkpoint_id"),
            ("bytes", "size"),
            ("type", "content_type"),
            ("time", "created_at"),
        ],
        fmt,
    )


@app.command("output")
def output(
    instance_id: str = typer.Argument(..., help="Instance id."),
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Print how an instance ended: its output, or its error.

    Exit status: 0 completed (the output on stdout), 1 failed (the error on stderr) or
    not ended yet, 3 suspended or cancelled.
    """
    with connect(url, tenant, api_key) as client:
        result = client.get_output(instance_id)
    status = result["status"]
    if fmt == OutputFormat.json:
        print_json(result)
    elif status == "completed" and isinstance(result["output"], bytes):
        sys.stdout.buffer.write(result["output"])  # bytes out, exactly as the instance gave them
        sys.stdout.flush()
    elif status == "completed":
        stdout.print(as_json(result["output"], indent=2))
    else:
        error = result.get("error")
        detail = "" if error is None else f": {as_json(error)}"
        ended = status in ("failed", "cancelled")
        stderr.print(f"{instance_id} is {status}{detail}" + ("" if ended else ": no output yet"))
    if status in ("suspended", "cancelled"):
        raise typer.Exit(Exit.STOPPED)
    if status != "completed":
        raise typer.Exit(Exit.FAILED)
