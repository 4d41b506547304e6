"""The workflow language's one number parser.

It sits at the bottom of the image side (``runtara.sdk`` imports ``runtara.agents``,
never the reverse) so that capabilities' input coercion (``runtara.agents.invoke``) and
the flow engine's coercions, comparisons and template filters (``runtara.sdk.flow``)
read ``" 42 "``, ``"1e3"`` or ``"NaN"`` the same way.
"""

from __future__ import annotations

import math
from typing import Any


def parse_number(text: str) -> int | float | None:
    """The number written in ``text`` (trimmed): an int when it is one, so big integers
    keep every digit; a finite float otherwise; None for anything else."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_number(value: Any) -> int | float | None:
    """A finite int or float as it is, a numeric string parsed, anything else (booleans
    included) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return parse_number(value)
    return None
