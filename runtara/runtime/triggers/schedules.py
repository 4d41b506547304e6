"""Schedules in the store, and firing them: each fire starts exactly one instance.

A fire's instance id is ``<schedule>@<nominal fire time, UTC>``, so a fire retried after
a crash, or taken by a second server, can never start a second instance: the insert
finds the id taken. Firing is claimed like wake-ups: one transaction selects the due
schedules (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so servers sharing a database
take disjoint schedules), creates their ``pending`` instances and advances them; the
instance scheduler then launches those like any start. A crash before the commit
leaves the schedule due, and the next tick (on any server) takes the same fire.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.status import TERMINAL
from runtara.runtime.store import images, instances, tenants
from runtara.runtime.store.database import Row, Tx, read_op, write_op
from runtara.runtime.triggers.firing import Catchup, Overlap, apply_overlap, due_fires
from runtara.runtime.triggers.timing import Timing

_COLUMNS = (
    "s.tenant_id, s.name, s.image, s.cron, s.timezone, s.every_ms, s.input, s.overlap,"
    " s.catchup, s.start_at, s.end_at, s.paused, s.next_fire_at, s.buffered_at,"
    " s.last_fire_at, s.last_instance_id, s.last_error, s.fires, s.skipped, s.created_at,"
    " s.updated_at"
)
_FINISHED = sorted(status.value for status in TERMINAL)
#: The previous instance of a schedule still runs (parameters: the finished statuses).
_PREVIOUS_LIVE = (
    "EXISTS (SELECT 1 FROM instances i WHERE i.tenant_id = s.tenant_id"
    " AND i.id = s.last_instance_id"
    f" AND i.status NOT IN ({', '.join('?' for _ in _FINISHED)}))"
)
#: Due now (parameters: now, then the finished statuses).
_DUE = (
    f"s.paused = 0 AND (s.next_fire_at <= ? OR s.buffered_at IS NOT NULL AND NOT {_PREVIOUS_LIVE})"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Schedule:
    tenant_id: str
    name: str
    image: str
    cron: str | None
    timezone: str
    every_ms: int | None
    input: Any
    overlap: str
    catchup: str
    start_at: int | None
    end_at: int | None
    paused: bool
    next_fire_at: int | None
    buffered_at: int | None
    last_fire_at: int | None
    last_instance_id: str | None
    last_error: str | None
    fires: int
    skipped: int
    created_at: int
    updated_at: int

    @property
    def timing(self) -> Timing:
        return Timing(self.cron, self.timezone, self.every_ms, self.start_at, self.end_at)

    @property
    def state(self) -> str:
        """``active``, ``paused``, or ``ended`` (no fire left before ``end``)."""
        if self.paused:
            return "paused"
        return "ended" if self.next_fire_at is None and self.buffered_at is None else "active"


@dataclass(frozen=True, slots=True)
class Fire:
    """What one fire did: ``started`` an instance, was ``skipped`` or ``buffered``
    (``--overlap``), or ``failed`` (its image is gone; ``error`` says so)."""

    tenant_id: str
    schedule: str
    scheduled_at: int
    outcome: str
    instance_id: str | None = None
    error: str | None = None


def fire_id(schedule: str, scheduled_at: int) -> str:
    """``nightly@2026-12-03T02:30:00.000Z``: the one instance id of this fire."""
    moment = _EPOCH + timedelta(milliseconds=scheduled_at)
    return f"{schedule}@{moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"


def _schedule(row: Row) -> Schedule:
    data = dict(row)
    data["input"] = None if data["input"] is None else json.loads(data["input"])
    data["paused"] = bool(data["paused"])
    return Schedule(**data)


def _missing(tenant_id: str, name: str) -> NotFound:
    return NotFound(f"schedule {name!r} not found in tenant {tenant_id!r}")


def load(tx: Tx, tenant_id: str, name: str, *, lock: bool = False) -> Schedule:
    suffix = " FOR UPDATE" if lock and tx.dialect == "postgresql" else ""
    row = tx.one(
        f"SELECT {_COLUMNS} FROM schedules s WHERE s.tenant_id = ? AND s.name = ?{suffix}",
        (tenant_id, name),
    )
    if row is None:
        raise _missing(tenant_id, name)
    return _schedule(row)


# -- management -------------------------------------------------------------------------


@write_op
def create_schedule(
    tx: Tx,
    tenant_id: str,
    name: str,
    image: str,
    timing: Timing,
    *,
    now: int,
    input: Any = None,
    overlap: Overlap = Overlap.skip,
    catchup: Catchup = Catchup.latest,
) -> Schedule:
    """A new schedule; its image must exist in the tenant (it is resolved again at each
    fire, so ``NAME`` runs the latest version registered by then)."""
    tenants.ensure(tx, tenant_id)
    images.resolve_image(tx, tenant_id, image)
    inserted = tx.execute(
        "INSERT INTO schedules (tenant_id, name, image, cron, timezone, every_ms, input,"
        " overlap, catchup, start_at, end_at, next_fire_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            tenant_id,
            name,
            image,
            timing.cron,
            timing.timezone,
            timing.every_ms,
            json.dumps(input, separators=(",", ":")),
            Overlap(overlap).value,
            Catchup(catchup).value,
            timing.start_ms,
            timing.end_ms,
            timing.next_after(now),
            now,
            now,
        ),
    )
    if not inserted:
        raise Conflict(f"schedule {name!r} already exists in tenant {tenant_id!r}")
    return load(tx, tenant_id, name)


@read_op
def get_schedule(tx: Tx, tenant_id: str, name: str) -> Schedule:
    return load(tx, tenant_id, name)


@read_op
def list_schedules(tx: Tx, tenant_id: str, *, limit: int = 100, offset: int = 0) -> list[Schedule]:
    """By name."""
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM schedules s WHERE s.tenant_id = ? ORDER BY s.name"
        " LIMIT ? OFFSET ?",
        (tenant_id, limit, offset),
    )
    return [_schedule(r) for r in rows]


@write_op
def pause_schedule(tx: Tx, tenant_id: str, name: str, *, now: int) -> Schedule:
    """No fire starts while paused (a running instance goes on)."""
    load(tx, tenant_id, name, lock=True)
    tx.execute(
        "UPDATE schedules SET paused = 1, updated_at = ? WHERE tenant_id = ? AND name = ?",
        (now, tenant_id, name),
    )
    return load(tx, tenant_id, name)


@write_op
def resume_schedule(tx: Tx, tenant_id: str, name: str, *, now: int) -> Schedule:
    """Fire again from the next fire time after now: fires due while it was paused were
    withheld on purpose, so none of them starts late (nor a buffered one)."""
    schedule = load(tx, tenant_id, name, lock=True)
    if not schedule.paused:
        return schedule
    tx.execute(
        "UPDATE schedules SET paused = 0, next_fire_at = ?, buffered_at = NULL, updated_at = ?"
        " WHERE tenant_id = ? AND name = ?",
        (schedule.timing.next_after(now), now, tenant_id, name),
    )
    return load(tx, tenant_id, name)


@write_op
def delete_schedule(tx: Tx, tenant_id: str, name: str) -> Schedule:
    """Remove the schedule; the instances it started stay (and keep its name)."""
    schedule = load(tx, tenant_id, name, lock=True)
    tx.execute("DELETE FROM schedules WHERE tenant_id = ? AND name = ?", (tenant_id, name))
    return schedule


@write_op
def trigger_schedule(tx: Tx, tenant_id: str, name: str, *, now: int) -> Fire:
    """Fire now (also while paused), under the schedule's ``--overlap``."""
    schedule = load(tx, tenant_id, name, lock=True)
    outcomes = _fire(tx, schedule, [now], now)
    return next(fire for fire in reversed(outcomes) if fire.scheduled_at == now)


