"""Leases: which server runs which instance's process, and what happens when it ends.

A server *claims* due work (a pending instance, a sleeper whose wake time passed, a
resumed one, a crashed one whose backoff passed, an orphan whose server vanished) by
writing its id and an expiry into ``lease_owner`` / ``lease_expires_at``, and renews
its leases while their processes live. Claiming is one transaction; on PostgreSQL it
reads candidates ``FOR UPDATE SKIP LOCKED`` so several servers never take the same
instance. SQLite runs every write on one thread, which serialises claims (one server).

Every launch rotates the instance token, so a process from a lost lease (a server
that stalled past its expiry) can no longer talk to the runtime: one live process
per instance, and at most one that can change its state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import NotFound
from runtara.runtime.status import Status
from runtara.runtime.store import events, logs
from runtara.runtime.store.database import Row, Tx, now_ms, read_op, write_op
from runtara.runtime.store.instances import transition
from runtara.runtime.store.secrets import new_token, token_hash

_WORK_COLUMNS = (
    "i.tenant_id, i.id, i.image_id, i.status, i.crash_count, i.max_attempts, i.active_ms,"
    " i.process_host, i.process_ref, i.launched_at, i.heartbeat_at, i.lease_owner,"
    " s.kind AS pending_signal"
)
_WORK_FROM = (
    "FROM instances i LEFT JOIN signals s ON s.tenant_id = i.tenant_id AND s.instance_id = i.id"
)


@dataclass(frozen=True, slots=True)
class Work:
    """An instance this server holds the lease of, with what deciding its fate needs."""

    tenant_id: str
    id: str
    image_id: str | None
    status: str
    crash_count: int
    max_attempts: int
    active_ms: int
    process_host: str | None
    process_ref: str | None
    launched_at: int | None
    heartbeat_at: int | None
    lease_owner: str | None
    pending_signal: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant_id, self.id)


@dataclass(frozen=True, slots=True)
class ProcessExit:
    """How a process ended, as its runner saw it.

    ``reason``: ``None`` (it exited by itself), ``"timeout"``, ``"heartbeat"`` (killed
    for silence), ``"cancel"`` (killed after the cancel grace period) or ``"lost"``
    (found dead with nobody watching it).
    """

    exit_code: int | None
    message: str
    reason: str | None = None
    ran_ms: int = 0
    peak_memory_bytes: int | None = None
    cpu_time_ms: int | None = None
    stderr_tail: str = ""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before restarting after the n-th crash: ``base_ms * 2**(n-1)``, capped."""

    base_ms: int = 1000
    max_ms: int = 60_000

    def delay_ms(self, crashes: int) -> int:
        return int(min(self.max_ms, self.base_ms * 2 ** max(0, crashes - 1)))


def _work(row: Row) -> Work:
    return Work(**dict(row))


def _release(tx: Tx, owner: str, tenant_id: str, instance_id: str, extra: str = "") -> None:
    tx.execute(
        "UPDATE instances SET lease_owner = NULL, lease_expires_at = NULL, process_ref = NULL"
        f"{extra} WHERE tenant_id = ? AND id = ? AND lease_owner = ?",
        (tenant_id, instance_id, owner),
    )


def _clear_signal(tx: Tx, tenant_id: str, instance_id: str) -> None:
    tx.execute(
        "DELETE FROM signals WHERE tenant_id = ? AND instance_id = ?", (tenant_id, instance_id)
    )


# -- claiming ---------------------------------------------------------------------------

