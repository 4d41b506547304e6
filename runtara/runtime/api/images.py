"""Images API: register, list, get and delete what instances of a tenant run."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, model_validator
from starlette.responses import Response

from runtara.runtime.api import image_policy
from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredObject
from runtara.runtime.runners.resources import MAX_TIMEOUT_S
from runtara.runtime.scheduler import registration
from runtara.runtime.store import connections, images

router = APIRouter(prefix="/v1/images", tags=["images"])

ImageRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        pattern=r"^[^\x00]+$",
        description="image id, NAME or NAME:VERSION",
    ),
]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
#: Text the store keeps (PostgreSQL text holds no NUL character).
TEXT = r"^[^\x00]*$"


class ImageIn(BaseModel):
    """Exactly one of ``command``, ``workflow`` and ``oci``."""

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    command: (
        Annotated[str, Field(pattern=TEXT)] | list[Annotated[str, Field(pattern=TEXT)]] | None
    ) = Field(None, description='program and arguments: "python3 job.py --fast" or a list')
    workflow: StoredObject | None = Field(None, description="a JSON workflow document")
    oci: str | None = Field(
        None,
        max_length=4096,
        pattern=TEXT,
        description="an image archive path on the server, or an image reference",
    )
    runner: str | None = Field(
        None, pattern="^(process|docker)$", description="process or docker (default: by kind)"
    )
    base_image: str | None = Field(
        None,
        max_length=1000,
        pattern=TEXT,
        description="container image a command runs in (docker runner)",
    )
    workdir: str | None = Field(
        None, max_length=4096, pattern=TEXT, description="working directory"
    )
    memory: str | None = Field(
        None, max_length=32, pattern=TEXT, description="memory limit, e.g. 256M"
    )
    cpus: float | None = Field(None, gt=0, le=1024, description="CPU share, e.g. 0.5")
    timeout: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT_S, description="seconds an instance may run (at most a year)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ImageIn:
        given = [k for k in ("command", "workflow", "oci") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of command, workflow and oci"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ImageOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    version: int
    kind: str
    runner: str
    reference: str
    digest: str | None
    command: list[str] | None
    base_image: str | None
    limits: dict[str, Any]
    created_at: str

    @classmethod
    def of(cls, image: images.Image) -> ImageOut:
        meta = image.metadata
        return cls(
            id=image.id,
            tenant_id=image.tenant_id,
            name=image.name,
            version=image.version,
            kind=str(meta.get("kind")),
            runner=image.runner,
            reference=image.reference,
            digest=image.digest,
            command=meta.get("argv"),
            base_image=meta.get("base_image"),
            limits=meta.get("limits") or {},
            created_at=iso(image.created_at),
        )


class ImageList(BaseModel):
    images: list[ImageOut]
    limit: int
    offset: int


def _registration(
    body: ImageIn, *, archives: bool, auth: dict[str, str] | None = None
) -> registration.Registration:
    """``archives``: ``oci`` may name an archive on the server's disk (admin only);
    ``auth``: the tenant's login for the registry an ``oci`` reference names."""
    limits = registration.limits_of(body.memory, body.cpus, body.timeout)
    if body.command is not None:
        return registration.command_image(
            body.command,
            limits,
            runner=body.runner,
            base_image=body.base_image,
            workdir=body.workdir,
        )
    if body.workflow is not None:
        return registration.workflow_image(body.workflow, limits, name=body.name)
    assert body.oci is not None
    return registration.oci_image(body.oci, limits, archives=archives, auth=auth)


@router.post("", response_model=ImageOut, status_code=201)
async def register_image(request: Request, who: Authenticated, body: ImageIn) -> ImageOut:
    """Register the next version of ``name``; what it runs is checked now."""
    image_policy.check(body, admin=who.admin)
    auth = None
    if body.oci is not None and (registry := _registry_of(body.oci)) is not None:
        store = store_of(request)
        auth = await store.arun(connections.registry_login, store.secrets, who.tenant_id, registry)
    found = await asyncio.to_thread(_registration, body, archives=who.admin, auth=auth)
    image = await store_of(request).arun(
        images.create_image,
        who.tenant_id,
        body.name,
        found.runner,
        found.reference,
        digest=found.digest,
        metadata=found.metadata,
    )
    return ImageOut.of(image)


def _registry_of(oci: str) -> str | None:
    """The registry host an image reference names (None for what is not a reference,
    such as an archive path)."""
    from runtara.compiler.oci.reference import InvalidReference, parse_reference

    try:
        return parse_reference(oci).registry
    except InvalidReference:
        return None


@router.get("", response_model=ImageList)
async def list_images(
    request: Request,
    who: Authenticated,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ImageList:
    """Images of the tenant, newest first."""
    found = await store_of(request).arun(
        images.list_images, who.tenant_id, name=name, limit=limit, offset=offset
    )
    return ImageList(images=[ImageOut.of(i) for i in found], limit=limit, offset=offset)


@router.get("/{ref}", response_model=ImageOut)
async def get_image(request: Request, who: Authenticated, ref: ImageRef) -> ImageOut:
    return ImageOut.of(await store_of(request).arun(images.resolve_image, who.tenant_id, ref))


@router.delete("/{ref}", status_code=204, response_class=Response)
async def delete_image(request: Request, who: Authenticated, ref: ImageRef) -> Response:
    """Remove an image; 409 while one of its instances has not ended."""
    await store_of(request).arun(images.delete_image, who.tenant_id, ref)
    return Response(status_code=204)