# -- firing -----------------------------------------------------------------------------


@read_op
def due_in_ms(tx: Tx, *, now: int) -> int | None:
    """0 when a schedule is due, else milliseconds to the next fire (None: none at all).

    A read, so idle servers never take the write lock to find nothing to do.
    """
    if tx.one(f"SELECT 1 AS x FROM schedules s WHERE {_DUE} LIMIT 1", (now, *_FINISHED)):
        return 0
    upcoming = tx.scalar(
        "SELECT MIN(next_fire_at) AS n FROM schedules WHERE paused = 0 AND next_fire_at > ?",
        (now,),
    )
    return None if upcoming is None else int(upcoming) - now


@write_op
def fire_due(
    tx: Tx, *, now: int, grace_ms: int, limit: int = 100, max_fires: int = 100
) -> list[Fire]:
    """Take up to ``limit`` due schedules and fire each (at most ``max_fires`` fires each;
    a schedule with more catch-up left stays due for the next call)."""
    lock = " FOR UPDATE OF s SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM schedules s WHERE {_DUE}"
        f" ORDER BY COALESCE(s.next_fire_at, s.buffered_at), s.tenant_id, s.name LIMIT ?{lock}",
        (now, *_FINISHED, limit),
    )
    fired: list[Fire] = []
    resolved: dict[tuple[str, str], images.Image | NotFound] = {}
    for row in rows:
        schedule = _schedule(row)
        due = due_fires(
            schedule.timing,
            schedule.next_fire_at,
            now,
            catchup=Catchup(schedule.catchup),
            grace_ms=grace_ms,
            limit=max_fires,
        )
        schedule = replace(
            schedule, next_fire_at=due.next_fire_at, skipped=schedule.skipped + due.dropped
        )
        fired += _fire(tx, schedule, due.fires, now, resolved)
    return fired