#: Instances that need a process now, as three queries that can each use an index (one
#: WHERE with ORs over statuses and correlated subqueries scanned every sleeper):
_NEEDS_PROCESS = (
    # a sleep (or a paused sleeper's wake-up) that is due: ``instances_due`` (status,
    # wake_at), a range of it (parameter: now)
    "SELECT i.tenant_id, i.id FROM instances i"
    " WHERE i.status IN ('sleeping', 'suspended') AND i.wake_at <= ?",
    # pending, or running and its crash backoff is over: ranges of the same index
    "SELECT i.tenant_id, i.id FROM instances i"
    " WHERE i.status IN ('pending', 'running') AND i.wake_at IS NULL",
    "SELECT i.tenant_id, i.id FROM instances i"
    " WHERE i.status IN ('pending', 'running') AND i.wake_at <= ?",
    # a cancel or pause of one waiting out a crash backoff is settled at once: driven by
    # the pending signals (CROSS JOIN keeps that order on SQLite; a plain join elsewhere)
    "SELECT i.tenant_id, i.id FROM signals g CROSS JOIN instances i"
    " WHERE i.tenant_id = g.tenant_id AND i.id = g.instance_id"
    " AND g.kind IN ('cancel', 'pause') AND i.status = 'running'",
    # the signal a sleeper waits for arrived (only that one: a stray signal sent to
    # another checkpoint must not relaunch a sleeper again and again): driven by the
    # custom signals not taken yet, not by the sleepers
    "SELECT i.tenant_id, i.id FROM custom_signals c CROSS JOIN instances i"
    " WHERE i.tenant_id = c.tenant_id AND i.id = c.instance_id"
    " AND i.status = 'sleeping' AND i.waiting_signal = c.checkpoint_id",
)
#: Parameters of each of those queries.
_NEEDS_PARAMETERS = (1, 0, 1, 0, 0)
#: ... and whose lease is free, and that have an image (parameter: now).
_FREE = "(i.lease_owner IS NULL OR i.lease_expires_at < ?) AND i.image_id IS NOT NULL"
#: Statuses a wake time applies to, each a range of ``instances_due``.
_WAKING = ("sleeping", "suspended", "pending", "running")


def _due_queries(now: int) -> list[tuple[str, tuple[int, ...]]]:
    """Each query of ``_NEEDS_PROCESS`` limited to free leases, with its parameters."""
    return [
        (f"{query} AND {_FREE}", (*([now] * count), now))
        for query, count in zip(_NEEDS_PROCESS, _NEEDS_PARAMETERS, strict=True)
    ]


@read_op
def due_in_ms(tx: Tx) -> int | None:
    """0 when something is due now, else milliseconds to the next wake time (None: none).

    A read, so an idle scheduler never takes the write lock, and a sleeper is started
    at its wake time rather than at the next poll after it. Each query is an index range
    or a short list (pending signals), so none grows with the number of sleepers.
    """
    now = now_ms()
    for query, parameters in _due_queries(now):
        if tx.one(f"{query} LIMIT 1", parameters):
            return 0
    upcoming = [
        tx.scalar(
            "SELECT wake_at AS w FROM instances WHERE status = ? AND wake_at > ?"
            " AND image_id IS NOT NULL ORDER BY wake_at LIMIT 1",
            (status, now),
        )
        for status in _WAKING
    ]
    soonest = min((int(w) for w in upcoming if w is not None), default=None)
    return None if soonest is None else soonest - now


@write_op
def claim_due(
    tx: Tx, owner: str, *, lease_ms: int, limit: int, now: int | None = None
) -> list[Work]:
    """Take the leases of up to ``limit`` instances that need a process now.

    A sleeping instance is due at its wake time, or as soon as a custom signal is sent
    to it: an instance that waits for a signal (WaitForSignal) can end its process
    with a durable sleep and is started again when the signal arrives. Any other
    sleeper woken early just finds its sleep unfinished and goes back to sleep.

    ``now`` is the store clock's reading (``now_ms()``); a test passes a later one to
    see what is due then, instead of waiting for it.
    """
    now = now_ms() if now is None else now
    lock = " FOR UPDATE OF i SKIP LOCKED" if tx.dialect == "postgresql" else ""
    queries = _due_queries(now)
    union = " UNION ".join(query for query, _ in queries)
    rows = tx.all(
        f"SELECT {_WORK_COLUMNS} {_WORK_FROM}"
        f" JOIN ({union}) d ON d.tenant_id = i.tenant_id AND d.id = i.id"
        f" ORDER BY COALESCE(i.wake_at, i.created_at) LIMIT ?{lock}",
        (*(p for _, parameters in queries for p in parameters), limit),
    )
    claimed = []
    for row in rows:
        changed = tx.execute(
            "UPDATE instances SET lease_owner = ?, lease_expires_at = ?"
            " WHERE tenant_id = ? AND id = ? AND (lease_owner IS NULL OR lease_expires_at < ?)",
            (owner, now + lease_ms, row["tenant_id"], row["id"], now),
        )
        if changed:
            claimed.append(_work(row))
    return claimed


