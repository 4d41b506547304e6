"""Instances and their lifecycle; every status change is one conditional UPDATE.

A change is written as ``UPDATE ... WHERE status IN (<allowed sources>)``, so it is
atomic on both dialects without row locks: when no row changes, the instance either
does not exist (404) or is in a status that refuses the change (409).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.status import ALLOWED_FROM, TERMINAL, Status
from runtara.runtime.store import events, tenants
from runtara.runtime.store.access import Caller, authorize, check_token
from runtara.runtime.store.database import Row, Tx, now_ms, read_op, write_op
from runtara.runtime.store.secrets import new_token, token_hash

_COLUMNS = (
    "i.tenant_id, i.id, i.image_id, i.runner, i.status, i.input, i.output, i.error, i.attempts,"
    " i.max_attempts, i.created_at, i.updated_at, i.started_at, i.finished_at,"
    " (SELECT c.checkpoint_id FROM checkpoints c WHERE c.tenant_id = i.tenant_id"
    " AND c.instance_id = i.id ORDER BY c.seq DESC LIMIT 1) AS last_checkpoint_id,"
    " i.heartbeat_at, i.wake_at, s.kind AS pending_signal, i.schedule, i.scheduled_at, i.hook"
)
_SUMMARY_COLUMNS = _COLUMNS.replace(
    "i.input, i.output, i.error,", "NULL AS input, NULL AS output, NULL AS error,"
)
_FROM = "FROM instances i LEFT JOIN signals s ON s.tenant_id = i.tenant_id AND s.instance_id = i.id"


@dataclass(frozen=True, slots=True)
class Instance:
    tenant_id: str
    id: str
    image_id: str | None
    runner: str | None
    status: str
    input: Any
    output: Any
    error: Any
    attempts: int
    max_attempts: int
    created_at: int
    updated_at: int
    started_at: int | None
    finished_at: int | None
    last_checkpoint_id: str | None
    heartbeat_at: int | None
    wake_at: int | None
    pending_signal: str | None
    #: The schedule that started it, and the nominal time of that fire (epoch ms).
    schedule: str | None = None
    scheduled_at: int | None = None
    #: The webhook (its name) whose delivery started it.
    hook: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedInstance:
    """A new instance and its bearer token (shown once; only its hash is stored)."""

    instance: Instance
    token: str


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _instance(row: Row) -> Instance:
    data = dict(row)
    data["input"] = _loads(data["input"])
    data["output"] = _loads(data["output"])
    data["error"] = _loads(data["error"])
    return Instance(**data)


def load(tx: Tx, tenant_id: str, instance_id: str) -> Instance:
    row = tx.one(
        f"SELECT {_COLUMNS} {_FROM} WHERE i.tenant_id = ? AND i.id = ?", (tenant_id, instance_id)
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    return _instance(row)


def lock(tx: Tx, tenant_id: str, instance_id: str) -> str:
    """The instance's status, with its row locked until commit (PostgreSQL; SQLite
    transactions are serialized anyway), so a decision taken on it cannot race with a
    concurrent status change (e.g. pausing an instance that is completing)."""
    suffix = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    status = tx.scalar(
        f"SELECT status FROM instances WHERE tenant_id = ? AND id = ?{suffix}",
        (tenant_id, instance_id),
    )
    if status is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    return str(status)


def transition(
    tx: Tx,
    tenant_id: str,
    instance_id: str,
    target: Status,
    assignments: str = "",
    params: tuple[Any, ...] = (),
) -> None:
    """Move an instance to ``target`` if its lifecycle allows it, else raise 404/409.

    ``assignments`` are extra ``, column = ?`` clauses written in the same UPDATE.
    """
    sources = sorted(ALLOWED_FROM[target])
    marks = ", ".join("?" for _ in sources)
    changed = tx.execute(
        f"UPDATE instances SET status = ?, updated_at = ?{assignments}"
        f" WHERE tenant_id = ? AND id = ? AND status IN ({marks})",
        (target.value, now_ms(), *params, tenant_id, instance_id, *sources),
    )
    if changed:
        return
    current = tx.scalar(
        "SELECT status FROM instances WHERE tenant_id = ? AND id = ?", (tenant_id, instance_id)
    )
    if current is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    raise Conflict(f"instance {instance_id!r} is {current}; it cannot become {target.value}")


def pending_signal(tx: Tx, tenant_id: str, instance_id: str) -> str | None:
    kind = tx.scalar(
        "SELECT kind FROM signals WHERE tenant_id = ? AND instance_id = ?", (tenant_id, instance_id)
    )
    return None if kind is None else str(kind)


def _set_signal(tx: Tx, tenant_id: str, instance_id: str, kind: str) -> None:
    """Store the one pending instance-wide signal; a pending cancel is never downgraded."""
    tx.execute(
        "INSERT INTO signals (tenant_id, instance_id, kind, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (tenant_id, instance_id) DO UPDATE SET kind = excluded.kind,"
        " created_at = excluded.created_at WHERE signals.kind <> 'cancel'",
        (tenant_id, instance_id, kind, now_ms()),
    )


def _clear_signal(tx: Tx, tenant_id: str, instance_id: str, kind: str | None = None) -> None:
    if kind is None:
        tx.execute(
            "DELETE FROM signals WHERE tenant_id = ? AND instance_id = ?", (tenant_id, instance_id)
        )
    else:
        tx.execute(
            "DELETE FROM signals WHERE tenant_id = ? AND instance_id = ? AND kind = ?",
            (tenant_id, instance_id, kind),
        )


# -- management side ------------------------------------------------------------------


@write_op
def create_instance(
    tx: Tx,
    tenant_id: str,
    instance_id: str | None = None,
    *,
    input: Any = None,
    image_id: str | None = None,
    runner: str | None = None,
    max_attempts: int = 3,
    schedule: str | None = None,
    scheduled_at: int | None = None,
    hook: str | None = None,
) -> CreatedInstance:
    """A ``pending`` instance with a fresh bearer token, for a runner (or a user) to launch.

    ``schedule`` and ``scheduled_at``, or ``hook``, record which trigger started it.
    """
    instance_id = instance_id or str(uuid.uuid4())
    token = new_token()
    now = now_ms()
    tenants.ensure(tx, tenant_id)
    inserted = tx.execute(
        "INSERT INTO instances (tenant_id, id, image_id, runner, token_hash, status, input,"
        " max_attempts, created_at, updated_at, schedule, scheduled_at, hook)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant_id, id) DO NOTHING",
        (
            tenant_id,
            instance_id,
            image_id,
            runner,
            token_hash(token),
            _dumps(input),
            max_attempts,
            now,
            now,
            schedule,
            scheduled_at,
            hook,
        ),
    )
    if not inserted:
        raise Conflict(f"instance {instance_id!r} already exists in tenant {tenant_id!r}")
    events.record(tx, tenant_id, instance_id, "created")
    return CreatedInstance(load(tx, tenant_id, instance_id), token)


@read_op
def get_instance(tx: Tx, tenant_id: str, instance_id: str) -> Instance:
    return load(tx, tenant_id, instance_id)


@read_op
def list_instances(
    tx: Tx,
    tenant_id: str,
    *,
    status: str | None = None,
    image_id: str | None = None,
    schedule: str | None = None,
    hook: str | None = None,
    limit: int = 50,
    offset: int = 0,
    id_contains: str | None = None,
    summary: bool = False,
) -> list[Instance]:
    """Newest first; each filter given keeps only the instances that match it;
    ``id_contains`` keeps the ids holding that text (any case, no wildcards).
    ``summary``: without input, output and error (``None``), which the database then
    never reads: a page of summaries stays small whatever the inputs."""
    columns = _SUMMARY_COLUMNS if summary else _COLUMNS
    sql = f"SELECT {columns} {_FROM} WHERE i.tenant_id = ?"
    params: list[Any] = [tenant_id]
    if id_contains:
        escaped = id_contains.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        sql += " AND LOWER(i.id) LIKE LOWER(?) ESCAPE '!'"
        params.append(f"%{escaped}%")
    for column, value in (
        ("status", status),
        ("image_id", image_id),
        ("schedule", schedule),
        ("hook", hook),
    ):
        if value is not None:
            sql += f" AND i.{column} = ?"
            params.append(value)
    sql += " ORDER BY i.created_at DESC, i.id DESC LIMIT ? OFFSET ?"
    params += [limit, offset]
    return [_instance(r) for r in tx.all(sql, params)]


@write_op
def pause(tx: Tx, tenant_id: str, instance_id: str) -> Instance:
    """A running instance is asked to pause at its next checkpoint; a sleeping one stops now."""
    status = lock(tx, tenant_id, instance_id)
    if status == Status.running:
        _set_signal(tx, tenant_id, instance_id, "pause")
        events.record(tx, tenant_id, instance_id, "pause_requested")
    elif status == Status.sleeping:
        transition(tx, tenant_id, instance_id, Status.suspended, ", wake_at = NULL")
        events.record(tx, tenant_id, instance_id, "suspended")
    elif status != Status.suspended:
        raise Conflict(
            f"instance {instance_id!r} is {status}; only a running or sleeping instance can be paused"
        )
    return load(tx, tenant_id, instance_id)


@write_op
def resume(tx: Tx, tenant_id: str, instance_id: str) -> Instance:
    """Withdraw a pause not yet seen, or make a suspended instance due for relaunch now."""
    lock(tx, tenant_id, instance_id)
    current = load(tx, tenant_id, instance_id)
    if current.status == Status.running and current.pending_signal == "pause":
        _clear_signal(tx, tenant_id, instance_id, "pause")
    elif current.status == Status.suspended:
        tx.execute(
            "UPDATE instances SET wake_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
            (now_ms(), now_ms(), tenant_id, instance_id),
        )
    else:
        raise Conflict(
            f"instance {instance_id!r} is {current.status}; only a suspended instance "
            "(or one with a pause not yet seen) can be resumed"
        )
    events.record(tx, tenant_id, instance_id, "resume_requested")
    return load(tx, tenant_id, instance_id)


@write_op
def cancel(tx: Tx, tenant_id: str, instance_id: str) -> Instance:
    """A running instance is told at its next checkpoint; any other live one ends now."""
    status = lock(tx, tenant_id, instance_id)
    if status == Status.running:
        _set_signal(tx, tenant_id, instance_id, "cancel")
        events.record(tx, tenant_id, instance_id, "cancel_requested")
    else:
        transition(
            tx,
            tenant_id,
            instance_id,
            Status.cancelled,
            ", finished_at = ?, wake_at = NULL",
            (now_ms(),),
        )
        _clear_signal(tx, tenant_id, instance_id)
        events.record(tx, tenant_id, instance_id, "cancelled")
    return load(tx, tenant_id, instance_id)


# -- instance side --------------------------------------------------------------------


@write_op
def register(tx: Tx, caller: Caller, checkpoint_id: str | None = None) -> Instance:
    """An instance process starts (or restarts after a crash): it becomes ``running``.

    In dev mode an unknown instance without a token is created on the spot, with its
    tenant. ``checkpoint_id``, when given, must be a checkpoint this instance saved.
    """
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    row = tx.one(
        "SELECT status, token_hash, attempts FROM instances WHERE tenant_id = ? AND id = ?",
        (tenant_id, instance_id),
    )
    now = now_ms()
    if row is None:
        if not (caller.dev and caller.token is None):
            raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
        tenants.ensure(tx, tenant_id)
        created = tx.execute(
            "INSERT INTO instances (tenant_id, id, status, attempts, created_at, updated_at,"
            " started_at, heartbeat_at) VALUES (?, ?, 'running', 1, ?, ?, ?, ?)"
            " ON CONFLICT (tenant_id, id) DO NOTHING",
            (tenant_id, instance_id, now, now, now, now),
        )
        if created:
            events.record(tx, tenant_id, instance_id, "started")
            return load(tx, tenant_id, instance_id)
        # another process registered the same new id meanwhile: this is its restart
        row = tx.one(
            "SELECT status, token_hash, attempts FROM instances WHERE tenant_id = ? AND id = ?",
            (tenant_id, instance_id),
        )
        if row is None:  # pragma: no cover - the conflicting row cannot vanish
            raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    check_token(row, caller)
    if checkpoint_id is not None and not tx.one(
        "SELECT 1 AS x FROM checkpoints WHERE tenant_id = ? AND instance_id = ? AND checkpoint_id = ?",
        (tenant_id, instance_id, checkpoint_id),
    ):
        raise NotFound(f"checkpoint {checkpoint_id!r} not found for instance {instance_id!r}")
    transition(
        tx,
        tenant_id,
        instance_id,
        Status.running,
        ", attempts = attempts + 1, started_at = COALESCE(started_at, ?), heartbeat_at = ?,"
        " wake_at = NULL",
        (now, now),
    )
    _clear_signal(tx, tenant_id, instance_id, "resume")
    events.record(tx, tenant_id, instance_id, "started" if row["attempts"] == 0 else "restarted")
    return load(tx, tenant_id, instance_id)


@read_op
def own_status(tx: Tx, caller: Caller) -> Instance:
    """What an instance may read about itself."""
    authorize(tx, caller)
    return load(tx, caller.tenant_id, caller.instance_id)


@write_op
def heartbeat(tx: Tx, caller: Caller) -> str | None:
    """Touch the instance's liveness; answers the pending signal, if any."""
    authorize(tx, caller)
    tx.execute(
        "UPDATE instances SET heartbeat_at = ? WHERE tenant_id = ? AND id = ?",
        (now_ms(), caller.tenant_id, caller.instance_id),
    )
    return pending_signal(tx, caller.tenant_id, caller.instance_id)


