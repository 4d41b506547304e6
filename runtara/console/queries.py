"""What the console reads from the store beyond the management API's operations.

One query per page section, tenant-scoped like every store operation: an instance of
another tenant is a 404 here exactly as in the API (``require_instance``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from runtara.runtime.store.access import require_instance
from runtara.runtime.store.database import Tx, read_op

#: How much of each checkpoint state is read: enough for the head of a step record
#: (``{"stepId": ..., "stepName": ..., "stepType": ...``) or of a handled failure.
HEAD_BYTES = 512
#: A page never reads more checkpoints than this (the most recent ones).
MAX_CHECKPOINTS = 5000

_STEP_TYPE = re.compile(rb'"stepType"\s*:\s*"((?:[^"\\]|\\.)*)"')
_FAILED_HEAD = re.compile(rb'^\s*\{\s*"@failed"')
_RESULT = re.compile(rb'"outputs"\s*:\s*\{\s*"result"\s*:\s*(true|false)\s*\}')


@dataclass(frozen=True, slots=True)
class CheckpointHead:
    seq: int
    key: str
    content_type: str
    size: int
    created_at: int
    step_type: str | None
    """Set for a step record (read from its first bytes); None for other states."""
    failed: bool
    """A handled step failure (``{"@failed": ...}``), checkpointed for onError."""
    result: bool | None = None
    """A Conditional's outcome (which branch it took), when the record says it."""


@read_op
def checkpoint_heads(tx: Tx, tenant_id: str, instance_id: str) -> tuple[list[CheckpointHead], bool]:
    """The instance's checkpoints in save order, each with what its state's head says;
    the flag is True when older ones were left out (``MAX_CHECKPOINTS``)."""
    require_instance(tx, tenant_id, instance_id)
    rows = tx.all(
        "SELECT seq, checkpoint_id, content_type, LENGTH(state) AS size, created_at,"
        f" SUBSTR(state, 1, {HEAD_BYTES}) AS head FROM checkpoints"
        " WHERE tenant_id = ? AND instance_id = ? ORDER BY seq DESC LIMIT ?",
        (tenant_id, instance_id, MAX_CHECKPOINTS + 1),
    )
    more = len(rows) > MAX_CHECKPOINTS
    heads = [_head(row) for row in rows[:MAX_CHECKPOINTS]]
    heads.reverse()
    return heads, more


def _head(row: Any) -> CheckpointHead:
    head = bytes(row["head"] or b"")
    found = _STEP_TYPE.search(head) if "json" in row["content_type"] or head[:1] == b"{" else None
    step_type = None
    if found is not None:
        try:
            step_type = json.loads(b'"' + found.group(1) + b'"')
        except ValueError:
            step_type = None
    branch = _RESULT.search(head) if step_type == "Conditional" else None
    return CheckpointHead(
        seq=int(row["seq"]),
        key=str(row["checkpoint_id"]),
        content_type=str(row["content_type"]),
        size=int(row["size"] or 0),
        created_at=int(row["created_at"]),
        step_type=step_type,
        failed=bool(_FAILED_HEAD.match(head)),
        result=None if branch is None else branch.group(1) == b"true",
    )


@read_op
def image_names(tx: Tx, tenant_id: str) -> list[tuple[str, str]]:
    """(image id, ``name:version``) of the tenant's images, newest first (for filters)."""
    rows = tx.all(
        "SELECT id, name, version FROM images WHERE tenant_id = ?"
        " ORDER BY name, version DESC LIMIT 500",
        (tenant_id,),
    )
    return [(str(r["id"]), f"{r['name']}:{r['version']}") for r in rows]


@read_op
def tenant_for_key_hash(tx: Tx, key_hash: str) -> str | None:
    """The tenant of a live API key known by its hash (what a session remembers)."""
    row = tx.one(
        "SELECT tenant_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
    )
    return None if row is None else str(row["tenant_id"])
