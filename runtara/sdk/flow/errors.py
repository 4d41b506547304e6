"""Errors raised while a generated workflow runs.

A ``StepFailed`` always names the step, so the instance's error says where it broke;
its ``category`` decides whether the executor retries (transient) or gives up at once
(permanent). ``steps.error`` inside an onError handler is ``StepFailed.record()``.
"""

from __future__ import annotations

from typing import Any, Literal

from runtara.agents.errors import InstanceError

Category = Literal["transient", "permanent"]


class FlowError(InstanceError):
    """A value could not be used as the workflow asked (bad coercion, bad input, ...).

    Raised by the pure helpers; the executor turns it into a permanent ``StepFailed``
    naming the step it happened in.
    """

    code = "INVALID_VALUE"


class CoercionError(FlowError):
    code = "TYPE_COERCION"


class InputValidationError(FlowError):
    code = "INVALID_INPUT"


class StepTimeout(InstanceError):
    """An attempt ran longer than the step's ``timeout``; transient, so it is retried."""


class StepFailed(InstanceError):
    """A step failed after its retries; handled by an onError edge or fails the instance."""

    def __init__(
        self,
        step_id: str,
        message: str,
        *,
        code: str | None = None,
        category: Category = "permanent",
        context: Any = None,
    ) -> None:
        named = message.startswith(f"step {step_id!r}")
        super().__init__(message if named else f"step {step_id!r} failed: {message}")
        self.step_id = step_id
        self.message = message
        self.code = code
        self.category: Category = category
        self.context = context

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StepFailed:
        """The failure again, from its ``record()`` (as checkpointed)."""
        return cls(
            record["stepId"],
            record["message"],
            code=record.get("code"),
            category=record.get("category", "permanent"),
            context=record.get("context"),
        )

    def record(self) -> dict[str, Any]:
        """The ``steps.error`` object an onError handler reads."""
        out: dict[str, Any] = {
            "message": self.message,
            "stepId": self.step_id,
            "code": self.code,
            "category": self.category,
        }
        if self.context is not None:
            out["context"] = self.context
        return out


class WorkflowStopped(BaseException):
    """The instance must stop now (cancel or pause); never caught by onError handlers.

    A ``BaseException`` so that no ``except Exception`` in a capability or handler can
    swallow it on its way out to ``flow.main``.
    """

    def __init__(self, reason: Literal["cancelled", "paused"]) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkflowTimedOut(BaseException):
    """The instance ran past ``executionTimeoutSeconds``; it fails, whatever handlers say."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"workflow timed out after {seconds} s (executionTimeoutSeconds)")
        self.seconds = seconds
