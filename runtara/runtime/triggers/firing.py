"""What a due schedule does now: which nominal fire times start an instance.

Pure functions of the schedule's timing, its state and a clock value, so the policy is
tested with any clock and no waiting:

* ``due_fires`` applies ``--catchup``. A fire whose nominal time is more than the grace
  period old was *missed* (no server ran then): ``all`` starts every missed fire,
  ``latest`` only the most recent one, ``none`` none. Fires within the grace period are
  on time and always start; the grace absorbs a busy server's ordinary lateness.
* ``apply_overlap`` applies ``--overlap`` while the previous instance still runs:
  ``skip`` drops the fire, ``allow`` starts it anyway, ``buffer-one`` keeps one fire
  (the first) to start as soon as the previous instance ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from runtara.runtime.triggers.timing import Timing


class Overlap(StrEnum):
    skip = "skip"
    allow = "allow"
    buffer_one = "buffer-one"


class Catchup(StrEnum):
    latest = "latest"
    all = "all"
    none = "none"


@dataclass(frozen=True, slots=True)
class Due:
    """Fires to start now (oldest first), missed fires dropped, and the next fire after them."""

    fires: list[int]
    dropped: int
    next_fire_at: int | None


def due_fires(
    timing: Timing,
    next_fire_at: int | None,
    now: int,
    *,
    catchup: Catchup,
    grace_ms: int,
    limit: int,
) -> Due:
    """The fires due at ``now`` from ``next_fire_at`` on, at most ``limit`` of them (the
    rest stay due: ``next_fire_at`` of the answer is the first one not taken)."""
    if next_fire_at is None or next_fire_at > now:
        return Due([], 0, next_fire_at)
    cutoff = now - grace_ms  # fires before this were missed
    fires: list[int] = []
    dropped = 0
    moment: int | None = next_fire_at
    if next_fire_at < cutoff and catchup != Catchup.all:
        latest = last_before(timing, next_fire_at, cutoff) if catchup == Catchup.latest else None
        on_time = timing.next_after(cutoff - 1)
        end = latest if latest is not None else (on_time if on_time is not None else cutoff)
        dropped = count_between(timing, next_fire_at, end)
        if latest is not None:
            fires.append(latest)
        moment = on_time
    while moment is not None and moment <= now and len(fires) < limit:
        fires.append(moment)
        moment = timing.next_after(moment)
    return Due(fires, dropped, moment)


def last_before(timing: Timing, low: int, high: int) -> int | None:
    """The latest fire in ``[low, high)``, searched backwards from ``high`` in growing
    windows (cron has no reverse iteration), so a long outage costs a few steps."""
    window = 60_000
    while True:
        start = max(low, high - window)
        found = timing.next_after(start - 1)
        if found is not None and found < high:
            while (following := timing.next_after(found)) is not None and following < high:
                found = following
            return found
        if start == low:
            return None
        window *= 8


def count_between(timing: Timing, low: int, high: int | None, cap: int = 100_000) -> int:
    """How many fires lie in ``[low, high)`` (counted up to ``cap``; for reporting)."""
    if high is None:
        return 0
    if timing.every_ms is not None:
        return max(0, -(-(high - low) // timing.every_ms))
    count, moment = 0, timing.next_after(low - 1)
    while moment is not None and moment < high and count < cap:
        count += 1
        moment = timing.next_after(moment)
    return count


@dataclass(slots=True)
class Overlapped:
    """Of the due fires: those to start, the one buffered (if any), how many were skipped."""

    start: list[int] = field(default_factory=list)
    buffered: int | None = None
    skipped: int = 0


def apply_overlap(
    fires: list[int], *, running: bool, overlap: Overlap, buffered: int | None
) -> Overlapped:
    """Decide each fire in order; an instance started here counts as running for the next."""
    out = Overlapped(buffered=buffered)
    for fire in fires:
        if running and overlap == Overlap.skip:
            out.skipped += 1
        elif running and overlap == Overlap.buffer_one:
            if out.buffered is None:
                out.buffered = fire
            else:
                out.skipped += 1
        else:
            out.start.append(fire)
            running = True
    return out
