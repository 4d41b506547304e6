"""Errors raised by capabilities, classified so the runtime knows whether to retry.

A transient error (timeout, 429, 5xx, connection reset) is retried with backoff up to
the step's ``maxRetries``; a permanent one (bad input, 4xx, parse error) fails at once.

This module also holds the root of the image-side error tree, ``InstanceError``: it
sits here, at the bottom of the image side (``runtara.sdk`` imports ``runtara.agents``,
never the reverse), because image-side code may import only the standard library and
so cannot share the host's ``runtara.errors.Error``::

    InstanceError                       runtara.agents.errors
    ├── AgentError                      (code, category, details; to_json())
    │   ├── PermanentError
    │   │   ├── InputError
    │   │   ├── UnknownCapabilityError
    │   │   ├── CalculationError        runtara.agents._calc
    │   │   └── TemplateError           runtara.agents._template
    │   └── TransientError
    ├── AgentLoadError (+ RuntimeError) runtara.agents.catalog (a plugin failed to load)
    ├── RuntaraError                    runtara.sdk.errors (the SDK; ``runtara.sdk``)
    │   ├── ConfigurationError
    │   ├── RuntimeUnavailable
    │   ├── ProtocolError
    │   │   └── StateTooLarge
    │   ├── CheckpointDiverged
    │   └── Stopped
    │       ├── Cancelled
    │       └── Paused
    ├── FlowError                       runtara.sdk.flow.errors
    │   ├── CoercionError
    │   └── InputValidationError
    ├── StepTimeout
    └── StepFailed

    BaseException (outside the tree on purpose, so no ``except Exception`` in a
    capability or handler can swallow them)
    ├── WorkflowStopped                 runtara.sdk.flow.errors
    └── WorkflowTimedOut
"""

from __future__ import annotations

from typing import Any, Literal

Category = Literal["transient", "permanent"]


class InstanceError(Exception):
    """Root of every error image-side code raises on purpose (agents, SDK, flow executor)."""


class AgentError(InstanceError):
    """A capability failed. ``code`` is stable and machine-readable (e.g. ``HTTP_401``)."""

    category: Category = "permanent"

    def __init__(
        self,
        message: str,
        *,
        code: str = "AGENT_ERROR",
        category: Category | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if category is not None:
            self.category = category
        self.details = details or {}
        #: Set by ``runtara.agents.invoke`` so that logs and events can name the step.
        self.step_id: str | None = None
        self.capability: str | None = None
        #: A server's Retry-After, in milliseconds, when it sent one (HTTP 429 / 503).
        self.retry_after_ms: int | None = None

    @property
    def transient(self) -> bool:
        return self.category == "transient"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "category": self.category,
        }
        if self.step_id is not None:
            out["stepId"] = self.step_id
        if self.capability is not None:
            out["capability"] = self.capability
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        if self.details:
            out["details"] = self.details
        return out


class PermanentError(AgentError):
    category: Category = "permanent"


class TransientError(AgentError):
    category: Category = "transient"


class InputError(PermanentError):
    """An input is missing or of the wrong type; the message names capability and field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code="INVALID_INPUT", details={"field": field} if field else None)
        self.field = field


class UnknownCapabilityError(PermanentError):
    """The workflow names an agent or capability that is not in the catalog."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="UNKNOWN_CAPABILITY")