@read_op
def owned_work(tx: Tx, owner: str) -> list[Work]:
    """Instances whose lease this server id holds (at start: leases of its former life)."""
    rows = tx.all(f"SELECT {_WORK_COLUMNS} {_WORK_FROM} WHERE i.lease_owner = ?", (owner,))
    return [_work(r) for r in rows]


@write_op
def release_unless_due(tx: Tx, owner: str, tenant_id: str, instance_id: str) -> bool:
    """Let go of a held instance that needs no process now (it ended, or waits for its
    wake time); answers whether it was let go. For leases a server held when it died."""
    now = now_ms()
    for query, count in zip(_NEEDS_PROCESS, _NEEDS_PARAMETERS, strict=True):
        due = tx.one(
            f"{query} AND i.image_id IS NOT NULL AND i.tenant_id = ? AND i.id = ?",
            (*([now] * count), tenant_id, instance_id),
        )
        if due is not None:
            return False
    _release(tx, owner, tenant_id, instance_id)
    return True


@write_op
def renew_leases(tx: Tx, owner: str, *, lease_ms: int) -> set[tuple[str, str]]:
    """Extend every lease this server holds; answers the instances it still holds."""
    tx.execute(
        "UPDATE instances SET lease_expires_at = ? WHERE lease_owner = ?",
        (now_ms() + lease_ms, owner),
    )
    rows = tx.all("SELECT tenant_id, id FROM instances WHERE lease_owner = ?", (owner,))
    return {(r["tenant_id"], r["id"]) for r in rows}


# -- launching --------------------------------------------------------------------------


@write_op
def begin_launch(
    tx: Tx, owner: str, tenant_id: str, instance_id: str, *, host: str, runner: str
) -> str:
    """Record that this server launches a process now; answers its fresh token.

    The previous token stops working here, so an older process can no longer report.
    """
    token = new_token()
    now = now_ms()
    changed = tx.execute(
        "UPDATE instances SET token_hash = ?, launched_at = ?, process_host = ?,"
        " process_ref = NULL, runner = ? WHERE tenant_id = ? AND id = ? AND lease_owner = ?",
        (token_hash(token), now, host, runner, tenant_id, instance_id, owner),
    )
    if not changed:
        raise NotFound(f"instance {instance_id!r} is not leased by {owner!r}")
    events.record(tx, tenant_id, instance_id, "launched", payload={"server": owner})
    return token


@write_op
def record_process(
    tx: Tx, owner: str, tenant_id: str, instance_id: str, ref: str, limits: dict[str, Any]
) -> None:
    """The process is running: remember how to find it again, and the limits applied."""
    tx.execute(
        "UPDATE instances SET process_ref = ?, limits = ? WHERE tenant_id = ? AND id = ?"
        " AND lease_owner = ?",
        (ref, json.dumps(limits), tenant_id, instance_id, owner),
    )


@write_op
def record_output(
    tx: Tx, owner: str, tenant_id: str, instance_id: str, lines: list[tuple[str, str]], ref: str
) -> None:
    """Store output lines and, in the same transaction, how far the output was read
    (``ref``): a server adopting the process later reads on from exactly there."""
    logs.append_lines(tx, tenant_id, instance_id, lines)
    tx.execute(
        "UPDATE instances SET process_ref = ? WHERE tenant_id = ? AND id = ? AND lease_owner = ?"
        " AND process_ref IS NOT NULL",
        (ref, tenant_id, instance_id, owner),
    )


@write_op
def fail_launch(tx: Tx, owner: str, tenant_id: str, instance_id: str, message: str) -> None:
    """The process could not be started at all (no such program, image gone): fail now."""
    transition(
        tx,
        tenant_id,
        instance_id,
        Status.failed,
        ", error = ?, finished_at = ?, wake_at = NULL",
        (json.dumps({"message": message, "reason": "launch"}), now_ms()),
    )
    _clear_signal(tx, tenant_id, instance_id)
    events.record(tx, tenant_id, instance_id, "failed", payload={"error": message})
    _release(tx, owner, tenant_id, instance_id)


