"""Starting instances of images, and what their processes printed and used."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.management import InstanceOut, iso
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredJson
from runtara.runtime.store import images, instances, logs, scheduling

router = APIRouter(prefix="/v1/instances", tags=["instances"])

InstanceId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


def _nudge(request: Request) -> None:
    """Let this server's scheduler look for the new work at once, not at its next poll."""
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.nudge()


class StartIn(BaseModel):
    image: str = Field(
        min_length=1,
        max_length=300,
        pattern=r"^[^\x00]+$",
        description="image id, NAME or NAME:VERSION",
    )
    input: StoredJson = Field(None, description="the instance input (any JSON)")
    id: str | None = Field(
        None, min_length=1, max_length=200, pattern=ID_PATTERN, description="instance id"
    )
    max_attempts: int = Field(3, ge=1, le=100, description="crashed launches before it fails")


class LogLineOut(BaseModel):
    seq: int
    stream: str
    line: str
    created_at: str | None


class LogPage(BaseModel):
    lines: list[LogLineOut]
    next_after: int = Field(description="pass as `after` to read the following lines")
    status: str = Field(description="the instance status when these lines were read")
    ended: bool = Field(
        description="true: the instance has ended and its process is gone; no more lines come"
    )


class ProcessOut(BaseModel):
    runner: str | None
    server: str | None = Field(description="the server holding its lease (running it)")
    host: str | None
    ref: str | None = Field(description="the runner's handle: pid and files, or container id")
    launched_at: str | None
    crash_count: int
    active_seconds: float
    peak_memory_bytes: int | None
    cpu_time_ms: int | None
    limits: dict[str, Any] | None = Field(description="the limits actually applied")


@router.post("", response_model=InstanceOut, status_code=201)
async def start_instance(request: Request, who: Authenticated, body: StartIn) -> InstanceOut:
    """Create a ``pending`` instance of an image; a scheduler launches it right away."""
    store = store_of(request)
    image = await store.arun(images.resolve_image, who.tenant_id, body.image)
    created = await store.arun(
        instances.create_instance,
        who.tenant_id,
        body.id,
        input=body.input,
        image_id=image.id,
        runner=image.runner,
        max_attempts=body.max_attempts,
    )
    _nudge(request)
    return InstanceOut.of(created.instance)


@router.get("/{instance_id}/logs", response_model=LogPage)
async def read_logs(
    request: Request,
    who: Authenticated,
    instance_id: InstanceId,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    stream: Annotated[str | None, Query(pattern="^(stdout|stderr)$")] = None,
) -> LogPage:
    """Output lines after ``after``, oldest first (poll with ``next_after`` to follow)."""
    store = store_of(request)
    instance = await store.arun(instances.get_instance, who.tenant_id, instance_id)
    process = await store.arun(scheduling.process_info, who.tenant_id, instance_id)
    found = await store.arun(
        logs.list_logs, who.tenant_id, instance_id, after=after, limit=limit, stream=stream
    )
    return LogPage(
        lines=[
            LogLineOut(seq=x.seq, stream=x.stream, line=x.line, created_at=iso(x.created_at))
            for x in found
        ],
        next_after=found[-1].seq if found else after,
        status=instance.status,
        ended=instances.is_terminal(instance.status) and process.lease_owner is None,
    )


@router.get("/{instance_id}/process", response_model=ProcessOut)
async def process_info(request: Request, who: Authenticated, instance_id: InstanceId) -> ProcessOut:
    """How the instance runs: runner, server, process, peak memory, CPU time, limits."""
    info = await store_of(request).arun(scheduling.process_info, who.tenant_id, instance_id)
    return ProcessOut(
        runner=info.runner,
        server=info.lease_owner,
        host=info.process_host,
        ref=info.process_ref,
        launched_at=iso(info.launched_at),
        crash_count=info.crash_count,
        active_seconds=info.active_ms / 1000,
        peak_memory_bytes=info.peak_memory_bytes,
        cpu_time_ms=info.cpu_time_ms,
        limits=info.limits,
    )
