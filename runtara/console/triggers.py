"""The console's schedules and webhooks pages (read-only): a schedule's next fires and
the instances it started, a hook's URL and its recent deliveries.

They call the same store operations as ``/v1/schedules`` and ``/v1/hooks``; a hook's
secret is never read here (only whether it has one).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from runtara.console import access
from runtara.console.app import _not_found, _page
from runtara.runtime.api.state import store_of
from runtara.runtime.errors import NotFound
from runtara.runtime.store import instances
from runtara.runtime.store.database import now_ms
from runtara.runtime.triggers import hooks, schedules
from runtara.runtime.triggers.timing import to_datetime

router = APIRouter(prefix="/ui", include_in_schema=False)
#: Upcoming fires shown for a schedule; recent instances and deliveries shown.
UPCOMING = 5
RECENT = 20


def _upcoming(schedule: schedules.Schedule) -> list[tuple[int, str]]:
    """(epoch ms, local time in the schedule's zone) of its next fires."""
    timing = schedule.timing
    if schedule.paused:
        fires = timing.upcoming(now_ms(), UPCOMING)
    elif schedule.next_fire_at is None:
        fires = []
    else:
        fires = [schedule.next_fire_at, *timing.upcoming(schedule.next_fire_at, UPCOMING - 1)]
    return [(f, to_datetime(f, timing.tz).isoformat(timespec="seconds")) for f in fires]


@router.get("/schedules")
async def schedule_list(request: Request) -> Response:
    viewer = await access.viewer(request)
    found = await store_of(request).arun(schedules.list_schedules, viewer.tenant_id, limit=500)
    return _page(request, viewer, "schedules.html", schedules=found)


@router.get("/schedules/{name}")
async def schedule_page(request: Request, name: str) -> Response:
    viewer = await access.viewer(request)
    store = store_of(request)
    try:
        schedule = await store.arun(schedules.get_schedule, viewer.tenant_id, name)
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    recent = await store.arun(
        instances.list_instances, viewer.tenant_id, schedule=schedule.name, limit=RECENT
    )
    return _page(
        request,
        viewer,
        "schedule.html",
        schedule=schedule,
        upcoming=_upcoming(schedule),
        recent=recent,
    )


@router.get("/hooks")
async def hook_list(request: Request) -> Response:
    viewer = await access.viewer(request)
    found = await store_of(request).arun(hooks.list_hooks, viewer.tenant_id, limit=500)
    return _page(request, viewer, "hooks.html", hooks=found, base=_base(request))


@router.get("/hooks/{ref}")
async def hook_page(request: Request, ref: str) -> Response:
    viewer = await access.viewer(request)
    store = store_of(request)
    try:
        hook = await store.arun(hooks.get_hook, viewer.tenant_id, ref)
        deliveries = await store.arun(
            hooks.list_deliveries, viewer.tenant_id, hook.id, limit=RECENT
        )
    except NotFound as exc:
        return _not_found(request, viewer, exc.detail)
    return _page(
        request, viewer, "hook.html", hook=hook, deliveries=deliveries, base=_base(request)
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