@write_op
def settle_without_process(tx: Tx, owner: str, work: Work) -> str | None:
    """A claimed instance with a pending cancel or pause ends or stops without a launch.

    Answers the new status, or None when there is nothing to settle (launch it).
    """
    signal = tx.scalar(
        "SELECT kind FROM signals WHERE tenant_id = ? AND instance_id = ?",
        (work.tenant_id, work.id),
    )
    if signal == "cancel":
        transition(
            tx,
            work.tenant_id,
            work.id,
            Status.cancelled,
            ", finished_at = ?, wake_at = NULL",
            (now_ms(),),
        )
        _clear_signal(tx, work.tenant_id, work.id)
        events.record(tx, work.tenant_id, work.id, "cancelled")
    elif signal == "pause" and work.status == Status.running:
        transition(tx, work.tenant_id, work.id, Status.suspended, ", wake_at = NULL")
        tx.execute(
            "DELETE FROM signals WHERE tenant_id = ? AND instance_id = ? AND kind = 'pause'",
            (work.tenant_id, work.id),
        )
        events.record(tx, work.tenant_id, work.id, "suspended")
    else:
        return None
    _release(tx, owner, work.tenant_id, work.id)
    return str(tx.scalar("SELECT status FROM instances WHERE tenant_id = ? AND id = ?", work.key))


# -- watching ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Liveness:
    """What the supervisor checks of a live process: status, signal, last sign of life."""

    tenant_id: str
    id: str
    status: str
    pending_signal: str | None
    last_seen_at: int | None


@read_op
def liveness(tx: Tx, owner: str) -> list[Liveness]:
    rows = tx.all(
        "SELECT i.tenant_id, i.id, i.status, s.kind AS pending_signal,"
        " CASE WHEN i.heartbeat_at IS NULL OR i.heartbeat_at < i.launched_at"
        " THEN i.launched_at ELSE i.heartbeat_at END AS last_seen_at"
        f" {_WORK_FROM} WHERE i.lease_owner = ?",
        (owner,),
    )
    return [Liveness(**dict(r)) for r in rows]


# -- ending -----------------------------------------------------------------------------


#: ``attempts`` counts launches: a registration adds one, and so does a launch that
#: crashed before registering (an image that cannot start), so it is never below the
#: crashed launches (two parameters: the crash count, twice).
_LAUNCHES = ", attempts = CASE WHEN attempts < ? THEN ? ELSE attempts END"


def _describe_crash(exit: ProcessExit) -> dict[str, Any]:
    error: dict[str, Any] = {"message": exit.message, "reason": exit.reason or "crashed"}
    if exit.exit_code is not None:
        error["exit_code"] = exit.exit_code
    if exit.stderr_tail:
        error["stderr"] = exit.stderr_tail
    return error


