"""Fire times: cron in a time zone across DST changes, intervals, start and end."""

from __future__ import annotations

import pytest

from runtara.runtime.errors import InvalidInput
from runtara.runtime.triggers.timing import (
    Timing,
    format_duration,
    parse_duration,
    parse_instant,
    to_datetime,
    zone,
)

# (cron, zone, from local time, the next fires in local time). Europe/Berlin springs
# forward on 2026-03-29 (02:00 -> 03:00) and falls back on 2026-10-25 (03:00 -> 02:00);
# New York on 2026-03-08 and 2026-11-01.
DST_TABLE = [
    pytest.param(
        "30 2 * * *",
        "Europe/Berlin",
        "2026-03-28T12:00:00",
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"],
        id="daily-in-the-missing-hour-runs-right-after-the-change",
    ),
    pytest.param(
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-24T12:00:00",
        ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"],
        id="daily-in-the-repeated-hour-runs-once",
    ),
    pytest.param(
        "0 * * * *",
        "Europe/Berlin",
        "2026-03-29T00:30:00",
        ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"],
        id="hourly-spring-forward-every-real-hour",
    ),
    pytest.param(
        "0 * * * *",
        "Europe/Berlin",
        "2026-10-25T01:30:00",
        ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"],
        id="hourly-fall-back-every-real-hour",
    ),
    pytest.param(
        "*/30 * * * *",
        "Europe/Berlin",
        "2026-10-25T01:45:00",
        [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ],
        id="half-hourly-through-the-repeated-hour",
    ),
    pytest.param(
        "0 9 * * 1-5",
        "America/New_York",
        "2026-03-06T12:00:00",
        ["2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"],
        id="weekdays-keep-local-wall-time",
    ),
    pytest.param(
        "15 1 * * *",
        "America/New_York",
        "2026-10-31T12:00:00",
        ["2026-11-01T01:15:00-04:00", "2026-11-02T01:15:00-05:00"],
        id="new-york-repeated-hour-once",
    ),
    pytest.param(
        "0 2 * * 0",
        "America/New_York",
        "2026-03-01T12:00:00",
        ["2026-03-08T03:00:00-04:00", "2026-03-15T02:00:00-04:00"],
        id="weekly-in-the-missing-hour",
    ),
    pytest.param(
        "@daily",
        "UTC",
        "2026-12-31T23:59:59",
        ["2027-01-01T00:00:00+00:00", "2027-01-02T00:00:00+00:00"],
        id="nickname",
    ),
]


@pytest.mark.parametrize(("cron", "tz", "start", "expected"), DST_TABLE)
def test_cron_next_fire_times_across_dst(
    cron: str, tz: str, start: str, expected: list[str]
) -> None:
    timing = Timing(cron=cron, timezone=tz)
    fires = timing.upcoming(parse_instant(start, "start", timing.tz), len(expected))
    assert [to_datetime(f, timing.tz).isoformat() for f in fires] == expected
    # each fire is strictly later in real time than the one before
    assert fires == sorted(set(fires))


def test_every_is_aligned_to_the_epoch_or_to_start_and_counts_real_time() -> None:
    quarter = Timing(every_ms=parse_duration("15m"))
    at = parse_instant("2026-03-29T00:52:10", "t")  # UTC
    assert [to_datetime(f).isoformat() for f in quarter.upcoming(at, 3)] == [
        "2026-03-29T01:00:00+00:00",
        "2026-03-29T01:15:00+00:00",
        "2026-03-29T01:30:00+00:00",
    ]
    start = parse_instant("2026-01-01T10:07:00", "start")
    end = parse_instant("2026-01-01T12:07:00", "end")
    hourly = Timing(every_ms=3_600_000, start_ms=start, end_ms=end)
    fires = hourly.upcoming(start - 86_400_000, 10)
    assert [to_datetime(f).isoformat() for f in fires] == [
        "2026-01-01T10:07:00+00:00",  # a fire at exactly the start counts
        "2026-01-01T11:07:00+00:00",
        "2026-01-01T12:07:00+00:00",  # ... and at exactly the end
    ]
    assert hourly.next_after(end) is None


def test_start_and_end_bound_cron_fires() -> None:
    tz = "Europe/Berlin"
    timing = Timing(
        cron="0 12 * * *",
        timezone=tz,
        start_ms=parse_instant("2026-05-02T00:00:00", "start", zone(tz)),
        end_ms=parse_instant("2026-05-03T12:00:00+02:00", "end"),
    )
    fires = timing.upcoming(parse_instant("2026-04-01T00:00:00Z", "t"), 5)
    assert [to_datetime(f, timing.tz).isoformat() for f in fires] == [
        "2026-05-02T12:00:00+02:00",
        "2026-05-03T12:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1s", 1000), ("90s", 90_000), ("15m", 900_000), ("1h30m", 5_400_000), ("2d", 172_800_000)],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
    assert parse_duration(format_duration(ms)) == ms


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: parse_duration("5"), "every: '5' is not a duration"),
        (lambda: parse_duration("1x"), "every: '1x' is not a duration"),
        (lambda: parse_duration("500ms"), "shorter than the minimum of 1s"),
        (lambda: Timing(cron="61 * * * *"), "cron: '61 * * * *' is not a cron expression"),
        (lambda: Timing(cron="* * *"), "is not a cron expression: Wrong number of fields"),
        (lambda: Timing(cron="0 0 30 2 *"), "is not a cron expression"),
        (lambda: Timing(cron="0 * * * *", timezone="Mars/Olympus"), "unknown time zone"),
        (lambda: Timing(), "give exactly one of cron and every"),
        (lambda: Timing(cron="@daily", every_ms=1000), "give exactly one of cron and every"),
        (lambda: Timing(every_ms=1000, start_ms=10, end_ms=10), "end: must be after start"),
        (lambda: parse_instant("tomorrow", "start"), "start: 'tomorrow' is not an ISO 8601"),
    ],
)
def test_bad_timing_is_refused_naming_the_field(make: object, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        make()  # type: ignore[operator]
    assert message in refused.value.detail


def test_descriptions_say_when_in_words() -> None:
    assert Timing(cron="30 2 * * 1-5", timezone="Europe/Berlin").describe() == (
        "At 02:30 on Monday through Friday (Europe/Berlin)"
    )
    assert Timing(every_ms=5_400_000).describe() == "every 1h30m"
