"""Instance events: lifecycle records, custom events from workflows, retry attempts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtara.runtime.store.access import Caller, authorize, require_instance
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    instance_id: str
    event_type: str
    subtype: str | None
    payload: Any
    created_at: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as an instance sends it (``created_at`` from its own clock, if given)."""

    event_type: str
    subtype: str | None = None
    payload: Any = None
    created_at: int | None = None


def record(
    tx: Tx,
    tenant_id: str,
    instance_id: str,
    event_type: str,
    subtype: str | None = None,
    payload: Any = None,
    created_at: int | None = None,
) -> None:
    """Append one event inside the caller's transaction."""
    tx.execute(
        "INSERT INTO events (tenant_id, instance_id, event_type, subtype, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            tenant_id,
            instance_id,
            event_type,
            subtype,
            None if payload is None else json.dumps(payload, separators=(",", ":")),
            created_at or now_ms(),
        ),
    )


@write_op
def add_events(tx: Tx, caller: Caller, events: Iterable[NewEvent]) -> int:
    """Store a batch of events from an instance; returns how many were stored."""
    authorize(tx, caller)
    count = 0
    for event in events:
        record(
            tx,
            caller.tenant_id,
            caller.instance_id,
            event.event_type,
            event.subtype,
            event.payload,
            event.created_at,
        )
        count += 1
    return count


@write_op
def record_retry(tx: Tx, caller: Caller, key: str, attempt: int, error: str | None) -> None:
    """Audit one retry of a durable function (attempt is 1-based)."""
    authorize(tx, caller)
    record(
        tx,
        caller.tenant_id,
        caller.instance_id,
        "retry_attempt",
        key,
        {"attempt": attempt, "error": error},
    )


@read_op
def list_events(
    tx: Tx,
    tenant_id: str,
    instance_id: str,
    *,
    after: int = 0,
    limit: int = 100,
    event_type: str | None = None,
    subtype: str | None = None,
) -> list[Event]:
    """Events in order; page with ``after`` = the last ``seq`` seen."""
    require_instance(tx, tenant_id, instance_id)
    sql = (
        "SELECT seq, instance_id, event_type, subtype, payload, created_at FROM events"
        " WHERE tenant_id = ? AND instance_id = ? AND seq > ?"
    )
    params: list[Any] = [tenant_id, instance_id, after]
    if event_type is not None:
        sql += " AND event_type = ?"
        params.append(event_type)
    if subtype is not None:
        sql += " AND subtype = ?"
        params.append(subtype)
    sql += " ORDER BY seq LIMIT ?"
    params.append(limit)
    return [
        Event(
            r["seq"],
            r["instance_id"],
            r["event_type"],
            r["subtype"],
            None if r["payload"] is None else json.loads(r["payload"]),
            r["created_at"],
        )
        for r in tx.all(sql, params)
    ]
