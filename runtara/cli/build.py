"""Build commands: ``compile`` (native binary + OCI image) and ``push`` (to a registry)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from runtara.cli._common import Format, OutputFormat, fail, print_json, stderr, stdout
from runtara.cli.exits import Exit
from runtara.cli.progress import Feedback, Quiet


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_)
    app.command("push")(push)


def compile_(
    file: Annotated[
        Path,
        typer.Argument(help="Workflow JSON file, or a Python program using runtara.sdk (.py)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output directory (default: build/<file name>)."),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", "-t", help="Image NAME:VERSION (default: <workflow name>:latest)."),
    ] = None,
    child: Annotated[
        list[Path] | None,
        typer.Option("--child", help="A child workflow file (or directory) for EmbedWorkflow."),
    ] = None,
    load: Annotated[
        bool, typer.Option("--load", help="Load the image into Docker afterwards.")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parallel C compiler jobs.")
    ] = None,
    quiet: Quiet = False,
    output_format: Format = OutputFormat.text,
) -> None:
    """Compile a workflow to a native binary (Nuitka) packed in an OCI image.

    A .py file is compiled as it is: a program written against runtara.sdk, the one
    `runtara images register --command` would run, packed in the same image layout.

    The runtime is compiled once per runtara version and cached (~/.cache/runtara,
    RUNTARA_CACHE_DIR); later workflows compile only their own module.
    """
    from runtara.compiler.native import MissingToolError, NativeBuildError, UnavailableImportError
    from runtara.compiler.native.workflow import CompileError, compile_workflow
    from runtara.compiler.oci.rootfs import RootfsError

    directory = output or Path("build") / file.stem
    try:
        with Feedback(quiet=quiet) as feedback:
            compiled = compile_workflow(
                file,
                directory,
                tag=tag,
                children=child or [],
                jobs=jobs,
                progress=feedback.build_event,
            )
    except CompileError as exc:
        for line in exc.lines:
            stderr.print(escape(line), highlight=False)
        fail(str(exc), Exit.USAGE if exc.unreadable else Exit.FAILED)
    except (MissingToolError, NativeBuildError, UnavailableImportError, RootfsError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or directory}: {exc.strerror}")
    if load:
        _load_into_docker(directory / compiled.image)
    if output_format == OutputFormat.json:
        print_json({"directory": str(directory), **compiled.to_json(), "loaded": load})
        return
    stdout.print(
        f"compiled {escape(compiled.tag)} -> {escape(str(directory))} "
        f"(binary {escape(compiled.binary)}, image {_size(compiled.image_size)} compressed, "
        f"{compiled.image_digest[:19]})"
    )
    if load:
        stdout.print(f"loaded {escape(compiled.tag)} into Docker")


def _load_into_docker(archive: Path) -> None:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        with archive.open("rb") as data:
            client.images.load(data)
    except DockerException as exc:
        fail(f"cannot load {archive} into Docker: {str(exc).splitlines()[0]}")


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
    quiet: Quiet = False,
    output_format: Format = OutputFormat.text,
) -> None:
    """Push a compiled image to an OCI registry (credentials also from ~/.docker/config.json)."""
    from runtara.compiler.native.cache import cache_dir
    from runtara.compiler.oci.blob_index import BlobIndex
    from runtara.compiler.oci.credentials import Credentials
    from runtara.compiler.oci.push import ImageFormatError, RegistryError, push_image
    from runtara.compiler.oci.reference import InvalidReference

    if password_stdin and not username:
        fail("--password-stdin needs --username", Exit.USAGE)
    if username and not password_stdin:
        fail(
            "--username needs --password-stdin (passwords are never taken as arguments)",
            Exit.USAGE,
        )
    credentials = None
    if username:
        credentials = Credentials(username, sys.stdin.read().rstrip("\r\n"))

    try:
        with Feedback(quiet=quiet) as feedback:
            result = push_image(
                source,
                reference,
                credentials=credentials,
                insecure=insecure,
                blob_index=BlobIndex(cache_dir() / "registry-blobs.json"),
                progress=lambda blob: feedback.uploaded(  # the whole digest: it is for copying
                    blob.digest[:19], f"{blob.action:>8}  {blob.digest}  {_size(blob.size)}"
                ),
                on_retry=lambda cause, wait: feedback.retry(
                    f"retrying in {wait:.1f} s: {cause}", wait
                ),
                on_upload=lambda digest, sent, total: feedback.upload(digest[:19], sent, total),
            )
    except (ImageFormatError, InvalidReference) as exc:  # not an image, not a reference
        fail(str(exc), Exit.USAGE)
    except RegistryError as exc:
        fail(str(exc), Exit.FAILED)
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
