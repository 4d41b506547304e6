"""What the SDK raises. ``Cancelled`` and ``Paused`` are also for workflow code to raise:
they unwind the stack to the entry point, which reports the instance accordingly."""

from __future__ import annotations

from runtara.agents.errors import InstanceError


class RuntaraError(InstanceError):
    """Base of every SDK error (the image-side tree is drawn in ``runtara.agents.errors``)."""


class ConfigurationError(RuntaraError):
    """The environment does not say which instance this is (``RUNTARA_*`` variables)."""


class RuntimeUnavailable(RuntaraError):
    """The runtime could not be reached for the whole retry window."""


class ProtocolError(RuntaraError):
    """The runtime refused a request (a 4xx/5xx problem document)."""

    def __init__(
        self, status: int, title: str, detail: str, *, instance_status: str | None = None
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        #: The status an ended instance ended with (its token stopped working then).
        self.instance_status = instance_status


class StateTooLarge(ProtocolError):
    """A checkpoint state (or output) exceeds the runtime's size limit (HTTP 413)."""


class CheckpointDiverged(RuntaraError):
    """A buffered checkpoint was found saved before with a different state (another
    process of this instance ran meanwhile). What was computed from it is not saved;
    end the process as after a crash, and the rerun replays what is stored."""


class Stopped(RuntaraError):
    """The instance was asked to stop; raise (or let propagate) to unwind."""


class Cancelled(Stopped):
    """The instance was cancelled: end without reporting an outcome (it is ``cancelled``)."""


class Paused(Stopped):
    """The instance was paused: report ``suspended()`` and end; resume continues it."""
