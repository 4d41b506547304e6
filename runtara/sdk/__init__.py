"""``runtara.sdk``: what a running workflow instance uses (standard library only).

Checkpoints, durable sleeps, signals, events and completion, over HTTP to the
runtime service; see ``Runtara`` for the API and ``durable`` for cached functions.
"""

from runtara.sdk.durable import durable
from runtara.sdk.errors import (
    Cancelled,
    CheckpointDiverged,
    ConfigurationError,
    Paused,
    ProtocolError,
    RuntaraError,
    RuntimeUnavailable,
    StateTooLarge,
    Stopped,
)
from runtara.sdk.instance import CheckpointResult, Runtara

__all__ = [
    "Cancelled",
    "CheckpointDiverged",
    "CheckpointResult",
    "ConfigurationError",
    "Paused",
    "ProtocolError",
    "Runtara",
    "RuntaraError",
    "RuntimeUnavailable",
    "StateTooLarge",
    "Stopped",
    "durable",
]
