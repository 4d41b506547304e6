"""Who may register which image: the rule that keeps tenant code off the server's machine.

* The **admin key** (and anyone on a ``--dev`` server, which is a single-user local
  server) may register every kind, including a command run by the ``process`` runner:
  that command runs on the server's machine as the server's user.
* A **tenant key** may register only what does not run a program of its choosing on
  the host:

  - a ``workflow`` document: the server validates it and generates the code itself;
  - an ``oci`` image *reference* (run by the docker runner, in a locked-down container);
  - a ``command`` run in a container (``base_image``, docker runner).

  Every other combination is refused with 403 and a problem body whose ``field`` names
  the field that asked for more: a command for the process runner, a ``runner`` the
  kind does not use, an ``oci`` archive path (a file on the server's disk), a
  ``base_image`` or ``workdir`` the kind ignores.

A field the kind ignores is refused for everyone (422 for the admin): silently
ignoring ``base_image`` under the process runner is how a "container" once ran on
the host.
"""

from __future__ import annotations

import re
from typing import Protocol

from runtara.compiler.oci.reference import InvalidReference, parse_reference
from runtara.runtime.errors import Forbidden, InvalidInput

#: A registry as a reference names it: a host name or address, maybe a port.
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)

#: The runner each kind runs under; a command picks its own (docker with a base image).
KIND_RUNNER = {"workflow": "process", "oci": "docker"}


class ImageFields(Protocol):
    """The request fields the rule looks at (``ImageIn`` in images.py)."""

    @property
    def command(self) -> object: ...
    @property
    def workflow(self) -> object: ...
    @property
    def oci(self) -> str | None: ...
    @property
    def runner(self) -> str | None: ...
    @property
    def base_image(self) -> str | None: ...
    @property
    def workdir(self) -> str | None: ...


def _kind(body: ImageFields) -> str:
    if body.command is not None:
        return "command"
    return "workflow" if body.workflow is not None else "oci"


def _meaningless(body: ImageFields, kind: str) -> tuple[str, str] | None:
    """A field the image's kind would ignore: (field, why)."""
    if kind in KIND_RUNNER:
        if body.runner is not None and body.runner != KIND_RUNNER[kind]:
            return "runner", f"a {kind} image runs under the {KIND_RUNNER[kind]} runner"
        for name in ("base_image", "workdir"):
            if getattr(body, name) is not None:
                return name, f"{name} applies to command images only"
        return None
    if body.runner == "process" and body.base_image is not None:
        return (
            "base_image",
            "the process runner runs the command on the server's machine and ignores "
            "base_image; use runner docker (or leave runner out) to run it in a container",
        )
    return None


def check(body: ImageFields, *, admin: bool) -> None:
    """Refuse ``body`` unless the caller may register it (see the module docstring)."""
    kind = _kind(body)
    ignored = _meaningless(body, kind)
    if ignored is not None:
        field, why = ignored
        error = InvalidInput if admin else Forbidden
        raise error(f"{field}: {why}", field=field)
    if admin:
        return
    if kind == "command":
        runner = body.runner or ("docker" if body.base_image else "process")
        if runner == "process":
            field = "runner" if body.runner == "process" else "command"
            raise Forbidden(
                f"{field}: a command run by the process runner runs on the server's machine, "
                "which only the admin key (RUNTARA_ADMIN_KEY) may ask for; a tenant key may "
                "register a workflow, an OCI image reference, or a command in a container "
                "(base_image)",
                field=field,
            )
    if kind == "oci":
        assert body.oci is not None
        try:
            reference = parse_reference(body.oci)
            if not _HOST.match(reference.registry):
                raise InvalidReference(body.oci)
        except InvalidReference:
            raise Forbidden(
                "oci: a tenant key may register an image reference (such as "
                "registry.example:5000/team/job:1), not an archive path on the server's disk; "
                "push the archive to a registry (runtara push) or ask an admin",
                field="oci",
            ) from None
