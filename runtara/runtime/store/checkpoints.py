"""Checkpoints: save-or-return-existing, the hot path; durable sleeps are kept as checkpoints too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.status import Status
from runtara.runtime.store import events
from runtara.runtime.store.access import Caller, authorize, check_token, require_instance
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op
from runtara.runtime.store.instances import transition
from runtara.runtime.store.secrets import token_hash
from runtara.runtime.store.signals import take_custom_signal

#: Liveness (``heartbeat_at``) is recorded with this resolution by checkpoint saves.
HEARTBEAT_RESOLUTION_MS = 1000

#: Content type of the checkpoint that records when a durable sleep ends.
SLEEP_CONTENT_TYPE = "application/vnd.runtara.sleep+json"
#: The deadline of a signal wait, checkpoint ``<key>::wait`` (``null``: no timeout).
WAIT_CONTENT_TYPE = "application/vnd.runtara.signal-wait+json"


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """``found``: the id was already saved and ``state`` is the STORED state (the new one
    was ignored). ``signal``: the pending cancel/pause/resume. ``custom_signal``: a payload
    sent to this very checkpoint id, consumed by this call."""

    found: bool
    state: bytes | None
    content_type: str | None
    signal: str | None
    custom_signal: Any


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    seq: int
    checkpoint_id: str
    content_type: str
    size: int
    created_at: int


@dataclass(frozen=True, slots=True)
class SleepResult:
    """``exit``: the instance is now ``sleeping`` and should end its process; a runner will
    start it again at ``wake_at``. Otherwise it should wait ``remaining_ms`` in place."""

    wake_at: int
    remaining_ms: int
    exit: bool


def _require_running(row: Any, caller: Caller) -> None:
    if row["status"] != Status.running:
        raise Conflict(f"instance {caller.instance_id!r} is {row['status']}, not running")


def _existing(tx: Tx, caller: Caller, key: str) -> tuple[bytes, str] | None:
    row = tx.one(
        "SELECT state, content_type FROM checkpoints"
        " WHERE tenant_id = ? AND instance_id = ? AND checkpoint_id = ?",
        (caller.tenant_id, caller.instance_id, key),
    )
    return None if row is None else (bytes(row["state"]), row["content_type"])


def _insert(
    tx: Tx, caller: Caller, key: str, state: bytes, content_type: str, request_id: str | None = None
) -> bool:
    """Insert unless the id exists (concurrent duplicates: exactly one row wins)."""
    return bool(
        tx.execute(
            "INSERT INTO checkpoints (tenant_id, instance_id, checkpoint_id, state, content_type,"
            " created_at, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant_id, instance_id, checkpoint_id) DO NOTHING",
            (caller.tenant_id, caller.instance_id, key, state, content_type, now_ms(), request_id),
        )
    )


def _saved_by(tx: Tx, caller: Caller, key: str, request_id: str) -> bool:
    """Was checkpoint ``key`` saved by this very request (an earlier delivery of it)?"""
    return (
        tx.one(
            "SELECT 1 AS x FROM checkpoints WHERE tenant_id = ? AND instance_id = ?"
            " AND checkpoint_id = ? AND request_id = ?",
            (caller.tenant_id, caller.instance_id, key, request_id),
        )
        is not None
    )


def touch_heartbeat(tx: Tx, tenant_id: str, instance_id: str, last: int | None) -> None:
    """Record liveness, at most once per HEARTBEAT_RESOLUTION_MS (saves a write per save)."""
    now = now_ms()
    if last is None or now - last >= HEARTBEAT_RESOLUTION_MS:
        tx.execute(
            "UPDATE instances SET heartbeat_at = ? WHERE tenant_id = ? AND id = ?",
            (now, tenant_id, instance_id),
        )


@write_op
def save_checkpoint(
    tx: Tx,
    caller: Caller,
    key: str,
    state: bytes,
    content_type: str = "application/octet-stream",
    request_id: str | None = None,
) -> CheckpointResult:
    """Save ``state`` under ``key`` unless it exists; either way report pending signals.

    Counts as a heartbeat. The instance must be ``running``. ``request_id`` makes a
    retried request idempotent: if that request already saved ``key``, it is answered
    as saved (``found`` false) rather than found.
    """
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    if tx.dialect == "postgresql":
        row, inserted = _save_in_one_statement(tx, caller, key, state, content_type, request_id)
        check_token(row, caller)
        _require_running(row, caller)
        return _saved(tx, caller, key, request_id, row, inserted)
    # One read for the instance, its pending signal and whether custom signals wait.
    row = tx.one(
        "SELECT i.status, i.token_hash, i.heartbeat_at, s.kind AS signal,"
        " EXISTS (SELECT 1 FROM custom_signals c WHERE c.tenant_id = i.tenant_id"
        " AND c.instance_id = i.id) AS has_custom"
        " FROM instances i LEFT JOIN signals s ON s.tenant_id = i.tenant_id AND s.instance_id = i.id"
        " WHERE i.tenant_id = ? AND i.id = ?",
        (tenant_id, instance_id),
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    check_token(row, caller)
    _require_running(row, caller)
    touch_heartbeat(tx, tenant_id, instance_id, row["heartbeat_at"])
    inserted = _insert(tx, caller, key, state, content_type, request_id)
    return _saved(tx, caller, key, request_id, row, inserted)


#: PostgreSQL: the instance read, the liveness update and the insert in one statement
#: (one round trip per checkpoint). Each part happens only for a caller that holds the
#: instance's token (or, in dev mode, one without a token) while it is running; the
#: row read tells the caller why not otherwise.
_SAVE_ONE_STATEMENT = (
    "WITH inst AS ("
    " SELECT i.status, i.token_hash, i.heartbeat_at, s.kind AS signal,"
    " EXISTS (SELECT 1 FROM custom_signals c WHERE c.tenant_id = i.tenant_id"
    " AND c.instance_id = i.id) AS has_custom,"
    " (i.status = 'running' AND (i.token_hash = ? OR (i.token_hash IS NULL AND ?))) AS allowed"
    " FROM instances i LEFT JOIN signals s ON s.tenant_id = i.tenant_id AND s.instance_id = i.id"
    " WHERE i.tenant_id = ? AND i.id = ?),"
    " beat AS (UPDATE instances SET heartbeat_at = ? WHERE tenant_id = ? AND id = ?"
    " AND EXISTS (SELECT 1 FROM inst WHERE inst.allowed AND (inst.heartbeat_at IS NULL"
    " OR inst.heartbeat_at <= ?)) RETURNING 1),"
    " ins AS (INSERT INTO checkpoints (tenant_id, instance_id, checkpoint_id, state,"
    " content_type, created_at, request_id) SELECT ?, ?, ?, ?, ?, ?, ? FROM inst"
    " WHERE inst.allowed ON CONFLICT (tenant_id, instance_id, checkpoint_id) DO NOTHING"
    " RETURNING 1)"
    " SELECT inst.status, inst.token_hash, inst.heartbeat_at, inst.signal, inst.has_custom,"
    " (SELECT COUNT(*) FROM ins) AS inserted, (SELECT COUNT(*) FROM beat) AS beats FROM inst"
)


def _save_in_one_statement(
    tx: Tx,
    caller: Caller,
    key: str,
    state: bytes,
    content_type: str,
    request_id: str | None,
) -> tuple[Any, bool]:
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    now = now_ms()
    hashed = None if caller.token is None else token_hash(caller.token)
    row = tx.one(
        _SAVE_ONE_STATEMENT,
        (
            hashed,
            caller.dev,
            tenant_id,
            instance_id,
            now,
            tenant_id,
            instance_id,
            now - HEARTBEAT_RESOLUTION_MS,
            tenant_id,
            instance_id,
            key,
            state,
            content_type,
            now,
            request_id,
        ),
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    return row, bool(row["inserted"])


def _saved(
    tx: Tx,
    caller: Caller,
    key: str,
    request_id: str | None,
    row: Any,
    inserted: bool,
) -> CheckpointResult:
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    signal = row["signal"]
    stored: tuple[bytes, str] | None = None
    if not inserted:
        if request_id is not None and _saved_by(tx, caller, key, request_id):
            return CheckpointResult(False, None, None, signal, None)
        stored = _existing(tx, caller, key)
    custom = None
    if row["has_custom"]:
        custom = tx.one(
            "DELETE FROM custom_signals WHERE tenant_id = ? AND instance_id = ? AND checkpoint_id = ?"
            " RETURNING payload",
            (tenant_id, instance_id, key),
        )
    return CheckpointResult(
        found=stored is not None,
        state=None if stored is None else stored[0],
        content_type=None if stored is None else stored[1],
        signal=signal,
        custom_signal=None if custom is None else json.loads(custom["payload"]),
    )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch save did: ``saved`` entries were stored (or already held the same
    state); ``conflict`` is the key of the first entry found stored with another state,
    where the batch stopped (None: all of it was saved). ``signal``: the pending one."""

    saved: int
    conflict: str | None
    signal: str | None


