"""How long a step waits before its next attempt."""

from __future__ import annotations

from runtara.agents.errors import TransientError
from runtara.sdk.flow.failures import MAX_RETRY_AFTER_MS, retry_wait_ms


def _asking(ms: int | None) -> TransientError:
    error = TransientError("busy", code="HTTP_429")
    error.retry_after_ms = ms
    return error


def test_retry_delay_doubles_each_attempt() -> None:
    assert [retry_wait_ms(100, n, _asking(None)) for n in (1, 2, 3)] == [100, 200, 400]


def test_a_longer_retry_after_wins_and_a_shorter_one_does_not() -> None:
    assert retry_wait_ms(100, 1, _asking(45_000)) == 45_000
    assert retry_wait_ms(100, 3, _asking(50)) == 400


def test_retry_after_is_bounded_but_never_shortens_the_steps_own_delay() -> None:
    assert retry_wait_ms(100, 1, _asking(86_400_000)) == MAX_RETRY_AFTER_MS
    assert retry_wait_ms(3_600_000, 1, _asking(86_400_000)) == 3_600_000
