"""``/v1/schedules``: cron and interval schedules of a tenant (the management API key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredJson
from runtara.runtime.errors import Conflict, InvalidInput
from runtara.runtime.store.database import now_ms
from runtara.runtime.triggers import schedules
from runtara.runtime.triggers.firing import Catchup, Overlap
from runtara.runtime.triggers.timing import (
    Timing,
    format_duration,
    parse_duration,
    parse_instant,
    to_datetime,
    zone,
)

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ScheduleName = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]
#: How many upcoming fires ``GET /v1/schedules/{name}`` shows.
UPCOMING = 5


def _nudge(request: Request) -> None:
    """Let this server fire the new work at once (its ticker, then its scheduler)."""
    for name in ("ticker", "scheduler"):
        loop = getattr(request.app.state, name, None)
        if loop is not None:
            loop.nudge()


class ScheduleIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    image: str = Field(
        min_length=1, max_length=300, pattern=NO_NUL, description="image id, NAME or NAME:VERSION"
    )
    cron: str | None = Field(
        None, min_length=1, max_length=200, pattern=NO_NUL, description="5 fields or @daily etc."
    )
    timezone: str | None = Field(
        None, min_length=1, max_length=100, pattern=NO_NUL, description="IANA zone of cron"
    )
    every: str | None = Field(
        None, min_length=1, max_length=50, pattern=NO_NUL, description="e.g. 30s, 15m, 1h30m"
    )
    input: StoredJson = Field(None, description="the input of every instance it starts")
    overlap: Overlap = Field(Overlap.skip, description="while the previous instance runs")
    catchup: Catchup = Field(Catchup.latest, description="fires missed while no server ran")
    start: str | None = Field(
        None, max_length=64, pattern=NO_NUL, description="ISO 8601; no fire before"
    )
    end: str | None = Field(
        None, max_length=64, pattern=NO_NUL, description="ISO 8601; no fire after"
    )

    def timing(self) -> Timing:
        if (self.cron is None) == (self.every is None):
            raise InvalidInput("give exactly one of cron and every")
        if self.every is not None and self.timezone is not None:
            raise InvalidInput("timezone: applies to cron schedules only (every counts real time)")
        tz_name = self.timezone or "UTC"
        tz = zone(tz_name)
        return Timing(
            cron=self.cron,
            timezone=tz_name,
            every_ms=None if self.every is None else parse_duration(self.every),
            start_ms=None if self.start is None else parse_instant(self.start, "start", tz),
            end_ms=None if self.end is None else parse_instant(self.end, "end", tz),
        )


class ScheduleOut(BaseModel):
    name: str
    image: str
    cron: str | None
    timezone: str
    every: str | None
    description: str = Field(description="when it fires, in words")
    input: Any
    overlap: str
    catchup: str
    start: str | None
    end: str | None
    state: str = Field(description="active, paused or ended")
    next_fire_at: str | None
    next_fires: list[str] = Field(description="the next fire times (UTC)")
    next_fires_local: list[str] = Field(description="the same in the schedule's time zone")
    buffered_at: str | None = Field(description="a fire waiting for the previous instance")
    last_fire_at: str | None
    last_instance_id: str | None
    last_error: str | None
    fires: int = Field(description="instances started")
    skipped: int = Field(description="fires not started (overlap, or missed and not caught up)")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, s: schedules.Schedule, *, upcoming: int = 1, now: int | None = None) -> ScheduleOut:
        timing = s.timing
        if s.paused:  # what would fire once resumed
            fires = timing.upcoming(now if now is not None else now_ms(), upcoming)
        elif s.next_fire_at is None:
            fires = []
        else:
            fires = [s.next_fire_at, *timing.upcoming(s.next_fire_at, upcoming - 1)]
        tz = timing.tz
        return cls(
            name=s.name,
            image=s.image,
            cron=s.cron,
            timezone=s.timezone,
            every=None if s.every_ms is None else format_duration(s.every_ms),
            description=timing.describe(),
            input=s.input,
            overlap=s.overlap,
            catchup=s.catchup,
            start=iso(s.start_at),
            end=iso(s.end_at),
            state=s.state,
            next_fire_at=iso(s.next_fire_at),
            next_fires=[iso(f) or "" for f in fires],
            next_fires_local=[to_datetime(f, tz).isoformat(timespec="seconds") for f in fires],
            buffered_at=iso(s.buffered_at),
            last_fire_at=iso(s.last_fire_at),
            last_instance_id=s.last_instance_id,
            last_error=s.last_error,
            fires=s.fires,
            skipped=s.skipped,
            created_at=iso(s.created_at),
            updated_at=iso(s.updated_at),
        )


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]
    limit: int
    offset: int


class FireOut(BaseModel):
    schedule: str
    scheduled_at: str | None = Field(description="the nominal time of this fire")
    outcome: str = Field(description="started or buffered")
    instance_id: str | None


@router.post("", response_model=ScheduleOut, status_code=201)
async def create_schedule(request: Request, who: Authenticated, body: ScheduleIn) -> ScheduleOut:
    """A schedule that starts an instance of ``image`` at each fire (one per fire)."""
    now = now_ms()
    created = await store_of(request).arun(
        schedules.create_schedule,
        who.tenant_id,
        body.name,
        body.image,
        body.timing(),
        now=now,
        input=body.input,
        overlap=body.overlap,
        catchup=body.catchup,
    )
    _nudge(request)
    return ScheduleOut.of(created, upcoming=UPCOMING, now=now)


@router.get("", response_model=ScheduleList)
async def list_schedules(
    request: Request,
    who: Authenticated,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ScheduleList:
    """The tenant's schedules, by name, each with its next fire."""
    found = await store_of(request).arun(
        schedules.list_schedules, who.tenant_id, limit=limit, offset=offset
    )
    now = now_ms()
    return ScheduleList(
        schedules=[ScheduleOut.of(s, now=now) for s in found], limit=limit, offset=offset
    )


