"""Who may touch an instance: the instance itself (bearer token) or, in dev mode, anyone local."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from runtara.runtime.errors import NotFound, Unauthorized
from runtara.runtime.status import TERMINAL
from runtara.runtime.store.database import Row, Tx
from runtara.runtime.store.secrets import token_hash

_ENDED = frozenset(status.value for status in TERMINAL)


@dataclass(frozen=True, slots=True)
class Caller:
    """An instance process talking to the runtime.

    ``token`` is its bearer token (``RUNTARA_INSTANCE_TOKEN``); ``dev`` is true when the
    server runs with ``--dev``, where instances without a token may register themselves.
    """

    tenant_id: str
    instance_id: str
    token: str | None = None
    dev: bool = False


def require_instance(tx: Tx, tenant_id: str, instance_id: str) -> Row:
    row = tx.one(
        "SELECT status, runner, token_hash, attempts FROM instances WHERE tenant_id = ? AND id = ?",
        (tenant_id, instance_id),
    )
    if row is None:
        raise NotFound(f"instance {instance_id!r} not found in tenant {tenant_id!r}")
    return row


def check_token(row: Row, caller: Caller) -> None:
    """The caller holds the instance's current token, and the instance has not ended.

    A token works from its launch until the next launch (which rotates it) or until
    the instance reaches a terminal status: a finished process, or one that outlived
    its instance, can no longer act for it or fetch its connection secrets. The right
    token of an ended instance is told the status it ended with (``instance_status``),
    so a process whose final report was answered but lost knows its report counted.
    """
    expected = row["token_hash"]
    if expected is None:
        if not caller.dev:
            raise Unauthorized(
                f"instance {caller.instance_id!r} has no token; self-registered instances "
                "are only accepted by a server running with --dev"
            )
        return
    if caller.token is None or not hmac.compare_digest(expected, token_hash(caller.token)):
        raise Unauthorized(f"missing or wrong instance token for {caller.instance_id!r}")
    if row["status"] in _ENDED:
        raise Unauthorized(
            f"instance {caller.instance_id!r} has ended ({row['status']}); "
            "its token no longer works",
            instance_status=row["status"],
        )


def authorize(tx: Tx, caller: Caller) -> Row:
    """The instance row, once the caller has proven it is that instance."""
    row = require_instance(tx, caller.tenant_id, caller.instance_id)
    check_token(row, caller)
    return row
