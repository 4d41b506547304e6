"""Management API: operators and products inspect and steer instances of their tenant.

Every path is tenant-scoped through the API key (see ``auth.py``); an instance of
another tenant is answered exactly like a missing one (404).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from runtara.runtime import tracing
from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.fastpath import is_json
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredJson, readable
from runtara.runtime.status import Status
from runtara.runtime.store import checkpoints, events, instances, signals

router = APIRouter(prefix="/v1", tags=["management"])

InstanceId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
#: Checkpoint keys are as long as the instance protocol takes them.
CheckpointKey = Annotated[str, Path(min_length=1, max_length=1000, pattern=NO_NUL)]
#: Most items one page of a list answers (``limit``).
MAX_PAGE = 1000


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds -> ISO 8601 UTC (what the API shows people)."""
    if ms is None:
        return None
    moment = EPOCH + timedelta(milliseconds=ms)  # exact: no float rounding of the last ms
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InstanceSummary(BaseModel):
    """An instance in a list: everything but its input, output and error (which may be
    megabytes each; ``GET /v1/instances/{id}`` and ``.../output`` answer them)."""

    id: str
    tenant_id: str
    image_id: str | None
    status: str
    attempts: int
    max_attempts: int
    pending_signal: str | None
    last_checkpoint_id: str | None
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    wake_at: str | None
    schedule: str | None = Field(None, description="the schedule whose fire started it")
    scheduled_at: str | None = Field(None, description="the nominal time of that fire")
    hook: str | None = Field(None, description="the webhook whose delivery started it")

    @classmethod
    def of(cls, i: instances.Instance) -> InstanceSummary:
        return cls(**cls._fields(i))

    @staticmethod
    def _fields(i: instances.Instance) -> dict[str, Any]:
        return {
            "id": i.id,
            "tenant_id": i.tenant_id,
            "image_id": i.image_id,
            "status": i.status,
            "attempts": i.attempts,
            "max_attempts": i.max_attempts,
            "pending_signal": i.pending_signal,
            "last_checkpoint_id": i.last_checkpoint_id,
            "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at),
            "started_at": iso(i.started_at),
            "finished_at": iso(i.finished_at),
            "heartbeat_at": iso(i.heartbeat_at),
            "wake_at": iso(i.wake_at),
            "schedule": i.schedule,
            "scheduled_at": iso(i.scheduled_at),
            "hook": i.hook,
        }


class InstanceOut(InstanceSummary):
    """One instance, whole: its summary with its input, output and error."""

    input: Any
    output: Any
    error: Any

    @classmethod
    def of(cls, i: instances.Instance, *, values: bool = True) -> InstanceOut:
        """``values``: show input, output and error (a bad stored one is shown repaired)."""
        return cls(
            **cls._fields(i),
            input=readable(i.input) if values else None,
            output=readable(i.output) if values else None,
            error=readable(i.error) if values else None,
        )


class InstanceList(BaseModel):
    instances: list[InstanceSummary]
    limit: int
    offset: int


class OutputOut(BaseModel):
    id: str
    status: str
    output: Any
    error: Any


class CustomSignalIn(BaseModel):
    checkpoint_id: str = Field(
        min_length=1, max_length=1000, pattern=NO_NUL, description="step / checkpoint id it is for"
    )
    payload: StoredJson = None


class EventOut(BaseModel):
    seq: int
    event_type: str
    subtype: str | None
    payload: Any
    created_at: str | None


class EventList(BaseModel):
    events: list[EventOut]
    next_after: int = Field(description="pass as `after` to read the following page")


class CheckpointOut(BaseModel):
    seq: int
    checkpoint_id: str
    content_type: str
    size: int
    created_at: str | None


class CheckpointList(BaseModel):
    checkpoints: list[CheckpointOut]
    next_after: int


@router.get("/instances", response_model=InstanceList)
async def list_instances(
    request: Request,
    who: Authenticated,
    status: Status | None = None,
    image_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    schedule: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    hook: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")
    ] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> InstanceList:
    """Instances of the tenant, newest first, as summaries (no input, output or error:
    read those from ``GET /v1/instances/{instance_id}`` or ``.../output``)."""
    found = await store_of(request).arun(
        instances.list_instances,
        who.tenant_id,
        status=status,
        image_id=image_id,
        schedule=schedule,
        hook=hook,
        limit=limit,
        offset=offset,
        summary=True,
    )
    return InstanceList(
        instances=[InstanceSummary.of(i) for i in found], limit=limit, offset=offset
    )


