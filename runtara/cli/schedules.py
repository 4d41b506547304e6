"""``runtara schedules``: cron and interval schedules that start instances of an image."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from runtara.cli._common import (
    Format,
    Limit,
    Offset,
    OutputFormat,
    fail,
    json_option,
    print_done,
    print_json,
    print_rows,
    stdout,
)
from runtara.cli.exits import Exit
from runtara.cli.remote import ApiKey, Tenant, Url, connect
from runtara.runtime.triggers.firing import Catchup, Overlap

app = typer.Typer(no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="Schedule name.")]


def _show(schedule: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print_json(schedule)
        return
    stdout.print(f"{schedule['name']}  {schedule['state']}  {schedule['description']}")
    stdout.print(
        f"image: {schedule['image']}  overlap: {schedule['overlap']}"
        f"  catchup: {schedule['catchup']}"
    )
    for name in ("start", "end", "buffered_at", "last_fire_at", "last_instance_id", "last_error"):
        if schedule.get(name) is not None:
            stdout.print(f"{name}: {schedule[name]}")
    if schedule.get("input") is not None:
        stdout.print(f"input: {json.dumps(schedule['input'], ensure_ascii=False)}")
    stdout.print(f"fires: {schedule['fires']}  skipped: {schedule['skipped']}")
    if schedule["next_fires"]:
        stdout.print("next fires:")
        for utc, local in zip(schedule["next_fires"], schedule["next_fires_local"], strict=True):
            stdout.print(f"  {utc}  ({local})")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Schedule name (letters, digits, . _ -).")],
    image: Annotated[str, typer.Option("--image", help="Image id, NAME (latest) or NAME:VERSION.")],
    cron: Annotated[
        str | None,
        typer.Option("--cron", help='Cron expression, e.g. "30 2 * * 1-5" or @daily.'),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="IANA time zone of --cron (default UTC)."),
    ] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Interval, e.g. 30s, 15m, 1h30m, 1d.")
    ] = None,
    input: Annotated[
        str, typer.Option("--input", "-i", help="Input of each instance: JSON text, or @FILE.")
    ] = "{}",
    overlap: Annotated[
        Overlap,
        typer.Option("--overlap", help="While the previous instance still runs."),
    ] = Overlap.skip,
    catchup: Annotated[
        Catchup,
        typer.Option("--catchup", help="Fires missed while no server ran."),
    ] = Catchup.latest,
    start: Annotated[
        str | None, typer.Option("--start", help="No fire before (ISO 8601 date-time).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="No fire after (ISO 8601 date-time).")
    ] = None,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Create a schedule: each fire starts one instance of the image."""
    if (cron is None) == (every is None):
        fail("give exactly one of --cron and --every", Exit.USAGE)
    if timezone is not None and cron is None:
        fail("--timezone applies to --cron only (--every counts real time)", Exit.USAGE)
    document = json_option(input, "--input")
    with connect(url, tenant, api_key) as client:
        created = client.create_schedule(
            name,
            image,
            cron=cron,
            timezone=timezone,
            every=every,
            input=document,
            overlap=overlap.value,
            catchup=catchup.value,
            start=start,
            end=end,
        )
    _show(created, fmt)


@app.command("list")
def list_schedules(
    limit: Limit = 100,
    offset: Offset = 0,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List schedules by name, with their next fire."""
    with connect(url, tenant, api_key) as client:
        found = client.list_schedules(limit=limit, offset=offset)
    print_rows(
        found,
        [
            "name",
            "state",
            ("when", "description"),
            "image",
            ("next fire", "next_fire_at"),
            ("last instance", "last_instance_id"),
        ],
        fmt,
    )


@app.command("get")
def get(
    name: Name,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show a schedule with its next 5 fire times."""
    with connect(url, tenant, api_key) as client:
        _show(client.get_schedule(name), fmt)


@app.command("pause")
def pause(
    name: Name,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Pause: no fire starts until resumed (a running instance goes on)."""
    with connect(url, tenant, api_key) as client:
        _show(client.pause_schedule(name), fmt)


@app.command("resume")
def resume(
    name: Name,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Resume from the next fire time (fires due while paused do not start)."""
    with connect(url, tenant, api_key) as client:
        _show(client.resume_schedule(name), fmt)


@app.command("trigger")
def trigger(
    name: Name,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Fire now (also while paused), under the schedule's --overlap."""
    with connect(url, tenant, api_key) as client:
        fire = client.trigger_schedule(name)
    if fmt == OutputFormat.json:
        print_json(fire)
    elif fire["outcome"] == "started":
        stdout.print(f"started {fire['instance_id']}")
    else:
        stdout.print(f"buffered: starts when the previous instance ends ({fire['scheduled_at']})")


@app.command("delete")
def delete(
    name: Name,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Delete a schedule; the instances it started stay."""
    with connect(url, tenant, api_key) as client:
        deleted = client.delete_schedule(name)
    print_done(deleted, fmt, f"deleted schedule {deleted['name']}")
