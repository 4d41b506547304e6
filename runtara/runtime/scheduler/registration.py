"""Registering an image: check what it runs now, so a start later does not fail on it.

A command is split like a shell would; a workflow is validated and its Python module
generated (and kept with the image, so every server runs the same code); an OCI
archive is loaded into the Docker engine, a reference looked up there.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import InvalidInput
from runtara.runtime.runners import tiers
from runtara.runtime.runners.base import LaunchError
from runtara.runtime.runners.resources import InvalidLimit, Limits

RUNNERS = ("process", "docker")


@dataclass(frozen=True)
class Registration:
    """What the store keeps of a new image: runner, reference, digest, metadata."""

    runner: str
    reference: str
    digest: str | None
    metadata: dict[str, Any]


def limits_of(memory: str | None, cpus: float | None, timeout: float | None) -> Limits:
    try:
        return Limits.from_options(memory, cpus, timeout)
    except InvalidLimit as exc:
        raise InvalidInput(str(exc)) from None


def command_image(
    command: str | list[str],
    limits: Limits,
    *,
    runner: str | None,
    base_image: str | None,
    workdir: str | None,
) -> Registration:
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except ValueError as exc:
        raise InvalidInput(f"command {command!r}: {exc}") from None
    if not argv or not argv[0]:
        raise InvalidInput("command is empty: give the program to run and its arguments")
    if any("\0" in arg for arg in argv):
        raise InvalidInput("command: an argument holds a NUL character")
    runner = runner or ("docker" if base_image else "process")
    if runner not in RUNNERS:
        raise InvalidInput(f"runner {runner!r}: expected one of {', '.join(RUNNERS)}")
    if runner == "docker" and not base_image:
        raise InvalidInput("a command run by the docker runner needs base_image (--base-image)")
    metadata = {
        "kind": "command",
        "argv": argv,
        "limits": limits.to_dict(),
        "workdir": workdir,
        "base_image": base_image,
    }
    return Registration(runner, shlex.join(argv), None, metadata)


def _tiered(limits: Limits, tier: str) -> Limits:
    try:
        return tiers.within_tier(limits, tier)
    except tiers.TierError as exc:
        raise InvalidInput(str(exc), field="memory") from None


def workflow_image(document: Any, limits: Limits, *, name: str) -> Registration:
    """Validate the workflow and generate its module (the compiler runs here, once)."""
    from runtara.compiler.codegen import CodegenError, generate

    if not isinstance(document, dict):
        raise InvalidInput("workflow must be a JSON object (the workflow document)")
    from runtara.dsl.validation import validate_text

    filename = f"{name}.json"
    result = validate_text(json.dumps(document, indent=2), filename)
    if not result.ok or result.workflow is None:
        problems = "; ".join(d.format(filename) for d in result.errors)
        raise InvalidInput(f"workflow of image {name}: {len(result.errors)} error(s): {problems}")
    try:
        module = generate(result.workflow, source=f"image {name}")
    except CodegenError as exc:
        raise InvalidInput(f"workflow of image {name} cannot be generated: {exc}") from None
    limits = _tiered(limits, result.workflow.memory_tier)
    metadata = {
        "kind": "workflow",
        "workflow": document,
        "module": module,
        "limits": limits.to_dict(),
    }
    return Registration("process", f"workflow:{name}", None, metadata)


def oci_image(
    source: str,
    limits: Limits,
    *,
    archives: bool = True,
    auth: dict[str, str] | None = None,
) -> Registration:
    """Load or find the image on the Docker engine (blocking: call from a thread).

    ``archives`` False: ``source`` is only ever an image reference, never a file read.
    ``auth``: the registry login for pulling it (the tenant's ``oci_registry`` connection)."""
    from runtara.compiler.oci.workflow_image import LABEL_MEMORY_TIER
    from runtara.runtime.runners.docker import resolve_oci

    try:
        reference, image_id, labels = resolve_oci(source, archives=archives, auth=auth)
    except LaunchError as exc:
        raise InvalidInput(str(exc)) from None
    tier = labels.get(LABEL_MEMORY_TIER)
    if tier is not None:
        limits = _tiered(limits, tier)
    metadata = {"kind": "oci", "source": source, "limits": limits.to_dict()}
    return Registration("docker", reference, image_id, metadata)
