"""Custom signals: a payload sent by an operator to one checkpoint id of one instance.

A workflow receives it either piggy-backed on the checkpoint of that id, or by waiting
for it (``WaitForSignal``): the wait saves the payload as that checkpoint, so a rerun
gets the same payload back instead of waiting again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import Conflict
from runtara.runtime.status import TERMINAL
from runtara.runtime.store import events
from runtara.runtime.store.access import Caller, authorize
from runtara.runtime.store.database import Tx, now_ms, write_op
from runtara.runtime.store.instances import lock, pending_signal

SIGNAL_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class SignalPoll:
    """``found``: ``payload`` is the signal's payload; ``signal``: pending cancel/pause."""

    found: bool
    payload: Any
    signal: str | None


@write_op
def send_custom_signal(
    tx: Tx, tenant_id: str, instance_id: str, checkpoint_id: str, payload: Any
) -> None:
    """Deliver ``payload`` to ``checkpoint_id``; a newer payload replaces an unread one."""
    status = lock(tx, tenant_id, instance_id)
    if status in TERMINAL:
        raise Conflict(f"instance {instance_id!r} is {status}; it takes no more signals")
    tx.execute(
        "INSERT INTO custom_signals (tenant_id, instance_id, checkpoint_id, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, instance_id, checkpoint_id)"
        " DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at",
        (tenant_id, instance_id, checkpoint_id, json.dumps(payload), now_ms()),
    )
    events.record(tx, tenant_id, instance_id, "signal_sent", checkpoint_id)


@write_op
def poll_custom_signal(tx: Tx, caller: Caller, key: str) -> SignalPoll:
    """Take the signal for ``key`` (saving it as checkpoint ``key``), or report none yet."""
    authorize(tx, caller)
    return take_custom_signal(tx, caller, key)


def take_custom_signal(tx: Tx, caller: Caller, key: str) -> SignalPoll:
    """``poll_custom_signal`` inside a transaction whose caller is already authorized."""
    tenant_id, instance_id = caller.tenant_id, caller.instance_id
    saved = tx.one(
        "SELECT state, content_type FROM checkpoints"
        " WHERE tenant_id = ? AND instance_id = ? AND checkpoint_id = ?",
        (tenant_id, instance_id, key),
    )
    if saved is not None:
        if "json" not in saved["content_type"]:
            raise Conflict(f"checkpoint {key!r} exists and does not hold a signal payload")
        payload = json.loads(bytes(saved["state"]))
        return SignalPoll(True, payload, pending_signal(tx, tenant_id, instance_id))
    taken = tx.one(
        "DELETE FROM custom_signals WHERE tenant_id = ? AND instance_id = ? AND checkpoint_id = ?"
        " RETURNING payload",
        (tenant_id, instance_id, key),
    )
    if taken is not None:
        tx.execute(
            "INSERT INTO checkpoints (tenant_id, instance_id, checkpoint_id, state, content_type,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (tenant_id, instance_id, key, taken["payload"].encode(), SIGNAL_CONTENT_TYPE, now_ms()),
        )
        tx.execute(
            "UPDATE instances SET heartbeat_at = ? WHERE tenant_id = ? AND id = ?",
            (now_ms(), tenant_id, instance_id),
        )
        return SignalPoll(
            True, json.loads(taken["payload"]), pending_signal(tx, tenant_id, instance_id)
        )
    tx.execute(
        "UPDATE instances SET heartbeat_at = ? WHERE tenant_id = ? AND id = ?",
        (now_ms(), tenant_id, instance_id),
    )
    return SignalPoll(False, None, pending_signal(tx, tenant_id, instance_id))
