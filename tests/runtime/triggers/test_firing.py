"""The catch-up and overlap policies, on an injected clock (no waiting)."""

from __future__ import annotations

import pytest

from runtara.runtime.triggers.firing import (
    Catchup,
    Overlap,
    apply_overlap,
    due_fires,
    last_before,
)
from runtara.runtime.triggers.timing import Timing, parse_instant

S = 1000
MINUTE = 60 * S
GRACE = 10 * S
EVERY_MINUTE = Timing(every_ms=MINUTE)
T0 = parse_instant("2026-06-01T12:00:00Z", "t0")


def test_on_time_fires_all_start_whatever_the_catchup() -> None:
    for catchup in Catchup:
        due = due_fires(EVERY_MINUTE, T0, T0 + 5 * S, catchup=catchup, grace_ms=GRACE, limit=100)
        assert (due.fires, due.dropped, due.next_fire_at) == ([T0], 0, T0 + MINUTE)


def test_nothing_is_due_before_the_next_fire() -> None:
    due = due_fires(EVERY_MINUTE, T0, T0 - 1, catchup=Catchup.all, grace_ms=GRACE, limit=100)
    assert (due.fires, due.next_fire_at) == ([], T0)


@pytest.mark.parametrize(
    ("catchup", "fires", "dropped"),
    [
        # down from 12:00 to 12:10:05 -> fires 12:00..12:10 were due; 12:10 is on time
        (Catchup.all, [T0 + k * MINUTE for k in range(11)], 0),
        (Catchup.latest, [T0 + 9 * MINUTE, T0 + 10 * MINUTE], 9),
        (Catchup.none, [T0 + 10 * MINUTE], 10),
    ],
)
def test_fires_missed_while_no_server_ran_follow_catchup(
    catchup: Catchup, fires: list[int], dropped: int
) -> None:
    now = T0 + 10 * MINUTE + 5 * S
    due = due_fires(EVERY_MINUTE, T0, now, catchup=catchup, grace_ms=GRACE, limit=100)
    assert (due.fires, due.dropped, due.next_fire_at) == (fires, dropped, T0 + 11 * MINUTE)


def test_catchup_all_takes_a_long_backlog_in_batches() -> None:
    now = T0 + 250 * MINUTE
    first = due_fires(EVERY_MINUTE, T0, now, catchup=Catchup.all, grace_ms=GRACE, limit=100)
    assert len(first.fires) == 100 and first.next_fire_at == T0 + 100 * MINUTE
    second = due_fires(
        EVERY_MINUTE, first.next_fire_at, now, catchup=Catchup.all, grace_ms=GRACE, limit=100
    )
    assert second.fires[0] == T0 + 100 * MINUTE


def test_latest_finds_the_last_missed_cron_fire_after_a_long_outage() -> None:
    daily = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    first = parse_instant("2025-01-01T02:30:00+01:00", "t")
    now = parse_instant("2026-10-26T09:00:00+01:00", "now")  # 22 months later
    due = due_fires(daily, first, now, catchup=Catchup.latest, grace_ms=GRACE, limit=100)
    assert due.fires == [parse_instant("2026-10-26T02:30:00+01:00", "t")]
    assert due.dropped == 663  # 2025-01-01 .. 2026-10-25, each day once (DST too)
    assert due.next_fire_at == parse_instant("2026-10-27T02:30:00+01:00", "t")
    assert last_before(daily, first, first) is None


def test_overlap_skip_allow_and_buffer_one() -> None:
    fires = [1, 2, 3]
    skip = apply_overlap(fires, running=True, overlap=Overlap.skip, buffered=None)
    assert (skip.start, skip.buffered, skip.skipped) == ([], None, 3)
    allow = apply_overlap(fires, running=True, overlap=Overlap.allow, buffered=None)
    assert (allow.start, allow.skipped) == ([1, 2, 3], 0)
    buffer = apply_overlap(fires, running=True, overlap=Overlap.buffer_one, buffered=None)
    assert (buffer.start, buffer.buffered, buffer.skipped) == ([], 1, 2)
    kept = apply_overlap([4], running=True, overlap=Overlap.buffer_one, buffered=1)
    assert (kept.start, kept.buffered, kept.skipped) == ([], 1, 1)
    # nothing runs: the first starts, and then it is the one running
    idle = apply_overlap(fires, running=False, overlap=Overlap.skip, buffered=None)
    assert (idle.start, idle.skipped) == ([1], 2)
    idle_buffer = apply_overlap(fires, running=False, overlap=Overlap.buffer_one, buffered=None)
    assert (idle_buffer.start, idle_buffer.buffered, idle_buffer.skipped) == ([1], 2, 1)
