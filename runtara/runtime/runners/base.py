"""What every runner offers the scheduler: launch a process, find it again, watch it end.

A runner starts one instance process from a :class:`LaunchSpec` and answers a
:class:`Launched` handle. The handle's ``ref`` is a string stored with the instance,
so a server that restarts can ``adopt`` a process still alive from its former life.
Output lines are collected by the runner and drained by the scheduler, which stores them.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runtara.errors import Error
from runtara.runtime.runners.resources import Limits


class LaunchError(Error):
    """The process could not be started (missing program, unknown image): no retry helps."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """One launch of one instance.

    ``argv``: the program and its arguments (for a container: its command, or None for
    the image's entry point). ``image``: the container image (docker runner only).
    """

    tenant_id: str
    instance_id: str
    argv: Sequence[str] | None
    environment: dict[str, str]
    limits: Limits = field(default_factory=Limits)
    image: str | None = None
    workdir: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exited:
    """How a process ended. ``exit_code`` is None when it could not be known (adopted)."""

    exit_code: int | None
    peak_memory_bytes: int | None = None
    cpu_time_ms: int | None = None

    def describe(self) -> str:
        if self.exit_code is None:
            return "the process ended (exit status unknown)"
        if self.exit_code < 0:
            return f"the process was killed by signal {-self.exit_code}"
        return f"the process exited with status {self.exit_code}"


LogLines = list[tuple[str, str]]
"""``(stream, line)`` pairs, stream ``stdout`` or ``stderr``."""


class Launched(abc.ABC):
    """A live instance process (or container)."""

    #: The limits actually in force (what the machine allowed), recorded on the instance.
    applied: dict[str, Any]

    @property
    @abc.abstractmethod
    def ref(self) -> str:
        """How to find it again after a server restart, and how far its output was read.

        Stored with the instance together with each batch of output lines, so an
        adopting server reads on from exactly there: no line lost, none twice.
        """

    @abc.abstractmethod
    async def wait(self) -> Exited:
        """Return once the process has ended (and its resources are released)."""

    @abc.abstractmethod
    def is_running(self) -> bool:
        """False once the process has ended."""

    @abc.abstractmethod
    async def terminate(self) -> None:
        """Ask it to stop (SIGTERM)."""

    @abc.abstractmethod
    async def kill(self) -> None:
        """Stop it now (SIGKILL), with everything it started."""

    def discard(self) -> None:  # noqa: B027 -- optional hook
        """After the end: remove what is kept only for adoption (output files)."""

    @abc.abstractmethod
    def drain_logs(self) -> LogLines:
        """Output lines collected since the last call (complete lines; the rest at exit)."""


class Runner(abc.ABC):
    name: str

    @abc.abstractmethod
    async def launch(self, spec: LaunchSpec) -> Launched:
        """Start the process; raise :class:`LaunchError` if it cannot start at all."""

    @abc.abstractmethod
    async def adopt(self, ref: str, spec: LaunchSpec) -> Launched | None:
        """The process ``ref`` if it is still alive on this machine, else None."""

    def close(self) -> None:  # noqa: B027 -- optional hook
        """Release what the runner holds (clients, threads)."""
