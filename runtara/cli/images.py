"""``runtara images``: register and manage images (what instances run)."""

from __future__ import annotations

import json
import os
from pathlib import Path
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

ImageRef = Annotated[str, typer.Argument(help="Image id, NAME (latest version) or NAME:VERSION.")]


def _show(image: dict[str, Any], fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        print_json(image)
        return
    stdout.print(f"{image['name']}:{image['version']}  id {image['id']}")
    stdout.print(f"kind: {image['kind']}  runner: {image['runner']}")
    stdout.print(f"runs: {image['reference']}")
    if image.get("base_image"):
        stdout.print(f"base image: {image['base_image']}")
    limits = {k: v for k, v in (image.get("limits") or {}).items() if v is not None}
    if limits:
        stdout.print("limits: " + ", ".join(f"{k}={v}" for k, v in limits.items()))


def _workflow(path: Path) -> dict[str, Any]:
    """The workflow document, validated here first: every problem is reported as
    ``runtara validate`` words and locates it (``file:line:col: CODE message``)."""
    from runtara.dsl.validation import validate

    result = validate(path)
    if not result.ok:
        for diagnostic in result.errors:
            stderr.print(diagnostic.format(str(path)), markup=False, highlight=False)
        count = len(result.errors)
        fail(
            f"--workflow {path}: {count} error(s); nothing registered",
            Exit.FAILED if result.readable else Exit.USAGE,
        )
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="Image name; registering it again adds a version.")],
    tenant: Tenant = None,
    command: Annotated[
        str | None, typer.Option("--command", help='Program and arguments, e.g. "python3 job.py".')
    ] = None,
    workflow: Annotated[
        Path | None, typer.Option("--workflow", help="A JSON workflow file.")
    ] = None,
    oci: Annotated[
        str | None,
        typer.Option("--oci", help="An OCI image archive (path on the server) or image reference."),
    ] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit, e.g. 256M.")] = None,
    cpus: Annotated[float | None, typer.Option("--cpus", help="CPU share, e.g. 0.5.")] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds an instance may run.")
    ] = None,
    runner: Annotated[
        str | None, typer.Option("--runner", help="process or docker (default: by kind).")
    ] = None,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", help="Container image a --command runs in (docker runner)."),
    ] = None,
    url: Url = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Register an image: a command, a JSON workflow, or an OCI image."""
    given = [
        flag for flag, v in (("--command", command), ("--workflow", workflow), ("--oci", oci)) if v
    ]
    if len(given) != 1:
        fail("give exactly one of --command, --workflow and --oci", 2)
    if oci and Path(oci).is_file():
        oci = str(Path(oci).resolve())  # the server reads it (same machine)
    with connect(url, tenant, api_key) as client:
        image = client.register_image(
            name,
            command=command,
            workflow=None if workflow is None else _workflow(workflow),
            oci=oci,
            memory=memory,
            cpus=cpus,
            timeout=timeout,
            runner=runner,
            base_image=base_image,
            # a command's relative paths mean what they mean here
            workdir=os.getcwd() if command and not base_image else None,
        )
    _show(image, fmt)


@app.command("list")
def list_images(
    name: Annotated[str | None, typer.Option("--name", help="Only versions of this name.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """List images, newest first."""
    with connect(url, tenant, api_key) as client:
        found = client.list_images(name=name, limit=limit, offset=offset)
    print_rows(
        found,
        ["name", "version", "kind", "runner", "id", ("created", "created_at")],
        fmt,
    )


@app.command("get")
def get(
    ref: ImageRef,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Show an image."""
    with connect(url, tenant, api_key) as client:
        _show(client.get_image(ref), fmt)


@app.command("delete")
def delete(
    ref: ImageRef,
    url: Url = None,
    tenant: Tenant = None,
    api_key: ApiKey = None,
    fmt: Format = OutputFormat.text,
) -> None:
    """Delete an image (refused while an instance of it has not ended)."""
    with connect(url, tenant, api_key) as client:
        image = client.get_image(ref)
        client.delete_image(image["id"])
    print_done(
        {"deleted": image["id"], "name": image["name"], "version": image["version"]},
        fmt,
        f"deleted {image['name']}:{image['version']}",
    )
