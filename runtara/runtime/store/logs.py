"""Instance logs: lines a runner captured from an instance's stdout and stderr."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtara.runtime.store.access import require_instance
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op

STREAMS = ("stdout", "stderr")
#: Longer lines are cut (a runaway print must not bloat the store).
MAX_LINE_CHARS = 16_384


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    stream: str
    line: str
    created_at: int


@write_op
def append_lines(tx: Tx, tenant_id: str, instance_id: str, lines: Iterable[tuple[str, str]]) -> int:
    """Store ``(stream, line)`` pairs in order; answers how many were stored."""
    now = now_ms()
    count = 0
    for stream, line in lines:
        if stream not in STREAMS:
            raise ValueError(f"unknown log stream {stream!r} (expected stdout or stderr)")
        tx.execute(
            "INSERT INTO logs (tenant_id, instance_id, stream, line, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (tenant_id, instance_id, stream, line[:MAX_LINE_CHARS], now),
        )
        count += 1
    return count


@write_op
def append_logs(tx: Tx, tenant_id: str, instance_id: str, stream: str, lines: Iterable[str]) -> int:
    """Store lines of one stream (the instance must exist)."""
    require_instance(tx, tenant_id, instance_id)
    return append_lines(tx, tenant_id, instance_id, ((stream, line) for line in lines))


@read_op
def list_logs(
    tx: Tx,
    tenant_id: str,
    instance_id: str,
    *,
    after: int = 0,
    limit: int = 1000,
    stream: str | None = None,
) -> list[LogLine]:
    """Lines after sequence number ``after``, oldest first."""
    require_instance(tx, tenant_id, instance_id)
    sql = (
        "SELECT seq, stream, line, created_at FROM logs WHERE tenant_id = ? AND instance_id = ?"
        " AND seq > ?"
    )
    params: list[object] = [tenant_id, instance_id, after]
    if stream is not None:
        sql += " AND stream = ?"
        params.append(stream)
    sql += " ORDER BY seq LIMIT ?"
    params.append(limit)
    return [LogLine(**dict(r)) for r in tx.all(sql, params)]
