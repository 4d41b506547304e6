"""Resource limits of an image (``--memory 256M --cpus 0.5 --timeout 300``), parsed once."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from runtara.errors import Error

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.I)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

#: Open files a process may hold when the image says nothing.
DEFAULT_OPEN_FILES = 1024
#: Processes/threads a container may start (fork bombs stop here).
DEFAULT_PIDS = 256


class InvalidLimit(Error, ValueError):
    """A limit that cannot be understood; the message names it."""


def parse_memory(text: str) -> int:
    """``256M``, ``1G``, ``512MiB``, ``1048576`` -> bytes (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidLimit(f"memory {text!r}: expected a size such as 256M, 1G or 1048576")
    number, unit = float(match[1]), match[2].lower()
    size = int(number * _UNITS[unit])
    if size < 4 << 20:
        raise InvalidLimit(f"memory {text!r}: at least 4M is needed to start a process")
    return size


@dataclass(frozen=True, slots=True)
class Limits:
    """What one instance process may use. ``None``: not limited."""

    memory_bytes: int | None = None
    cpus: float | None = None
    timeout_s: float | None = None
    open_files: int = DEFAULT_OPEN_FILES
    pids: int = DEFAULT_PIDS

    def __post_init__(self) -> None:
        if self.cpus is not None and not 0.01 <= self.cpus <= 1024:
            raise InvalidLimit(f"cpus {self.cpus}: expected a number between 0.01 and 1024")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise InvalidLimit(f"timeout {self.timeout_s}: expected a positive number of seconds")

    @classmethod
    def from_options(
        cls, memory: str | None = None, cpus: float | None = None, timeout: float | None = None
    ) -> Limits:
        return cls(
            memory_bytes=None if memory is None else parse_memory(memory),
            cpus=cpus,
            timeout_s=timeout,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Limits:
        return cls(**(data or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