@router.get("/instances/{instance_id}", response_model=InstanceOut)
async def get_instance(
    request: Request, who: Authenticated, instance_id: InstanceId
) -> InstanceOut:
    return InstanceOut.of(
        await store_of(request).arun(instances.get_instance, who.tenant_id, instance_id)
    )


@router.post("/instances/{instance_id}/pause", response_model=InstanceOut)
async def pause_instance(
    request: Request, who: Authenticated, instance_id: InstanceId
) -> InstanceOut:
    """A running instance stops at its next checkpoint (``suspended``); a sleeping one at once."""
    return InstanceOut.of(await store_of(request).arun(instances.pause, who.tenant_id, instance_id))


@router.post("/instances/{instance_id}/resume", response_model=InstanceOut)
async def resume_instance(
    request: Request, who: Authenticated, instance_id: InstanceId
) -> InstanceOut:
    """A suspended instance becomes due to run again from its checkpoints."""
    return InstanceOut.of(
        await store_of(request).arun(instances.resume, who.tenant_id, instance_id)
    )


@router.post("/instances/{instance_id}/cancel", response_model=InstanceOut)
async def cancel_instance(
    request: Request, who: Authenticated, instance_id: InstanceId
) -> InstanceOut:
    """A running instance ends at its next checkpoint; any other live one ends now."""
    cancelled = await store_of(request).arun(instances.cancel, who.tenant_id, instance_id)
    await tracing.instance_ended(request.app.state, who.tenant_id, instance_id)
    return InstanceOut.of(cancelled)


@router.post("/instances/{instance_id}/signals", status_code=202)
async def send_custom_signal(
    request: Request, who: Authenticated, instance_id: InstanceId, body: CustomSignalIn
) -> dict[str, str]:
    """Deliver a payload to the instance's checkpoint/step ``checkpoint_id`` (WaitForSignal)."""
    await store_of(request).arun(
        signals.send_custom_signal, who.tenant_id, instance_id, body.checkpoint_id, body.payload
    )
    return {"status": "accepted"}


@router.get("/instances/{instance_id}/events", response_model=EventList)
async def list_events(
    request: Request,
    who: Authenticated,
    instance_id: InstanceId,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    event_type: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    subtype: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> EventList:
    found = await store_of(request).arun(
        events.list_events,
        who.tenant_id,
        instance_id,
        after=after,
        limit=limit,
        event_type=event_type,
        subtype=subtype,
    )
    return EventList(
        events=[
            EventOut(
                seq=e.seq,
                event_type=e.event_type,
                subtype=e.subtype,
                payload=readable(e.payload),
                created_at=iso(e.created_at),
            )
            for e in found
        ],
        next_after=found[-1].seq if found else after,
    )


@router.get("/instances/{instance_id}/checkpoints", response_model=CheckpointList)
async def list_checkpoints(
    request: Request,
    who: Authenticated,
    instance_id: InstanceId,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CheckpointList:
    found = await store_of(request).arun(
        checkpoints.list_checkpoints, who.tenant_id, instance_id, after=after, limit=limit
    )
    return CheckpointList(
        checkpoints=[
            CheckpointOut(
                seq=c.seq,
                checkpoint_id=c.checkpoint_id,
                content_type=c.content_type,
                size=c.size,
                created_at=iso(c.created_at),
            )
            for c in found
        ],
        next_after=found[-1].seq if found else after,
    )


@router.get(
    "/instances/{instance_id}/checkpoints/{key:path}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {}, "application/octet-stream": {}},
            "description": "the stored state: JSON when it was saved as JSON, else bytes; "
            "`X-Runtara-Content-Type` is the type the instance gave",
        }
    },
)
async def read_checkpoint(
    request: Request, who: Authenticated, instance_id: InstanceId, key: CheckpointKey
) -> Response:
    """The stored state of one checkpoint: as JSON, or as ``application/octet-stream``
    (never with the type the instance chose: a state is data, not a page to render)."""
    state, content_type = await store_of(request).arun(
        checkpoints.read_checkpoint, who.tenant_id, instance_id, key
    )
    served = "application/json" if is_json(content_type) else "application/octet-stream"
    return Response(
        state,
        media_type=served,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "attachment",
            "X-Runtara-Content-Type": content_type,
        },
    )


@router.get("/instances/{instance_id}/output", response_model=OutputOut)
async def get_output(request: Request, who: Authenticated, instance_id: InstanceId) -> OutputOut:
    """How the instance ended (or ``null`` output while it runs)."""
    i = await store_of(request).arun(instances.get_instance, who.tenant_id, instance_id)
    return OutputOut(id=i.id, status=i.status, output=readable(i.output), error=readable(i.error))