def _previous_live(tx: Tx, schedule: Schedule) -> bool:
    if schedule.last_instance_id is None:
        return False
    status = tx.scalar(
        "SELECT status FROM instances WHERE tenant_id = ? AND id = ?",
        (schedule.tenant_id, schedule.last_instance_id),
    )
    return status is not None and status not in _FINISHED


def _fire(
    tx: Tx,
    schedule: Schedule,
    fires: list[int],
    now: int,
    resolved: dict[tuple[str, str], images.Image | NotFound] | None = None,
) -> list[Fire]:
    """Start what ``fires`` (and a buffered fire whose predecessor ended) call for, under
    ``--overlap``, and write the schedule's new state; all in the caller's transaction."""
    buffered = schedule.buffered_at
    # With --overlap allow nothing depends on the previous instance: no need to look.
    running = (schedule.overlap != Overlap.allow or buffered is not None) and _previous_live(
        tx, schedule
    )
    pending = list(fires)
    if buffered is not None and not running:
        pending.insert(0, buffered)
        buffered = None
    decided = apply_overlap(
        pending, running=running, overlap=Overlap(schedule.overlap), buffered=buffered
    )
    outcomes: list[Fire] = []
    last_fire, last_instance, error = (
        schedule.last_fire_at,
        schedule.last_instance_id,
        schedule.last_error,
    )
    started = 0
    for fire in decided.start:
        done = _start(tx, schedule, fire, {} if resolved is None else resolved)
        outcomes.append(done)
        if done.instance_id is not None:
            last_fire, last_instance, error = fire, done.instance_id, None
            started += 1
        else:
            error = done.error
    if decided.buffered is not None and decided.buffered != schedule.buffered_at:
        outcomes.append(Fire(schedule.tenant_id, schedule.name, decided.buffered, "buffered"))
    decided_fires = set(decided.start) | {decided.buffered}
    outcomes += [
        Fire(schedule.tenant_id, schedule.name, fire, "skipped")
        for fire in pending
        if fire not in decided_fires
    ]
    tx.execute(
        "UPDATE schedules SET next_fire_at = ?, buffered_at = ?, last_fire_at = ?,"
        " last_instance_id = ?, last_error = ?, fires = fires + ?, skipped = ?, updated_at = ?"
        " WHERE tenant_id = ? AND name = ?",
        (
            schedule.next_fire_at,
            decided.buffered,
            last_fire,
            last_instance,
            error,
            started,
            schedule.skipped + decided.skipped,
            now,
            schedule.tenant_id,
            schedule.name,
        ),
    )
    return outcomes


def _start(
    tx: Tx,
    schedule: Schedule,
    fire: int,
    resolved: dict[tuple[str, str], images.Image | NotFound],
) -> Fire:
    """The fire's instance: created now, or found (this fire was started before).

    ``resolved`` caches image look-ups within one transaction (many schedules of a
    tenant usually run the same few images)."""
    instance_id = fire_id(schedule.name, fire)
    key = (schedule.tenant_id, schedule.image)
    if key not in resolved:
        try:
            resolved[key] = images.resolve_image(tx, *key)
        except NotFound as exc:
            resolved[key] = exc
    image = resolved[key]
    if isinstance(image, NotFound):
        return Fire(schedule.tenant_id, schedule.name, fire, "failed", error=image.detail)
    # An existing instance of this fire means it was started before: not again.
    with contextlib.suppress(Conflict):
        instances.create_instance(
            tx,
            schedule.tenant_id,
            instance_id,
            input=schedule.input,
            image_id=image.id,
            runner=image.runner,
            schedule=schedule.name,
            scheduled_at=fire,
        )
    return Fire(schedule.tenant_id, schedule.name, fire, "started", instance_id)