@write_op
def save_checkpoints(
    tx: Tx,
    caller: Caller,
    entries: list[tuple[str, bytes, str]],
    request_id: str | None = None,
) -> BatchResult:
    """Save buffered checkpoints ``(key, state, content_type)`` in order, in this one
    transaction (one commit for all of them).

    An entry whose key exists is fine when the stored state is the same (or this very
    request stored it, a retry); otherwise the batch stops there: what follows was
    computed from a state that is not the stored one, and is not saved. Counts as a
    heartbeat; the instance must be ``running``."""
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    row = tx.one(
        "SELECT i.status, i.token_hash, i.heartbeat_at, s.kind AS signal FROM instances i"
        " LEFT JOIN signals s ON s.tenant_id = i.tenant_id AND s.instance_id = i.id"
        " WHERE i.tenant_id = ? AND i.id = ?",
        (tenant_id, instance_id),
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    check_token(row, caller)
    _require_running(row, caller)
    touch_heartbeat(tx, tenant_id, instance_id, row["heartbeat_at"])
    saved = 0
    for key, state, content_type in entries:
        if not _insert(tx, caller, key, state, content_type, request_id):
            stored = _existing(tx, caller, key)
            same = stored is not None and stored[0] == state
            if not same and not (request_id is not None and _saved_by(tx, caller, key, request_id)):
                return BatchResult(saved, key, row["signal"])
        saved += 1
    return BatchResult(saved, None, row["signal"])


@dataclass(frozen=True, slots=True)
class SavedState:
    seq: int
    key: str
    state: bytes
    content_type: str


#: A page of a rerun's checkpoints holds at most this many bytes of states (and at
#: least one checkpoint, however large).
PAGE_BYTES = 8 * 1024 * 1024


@read_op
def own_checkpoints(
    tx: Tx, caller: Caller, *, after: int = 0, limit: int = 1000
) -> tuple[list[SavedState], bool]:
    """The instance's checkpoints with their states, oldest first, after ``seq``
    ``after``; and whether more follow (a rerun reads them in a few pages)."""
    authorize(tx, caller)
    rows = tx.all(
        "SELECT seq, checkpoint_id, state, content_type FROM checkpoints"
        " WHERE tenant_id = ? AND instance_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (caller.tenant_id, caller.instance_id, after, limit + 1),
    )
    more = len(rows) > limit
    page: list[SavedState] = []
    size = 0
    for r in rows[:limit]:
        state = bytes(r["state"])
        if page and size + len(state) > PAGE_BYTES:
            return page, True
        page.append(SavedState(int(r["seq"]), r["checkpoint_id"], state, r["content_type"]))
        size += len(state)
    return page, more


@read_op
def get_checkpoint(tx: Tx, caller: Caller, key: str) -> tuple[bytes, str] | None:
    """The stored state and its content type, or None (read-only, any status)."""
    authorize(tx, caller)
    return _existing(tx, caller, key)


@read_op
def list_checkpoints(
    tx: Tx, tenant_id: str, instance_id: str, *, after: int = 0, limit: int = 100
) -> list[StoredCheckpoint]:
    require_instance(tx, tenant_id, instance_id)
    rows = tx.all(
        "SELECT seq, checkpoint_id, content_type, LENGTH(state) AS size, created_at FROM checkpoints"
        " WHERE tenant_id = ? AND instance_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (tenant_id, instance_id, after, limit),
    )
    return [StoredCheckpoint(**dict(r)) for r in rows]


@read_op
def read_checkpoint(tx: Tx, tenant_id: str, instance_id: str, key: str) -> tuple[bytes, str]:
    """Management view of one checkpoint's state."""
    require_instance(tx, tenant_id, instance_id)
    found = _existing(tx, Caller(tenant_id, instance_id), key)
    if found is None:
        raise NotFound(f"checkpoint {key!r} not found for instance {instance_id!r}")
    return found


@write_op
def sleep(tx: Tx, caller: Caller, key: str, duration_ms: int) -> SleepResult:
    """Begin (or find again) the durable sleep ``key``; its end time is fixed at first call.

    The instance is put to ``sleeping`` (and told to exit) only when a runner launched
    it, since only then can something start it again at ``wake_at``.
    """
    row = authorize(tx, caller)
    _require_running(row, caller)
    now = now_ms()
    wake_at = now + max(0, duration_ms)
    if not _insert(tx, caller, key, json.dumps({"wake_at": wake_at}).encode(), SLEEP_CONTENT_TYPE):
        stored = _existing(tx, caller, key)
        assert stored is not None
        if stored[1] != SLEEP_CONTENT_TYPE:
            raise Conflict(f"checkpoint {key!r} exists and is not a durable sleep")
        wake_at = int(json.loads(stored[0])["wake_at"])
    remaining = max(0, wake_at - now)
    leave = remaining > 0 and row["runner"] is not None
    if leave:
        transition(
            tx,
            caller.tenant_id,
            caller.instance_id,
            Status.sleeping,
            ", wake_at = ?, waiting_signal = NULL",
            (wake_at,),
        )
        events.record(
            tx, caller.tenant_id, caller.instance_id, "sleeping", key, {"wake_at": wake_at}
        )
    return SleepResult(wake_at, remaining, leave)


@dataclass(frozen=True, slots=True)
class SignalWait:
    """What a durable signal wait found: the payload (``found``), a pending cancel or
    pause (``signal``), the deadline passed (``timed_out``), or nothing yet: then
    ``exit`` (the process should end; the signal or the deadline starts it again) or
    wait in place for at most ``remaining_ms`` (None: no deadline)."""

    found: bool
    payload: Any
    signal: str | None
    timed_out: bool
    exit: bool
    remaining_ms: int | None


@write_op
def wait_for_signal(tx: Tx, caller: Caller, key: str, timeout_ms: int | None) -> SignalWait:
    """Take the custom signal for ``key``, or begin (or find again) the wait for it.

    Like a durable sleep: the deadline is fixed at the first call (checkpoint
    ``<key>::wait``), and when a runner launched the instance it goes to ``sleeping``
    holding no process, made due again by that signal (``waiting_signal``) or at the
    deadline. The payload, once taken, is checkpoint ``key``: a rerun gets it back.
    """
    row = authorize(tx, caller)
    _require_running(row, caller)
    polled = take_custom_signal(tx, caller, key)
    if polled.found or polled.signal in ("cancel", "pause"):
        return SignalWait(polled.found, polled.payload, polled.signal, False, False, None)
    now = now_ms()
    deadline = None if timeout_ms is None else now + max(0, timeout_ms)
    wait_key = f"{key}::wait"
    if not _insert(
        tx, caller, wait_key, json.dumps({"deadline": deadline}).encode(), WAIT_CONTENT_TYPE
    ):
        stored = _existing(tx, caller, wait_key)
        assert stored is not None
        if stored[1] != WAIT_CONTENT_TYPE:
            raise Conflict(f"checkpoint {wait_key!r} exists and is not a signal wait")
        deadline = json.loads(stored[0])["deadline"]
    if deadline is not None and deadline <= now:
        return SignalWait(False, None, polled.signal, True, False, 0)
    remaining = None if deadline is None else deadline - now
    leave = row["runner"] is not None
    if leave:
        transition(
            tx,
            caller.tenant_id,
            caller.instance_id,
            Status.sleeping,
            ", wake_at = ?, waiting_signal = ?",
            (deadline, key),
        )
        events.record(
            tx, caller.tenant_id, caller.instance_id, "waiting", key, {"deadline": deadline}
        )
    return SignalWait(False, None, polled.signal, False, leave, remaining)
