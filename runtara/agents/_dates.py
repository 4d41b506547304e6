"""Date helpers for the utils agent: ISO 8601 parsing and Runtara's format patterns.

Runtara's patterns use ``yyyy MM dd HH mm ss`` tokens (Java style); a pattern containing
``%`` is taken as a Python ``strftime`` pattern instead, so both work.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from runtara.agents.errors import InputError

_TOKENS: dict[str, str] = {
    "yyyy": "%Y",
    "yy": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "hh": "%I",
    "mm": "%M",
    "ss": "%S",
    "SSS": "{millis}",
    "EEEE": "%A",
    "EEE": "%a",
    "XXX": "{offset}",
    "Z": "%z",
}
_TOKEN_RE = re.compile("|".join(sorted(map(re.escape, _TOKENS), key=len, reverse=True)))


def parse_iso(value: str, *, field: str = "iso_date") -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    text = value.strip()
    if not text:
        raise InputError(f"{field} is empty", field=field)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{field} {value!r} is not an ISO 8601 date", field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(moment: datetime, pattern: str, *, field: str = "format") -> str:
    """Format ``moment`` with a Runtara (``yyyy-MM-dd``) or strftime (``%Y-%m-%d``) pattern."""
    if not pattern.strip():
        raise InputError(f"{field} is empty", field=field)
    if "%" in pattern:
        return moment.strftime(pattern)
    strftime_pattern = _TOKEN_RE.sub(lambda m: _TOKENS[m.group(0)], pattern)
    offset = moment.strftime("%z")
    rendered = moment.strftime(strftime_pattern)
    return rendered.replace("{millis}", f"{moment.microsecond // 1000:03d}").replace(
        "{offset}", "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    )