@write_op
def record_exit(
    tx: Tx,
    owner: str,
    tenant_id: str,
    instance_id: str,
    exit: ProcessExit,
    *,
    backoff: Backoff,
    timeout_s: float | None = None,
) -> str:
    """Decide what a process's end means, in one transaction; answers the new status.

    An instance that reported an outcome (or went to sleep, or suspended) keeps it. One
    still ``running``/``pending`` crashed: it is restarted after a backoff, or fails
    with the last error once ``max_attempts`` launches crashed. A pending cancel makes
    it ``cancelled``, a pending pause ``suspended``, a timeout ``failed``.
    """
    row = tx.one(
        "SELECT i.status, i.crash_count, i.max_attempts, i.lease_owner, s.kind AS signal"
        f" {_WORK_FROM} WHERE i.tenant_id = ? AND i.id = ?",
        (tenant_id, instance_id),
    )
    if row is None:  # deleted meanwhile
        return "deleted"
    now = now_ms()
    usage = (
        ", active_ms = active_ms + ?, cpu_time_ms = COALESCE(cpu_time_ms, 0) + ?,"
        " peak_memory_bytes = CASE WHEN peak_memory_bytes IS NULL OR peak_memory_bytes < ?"
        " THEN ? ELSE peak_memory_bytes END"
    )
    peak = exit.peak_memory_bytes
    tx.execute(
        f"UPDATE instances SET updated_at = updated_at{usage} WHERE tenant_id = ? AND id = ?",
        (exit.ran_ms, exit.cpu_time_ms or 0, peak or 0, peak, tenant_id, instance_id),
    )
    if row["lease_owner"] != owner:  # someone else took over; their decision stands
        return str(row["status"])
    status = row["status"]
    if status not in (Status.running, Status.pending):
        _release(tx, owner, tenant_id, instance_id)
        return str(status)
    if row["signal"] == "cancel":
        transition(
            tx,
            tenant_id,
            instance_id,
            Status.cancelled,
            ", finished_at = ?, wake_at = NULL",
            (now,),
        )
        _clear_signal(tx, tenant_id, instance_id)
        events.record(tx, tenant_id, instance_id, "cancelled", payload={"stopped": exit.message})
    elif exit.reason == "timeout":
        error: dict[str, Any] = {
            "message": f"timed out after {timeout_s or 0:g} s; the process was killed",
            "reason": "timeout",
        }
        transition(
            tx,
            tenant_id,
            instance_id,
            Status.failed,
            ", error = ?, finished_at = ?, wake_at = NULL",
            (json.dumps(error), now),
        )
        _clear_signal(tx, tenant_id, instance_id)
        events.record(tx, tenant_id, instance_id, "failed", payload={"error": error})
    elif row["signal"] == "pause" and status == Status.running:
        transition(tx, tenant_id, instance_id, Status.suspended, ", wake_at = NULL")
        _clear_signal(tx, tenant_id, instance_id)
        events.record(tx, tenant_id, instance_id, "suspended", payload={"stopped": exit.message})
    else:
        crashes = int(row["crash_count"]) + 1
        error = _describe_crash(exit)
        error["attempts"] = crashes
        if crashes >= int(row["max_attempts"]):
            error["message"] = f"{exit.message} (gave up after {crashes} crashed launches)"
            transition(
                tx,
                tenant_id,
                instance_id,
                Status.failed,
                f", error = ?, finished_at = ?, wake_at = NULL, crash_count = ?{_LAUNCHES}",
                (json.dumps(error), now, crashes, crashes, crashes),
            )
            _clear_signal(tx, tenant_id, instance_id)
            events.record(tx, tenant_id, instance_id, "failed", payload={"error": error})
        else:
            restart_at = now + backoff.delay_ms(crashes)
            tx.execute(
                f"UPDATE instances SET crash_count = ?, wake_at = ?, error = ?, updated_at = ?"
                f"{_LAUNCHES} WHERE tenant_id = ? AND id = ?",
                (
                    crashes,
                    restart_at,
                    json.dumps(error),
                    now,
                    crashes,
                    crashes,
                    tenant_id,
                    instance_id,
                ),
            )
            events.record(
                tx,
                tenant_id,
                instance_id,
                "crashed",
                payload={**error, "restart_at": restart_at},
            )
    _release(tx, owner, tenant_id, instance_id)
    return str(
        tx.scalar(
            "SELECT status FROM instances WHERE tenant_id = ? AND id = ?", (tenant_id, instance_id)
        )
    )


# -- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """The runner's view of an instance, for operators."""

    runner: str | None
    lease_owner: str | None
    process_host: str | None
    process_ref: str | None
    launched_at: int | None
    crash_count: int
    active_ms: int
    peak_memory_bytes: int | None
    cpu_time_ms: int | None
    limits: dict[str, Any] | None


@read_op
def process_info(tx: Tx, tenant_id: str, instance_id: str) -> ProcessInfo:
    row = tx.one(
        "SELECT runner, lease_owner, process_host, process_ref, launched_at, crash_count,"
        " active_ms, peak_memory_bytes, cpu_time_ms, limits FROM instances"
        " WHERE tenant_id = ? AND id = ?",
        (tenant_id, instance_id),
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    data = dict(row)
    data["limits"] = None if data["limits"] is None else json.loads(data["limits"])
    return ProcessInfo(**data)