@write_op
def complete(tx: Tx, caller: Caller, output: Any = None) -> Instance:
    return _finish(tx, caller, Status.completed, "output", output, event_payload=None)


@write_op
def fail(tx: Tx, caller: Caller, error: Any) -> Instance:
    """The instance failed; ``error`` is a message or a JSON object describing the failure."""
    return _finish(tx, caller, Status.failed, "error", error, event_payload={"error": error})


def _finish(
    tx: Tx,
    caller: Caller,
    status: Status,
    column: str,
    value: Any,
    *,
    event_payload: dict[str, Any] | None,
) -> Instance:
    """End the caller's instance in ``status`` with ``value`` in ``column`` (one transaction).

    Completing clears the error a crashed launch left (the instance recovered: the
    output is how it ended)."""
    authorize(tx, caller)
    now = now_ms()
    cleared = ", error = NULL" if status == Status.completed else ""
    transition(
        tx,
        caller.tenant_id,
        caller.instance_id,
        status,
        f", {column} = ?, finished_at = ?, heartbeat_at = ?{cleared}",
        (_dumps(value), now, now),
    )
    _clear_signal(tx, caller.tenant_id, caller.instance_id)
    events.record(tx, caller.tenant_id, caller.instance_id, status.value, payload=event_payload)
    return load(tx, caller.tenant_id, caller.instance_id)