@router.get("/{name}", response_model=ScheduleOut)
async def get_schedule(request: Request, who: Authenticated, name: ScheduleName) -> ScheduleOut:
    """A schedule with its next 5 fire times."""
    found = await store_of(request).arun(schedules.get_schedule, who.tenant_id, name)
    return ScheduleOut.of(found, upcoming=UPCOMING)


@router.post("/{name}/pause", response_model=ScheduleOut)
async def pause_schedule(request: Request, who: Authenticated, name: ScheduleName) -> ScheduleOut:
    """No fire starts while paused; a running instance goes on."""
    now = now_ms()
    paused = await store_of(request).arun(schedules.pause_schedule, who.tenant_id, name, now=now)
    return ScheduleOut.of(paused, upcoming=UPCOMING, now=now)


@router.post("/{name}/resume", response_model=ScheduleOut)
async def resume_schedule(request: Request, who: Authenticated, name: ScheduleName) -> ScheduleOut:
    """Fire again from the next fire time; fires due while paused do not start."""
    now = now_ms()
    resumed = await store_of(request).arun(schedules.resume_schedule, who.tenant_id, name, now=now)
    _nudge(request)
    return ScheduleOut.of(resumed, upcoming=UPCOMING, now=now)


@router.post(
    "/{name}/trigger",
    response_model=FireOut,
    status_code=201,
    responses={202: {"model": FireOut, "description": "buffered (--overlap buffer-one)"}},
)
async def trigger_schedule(request: Request, who: Authenticated, name: ScheduleName) -> Any:
    """Fire now (also while paused), under the schedule's overlap policy: 201 started,
    202 buffered until the previous instance ends, 409 skipped."""
    fire = await store_of(request).arun(
        schedules.trigger_schedule, who.tenant_id, name, now=now_ms()
    )
    if fire.outcome == "skipped":
        raise Conflict(
            f"schedule {name!r} did not start an instance: its previous instance is still "
            "running (overlap skip; a fire is already buffered with buffer-one)"
        )
    if fire.outcome == "failed":
        raise Conflict(f"schedule {name!r} could not start an instance: {fire.error}")
    _nudge(request)
    out = FireOut(
        schedule=fire.schedule,
        scheduled_at=iso(fire.scheduled_at),
        outcome=fire.outcome,
        instance_id=fire.instance_id,
    )
    return JSONResponse(out.model_dump(), status_code=201 if fire.outcome == "started" else 202)


@router.delete("/{name}", response_model=ScheduleOut)
async def delete_schedule(request: Request, who: Authenticated, name: ScheduleName) -> ScheduleOut:
    """Remove the schedule; the instances it started stay."""
    deleted = await store_of(request).arun(schedules.delete_schedule, who.tenant_id, name)
    return ScheduleOut.of(deleted)
