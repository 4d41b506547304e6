"""Errors raised by capabilities, classified so the runtime knows whether to retry.

A transient error (timeout, 429, 5xx, connection reset) is retried with backoff up to
the step's ``maxRetries``; a permanent one (bad input, 4xx, parse error) fails at once.
"""

from __future__ import annotations

from typing import Any, Literal

Category = Literal["transient", "permanent"]


class AgentError(Exception):
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

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "code": self.code,
            "category": self.category,
            **({"details": self.details} if self.details else {}),
        }


class PermanentError(AgentError):
    category: Category = "permanent"


class TransientError(AgentError):
    category: Category = "transient"


class InputError(PermanentError):
    """An input is missing or of the wrong type; the message names capability and field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code="INVALID_INPUT", details={"field": field} if field else None)
        self.field = field
