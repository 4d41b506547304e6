"""``runtara instances start``, ``logs`` and ``process``: launching and watching processes."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from runtara.cli._common import Format, OutputFormat, json_option
from runtara.cli.instances import _show_instance
from runtara.cli.remote import ApiKey, Tenant, Url, connect
from runtara.sdk.terminal import terminal_safe


def register(app: typer.Typer) -> None:
    """Add ``start``, ``logs`` and ``process`` to the ``instances`` group."""
    app.command("start")(start)
    app.command("logs")(logs)
    app.command("process")(process)


def _input(text: str) -> Any:
    """JSON text, or @FILE holding JSON."""
    return json_option(text, "--input")


def start(
    image: Annotated[str, typer.Argument(help="Image id, NAME (latest) or NAME:VERSION.")],
    input: Annotated[
        str, typer.Option("--input", "-i", help="Instance input: JSON text, or @FILE.")
    ] = "{}",
    instance_id: Annotated[
        str | None, typer.Option("--id", help="Instance id (default: a new UUID).")
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, max=100, help="Crashed launches before it fails."),
    ] = None,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Start an instance of an image; the runtime launches and supervises it."""
    document = _input(input)
    with connect(url, tenant, api_key) as client:
        created = client.start_instance(
            image, document, instance_id=instance_id, max_attempts=max_attempts
        )
    _show_instance(created, fmt)


def logs(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing until the instance has ended.")
    ] = False,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Print what the instance's process wrote to stdout and stderr."""
    with connect(url, tenant, api_key) as client:
        lines = client.follow_logs(instance_id) if follow else iter(_all_lines(client, instance_id))
        for line in lines:
            if fmt == OutputFormat.json:  # one object per line (JSON Lines), also when following
                typer.echo(json.dumps(line, ensure_ascii=False))
            else:  # each line on the stream it was written to, safe for a terminal
                typer.echo(terminal_safe(line["line"]), err=line["stream"] == "stderr")


def _all_lines(client: Any, instance_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.read_logs(instance_id, after=after)
        found.extend(page["lines"])
        if not page["lines"]:
            return found
        after = page["next_after"]


def process(
    instance_id: Annotated[str, typer.Argument(help="Instance id.")],
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show how the instance runs: runner, server, peak memory, CPU time, applied limits."""
    with connect(url, tenant, api_key) as client:
        info = client.process_info(instance_id)
    if fmt == OutputFormat.json:
        typer.echo(json.dumps(info, indent=2))
        return
    peak = info.get("peak_memory_bytes")
    rows = {
        "runner": info.get("runner"),
        "server": info.get("server") or "(none: no process now)",
        "launched at": info.get("launched_at"),
        "crashes": info.get("crash_count"),
        "active": f"{info.get('active_seconds', 0):.1f} s",
        "peak memory": None if peak is None else f"{peak / 2**20:.1f} MiB",
        "cpu time": None if info.get("cpu_time_ms") is None else f"{info['cpu_time_ms']} ms",
    }
    for name, value in rows.items():
        if value is not None:
            typer.echo(f"{name}: {value}")
    limits = info.get("limits") or {}
    if limits:
        typer.echo("limits: " + ", ".join(f"{k}={v}" for k, v in limits.items()))
