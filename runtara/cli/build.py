"""Build commands: ``compile`` (native binary + OCI image) and ``push`` (to a registry)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from runtara.cli._common import FormatOption, OutputFormat, fail, print_json, stderr, stdout


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_)
    app.command("push")(push)


def compile_() -> None:
    """Compile a workflow to a native binary (Nuitka) packed in an OCI image."""
    fail("not implemented yet", 1)


def push(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="DIR|ARCHIVE",
            help="A `runtara compile` output directory, an OCI image archive or an OCI layout.",
        ),
    ],
    reference: Annotated[
        str,
        typer.Argument(
            metavar="REF", help="Where to push: registry/repository:tag (Docker reference syntax)."
        ),
    ],
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Registry user name.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure", help="Allow plain HTTP and unverified TLS (loopback always may)."
        ),
    ] = False,
    output_format: OutputFormat = FormatOption,
) -> None:
    """Push a compiled image to an OCI registry (credentials also from ~/.docker/config.json)."""
    from runtara.compiler.native.cache import cache_dir
    from runtara.compiler.oci.blob_index import BlobIndex
    from runtara.compiler.oci.credentials import Credentials
    from runtara.compiler.oci.reference import InvalidReference
    from runtara.compiler.registry import BlobPush, ImageFormatError, RegistryError, push_image

    if password_stdin and not username:
        fail("--password-stdin needs --username")
    if username and not password_stdin:
        fail("--username needs --password-stdin (passwords are never taken as arguments)")
    credentials = None
    if username:
        credentials = Credentials(username, sys.stdin.read().rstrip("\r\n"))

    def progress(blob: BlobPush) -> None:
        stderr.print(f"{blob.action:>8}  {blob.digest[:19]}  {_size(blob.size)}")

    try:
        result = push_image(
            source,
            reference,
            credentials=credentials,
            insecure=insecure,
            blob_index=BlobIndex(cache_dir() / "registry-blobs.json"),
            progress=progress,
        )
    except (ImageFormatError, InvalidReference, RegistryError) as exc:
        fail(str(exc))
    pushed = f"{result.reference}@{result.manifest_digest}"
    if output_format == OutputFormat.json:
        print_json(
            {
                "reference": str(result.reference),
                "digest": result.manifest_digest,
                "uploaded_bytes": result.uploaded_bytes,
                "blobs": [
                    {"digest": b.digest, "size": b.size, "action": b.action} for b in result.blobs
                ],
            }
        )
        return
    stdout.print(f"pushed {pushed} ({_size(result.uploaded_bytes)} uploaded)")


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"
