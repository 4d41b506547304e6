"""Instance logs: lines a runner captured from an instance's stdout/stderr."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtara.runtime.store.access import require_instance
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    stream: str
    line: str
    created_at: int


@write_op
def append_logs(tx: Tx, tenant_id: str, instance_id: str, stream: str, lines: Iterable[str]) -> int:
    require_instance(tx, tenant_id, instance_id)
    now = now_ms()
    count = 0
    for line in lines:
        tx.execute(
            "INSERT INTO logs (tenant_id, instance_id, stream, line, created_at) VALUES (?, ?, ?, ?, ?)",
            (tenant_id, instance_id, stream, line, now),
        )
        count += 1
    return count


@read_op
def list_logs(
    tx: Tx, tenant_id: str, instance_id: str, *, after: int = 0, limit: int = 1000
) -> list[LogLine]:
    require_instance(tx, tenant_id, instance_id)
    rows = tx.all(
        "SELECT seq, stream, line, created_at FROM logs WHERE tenant_id = ? AND instance_id = ?"
        " AND seq > ? ORDER BY seq LIMIT ?",
        (tenant_id, instance_id, after, limit),
    )
    return [LogLine(**dict(r)) for r in rows]
