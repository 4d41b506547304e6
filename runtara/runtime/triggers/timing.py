"""When a schedule fires: cron expressions in a time zone, fixed intervals, start and end.

Times are Unix epoch milliseconds, like every table of the store. Cron expressions are
evaluated by cronsim (the parser Healthchecks.io runs on): it works on ``zoneinfo``
time zones and follows Debian cron across DST changes, so a daily ``30 2 * * *`` fires
once on the day the clocks go back (croniter 7 fires it twice) and at 03:00 on the day
02:30 does not exist; an hourly job keeps firing every real hour through both changes.

An interval (``--every 15m``) fires at ``anchor + k * every``: the anchor is ``--start``
when given, else the Unix epoch, so ``--every 15m`` fires at :00, :15, :30 and :45 UTC
whenever the schedule was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from runtara.runtime.errors import InvalidInput

#: The usual cron nicknames; cronsim reads only the five fields.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
#: The shortest interval: a fire is one transaction and one instance, not a busy loop.
MIN_EVERY_MS = 1000
#: Ten years: a longer interval is almost surely a typo (and overflows nothing).
MAX_EVERY_MS = 10 * 365 * 86_400_000


def parse_duration(text: str, field: str = "every") -> int:
    """``"1s"``, ``"15m"``, ``"1h30m"``, ``"2d"``, ``"1w"`` -> milliseconds (at least 1 s)."""
    compact = text.strip().replace(" ", "")
    pos, total = 0, 0
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        total += int(match[1]) * _UNITS_MS[match[2]]
        pos = match.end()
    if not compact or pos != len(compact):
        raise InvalidInput(
            f"{field}: {text!r} is not a duration: use a number and a unit (ms, s, m, h, d, w),"
            " e.g. 30s, 15m, 1h30m"
        )
    if total < MIN_EVERY_MS:
        raise InvalidInput(f"{field}: {text!r} is shorter than the minimum of 1s")
    if total > MAX_EVERY_MS:
        raise InvalidInput(f"{field}: {text!r} is longer than the maximum of 10 years")
    return total


def format_duration(ms: int) -> str:
    """Milliseconds -> the shortest ``1h30m`` form (what ``parse_duration`` reads back)."""
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts) or "0s"


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """An IANA time zone (``Europe/Berlin``); 422 naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"{field}: unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None


def to_datetime(ms: int, tz: ZoneInfo | None = None) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz or UTC)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def parse_instant(text: str, field: str, tz: ZoneInfo | None = None) -> int:
    """ISO 8601 date-time -> epoch ms; one without an offset is read in ``tz`` (else UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{field}: {text!r} is not an ISO 8601 date-time (e.g. 2026-12-24T09:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz or UTC)
    return to_ms(moment)


def cron_expression(text: str) -> str:
    """The five-field form of ``text`` (nicknames expanded), whitespace normalised."""
    expr = " ".join(text.split())
    return NICKNAMES.get(expr.lower(), expr)


@dataclass(frozen=True, slots=True)
class Timing:
    """A schedule's fire times: ``cron`` in ``timezone``, or every ``every_ms`` from the
    anchor; none before ``start_ms``, none after ``end_ms``."""

    cron: str | None = None
    timezone: str = "UTC"
    every_ms: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every_ms is None):
            raise InvalidInput("give exactly one of cron and every")
        if self.cron is not None:
            self._cron(0)  # refuse a bad expression now, naming it
        if self.start_ms is not None and self.end_ms is not None and self.end_ms <= self.start_ms:
            raise InvalidInput("end: must be after start")

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def _cron(self, after_ms: int) -> CronSim:
        assert self.cron is not None
        try:
            return CronSim(cron_expression(self.cron), to_datetime(after_ms, self.tz))
        except CronSimError as exc:
            raise InvalidInput(f"cron: {self.cron!r} is not a cron expression: {exc}") from None

    def next_after(self, after_ms: int) -> int | None:
        """The first fire strictly after ``after_ms`` (None: the schedule has ended)."""
        if self.start_ms is not None and after_ms < self.start_ms:
            after_ms = self.start_ms - 1  # a fire at exactly the start counts
        fire: int | None
        if self.every_ms is not None:
            anchor = self.start_ms or 0
            fire = anchor + ((after_ms - anchor) // self.every_ms + 1) * self.every_ms
        else:
            fire = self._next_cron(after_ms)
        if fire is None or (self.end_ms is not None and fire > self.end_ms):
            return None
        return fire

    def _next_cron(self, after_ms: int) -> int | None:
        it = self._cron(after_ms)
        # cronsim walks local wall time; across a fall-back change it can answer a time
        # at or before the start (the first 02:30 when starting in the second 01:xx).
        for _ in range(4):
            try:
                fire = to_ms(next(it))
            except StopIteration:  # an expression that never matches again (e.g. Feb 30)
                return None
            if fire > after_ms:
                return fire
        return None

    def upcoming(self, after_ms: int, count: int) -> list[int]:
        """The next ``count`` fire times after ``after_ms`` (fewer when it ends)."""
        found: list[int] = []
        moment = after_ms
        while len(found) < count:
            nxt = self.next_after(moment)
            if nxt is None:
                break
            found.append(nxt)
            moment = nxt
        return found

    def describe(self) -> str:
        """For people: ``At 02:30 on Monday through Friday (Europe/Berlin)``, ``every 15m``."""
        if self.every_ms is not None:
            return f"every {format_duration(self.every_ms)}"
        try:
            text = CronSim(cron_expression(self.cron or ""), datetime.now(self.tz)).explain()
        except Exception:  # explain() is best effort; the expression itself is valid
            text = cron_expression(self.cron or "")
        return f"{text} ({self.timezone})"
