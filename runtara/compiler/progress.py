"""What a build reports while it works, for a person to watch (``runtara compile``).

A build calls its ``progress`` callback with one of these events; the caller renders
them (a live display on a terminal, one line per phase in a log) or drops them. The
time a phase takes is the caller's to measure: it is the time between two phases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    """A phase of the build begins (and the one before it ends)."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Count:
    """Countable work in the current phase: ``done`` of ``total`` ``unit``."""

    done: int
    total: int
    unit: str

    def __str__(self) -> str:
        return f"{self.done}/{self.total} {self.unit}"


@dataclass(frozen=True)
class ToolOutput:
    """A line a build tool printed (Nuitka): detail, not a phase."""

    text: str

    def __str__(self) -> str:
        return self.text


BuildEvent = Phase | Count | ToolOutput
Progress = Callable[[BuildEvent], None]
