"""The instance lifecycle: which status may follow which.

``pending -> running -> (sleeping | suspended) -> running -> completed | failed | cancelled``.
A ``running`` instance may register again (its process crashed and was restarted).
Store operations enforce these with conditional updates, so each change is atomic.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    pending = "pending"
    running = "running"
    sleeping = "sleeping"
    suspended = "suspended"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL: frozenset[Status] = frozenset({Status.completed, Status.failed, Status.cancelled})

#: target status -> statuses it may be reached from.
ALLOWED_FROM: dict[Status, frozenset[Status]] = {
    Status.running: frozenset({Status.pending, Status.running, Status.sleeping, Status.suspended}),
    Status.sleeping: frozenset({Status.running}),
    Status.suspended: frozenset({Status.running, Status.sleeping}),
    Status.completed: frozenset({Status.running}),
    Status.failed: frozenset({Status.running, Status.pending, Status.sleeping, Status.suspended}),
    Status.cancelled: frozenset(
        {Status.pending, Status.running, Status.sleeping, Status.suspended}
    ),
}