@write_op
def suspend(tx: Tx, caller: Caller) -> Instance:
    """The instance stopped on a pause; it waits for resume (its pause signal is consumed)."""
    authorize(tx, caller)
    transition(
        tx,
        caller.tenant_id,
        caller.instance_id,
        Status.suspended,
        ", heartbeat_at = ?, wake_at = NULL",
        (now_ms(),),
    )
    _clear_signal(tx, caller.tenant_id, caller.instance_id, "pause")
    events.record(tx, caller.tenant_id, caller.instance_id, "suspended")
    return load(tx, caller.tenant_id, caller.instance_id)


@write_op
def acknowledge_signal(tx: Tx, caller: Caller, kind: str) -> Instance:
    """The instance saw a signal: a cancel ends it (``cancelled``); others are just consumed."""
    authorize(tx, caller)
    if kind == "cancel":
        current = pending_signal(tx, caller.tenant_id, caller.instance_id)
        if current != "cancel":
            raise Conflict(f"instance {caller.instance_id!r} has no pending cancel to acknowledge")
        transition(
            tx,
            caller.tenant_id,
            caller.instance_id,
            Status.cancelled,
            ", finished_at = ?",
            (now_ms(),),
        )
        _clear_signal(tx, caller.tenant_id, caller.instance_id)
        events.record(tx, caller.tenant_id, caller.instance_id, "cancelled")
    else:
        _clear_signal(tx, caller.tenant_id, caller.instance_id, kind)
    return load(tx, caller.tenant_id, caller.instance_id)


def is_terminal(status: str) -> bool:
    return status in TERMINAL
