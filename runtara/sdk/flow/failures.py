"""How a failure inside a step is classified, and what a stop request looks like.

Any exception a step raises becomes a ``StepFailed`` naming the step, transient or
permanent (which decides whether it is retried, and how long to wait first); the SDK's
``Cancelled`` / ``Paused`` become ``WorkflowStopped``, which no handler may catch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

from runtara.sdk.errors import Cancelled, Paused, Stopped
from runtara.sdk.flow.errors import Category, FlowError, StepFailed, StepTimeout, WorkflowStopped
from runtara.sdk.flow.scope import StepInfo

#: The longest wait a server's Retry-After may impose between two attempts of a step.
MAX_RETRY_AFTER_MS = 10 * 60 * 1000
F = TypeVar("F", bound=Callable[..., Any])


def as_step_failure(step_id: str, exc: BaseException) -> StepFailed:
    """Classify any exception raised inside a step as a ``StepFailed`` naming it."""
    if isinstance(exc, StepFailed):
        if exc.step_id == step_id:
            return exc
        return StepFailed(
            step_id, exc.message, code=exc.code, category=exc.category, context=exc.context
        )
    category: Category = "permanent"
    code: str | None = None
    message = str(exc) or type(exc).__name__
    declared = getattr(exc, "category", None)
    if declared in ("transient", "permanent"):
        category = declared
        code = getattr(exc, "code", None)
        message = getattr(exc, "message", message)
    elif isinstance(exc, StepTimeout):
        category, code = "transient", "TIMEOUT"
    elif isinstance(exc, FlowError):
        code = exc.code
    elif isinstance(exc, TimeoutError | ConnectionError):
        category, code = "transient", type(exc).__name__.upper()
    elif isinstance(exc, OSError):
        category, code = "transient", "OS_ERROR"
    else:
        code = type(exc).__name__
    return StepFailed(step_id, message, code=code, category=category)


def retry_wait_ms(retry_delay_ms: int, attempt: int, error: BaseException) -> float:
    """The wait before attempt ``attempt + 1``: ``retryDelay`` doubled each attempt, or
    the Retry-After a server sent with the error (the HTTP agent passes on one too long
    to sleep inside its call) when that is longer, up to ``MAX_RETRY_AFTER_MS``."""
    wait = float(retry_delay_ms * 2 ** (attempt - 1))
    asked = getattr(error, "retry_after_ms", None)
    if isinstance(asked, int | float) and not isinstance(asked, bool):
        wait = max(wait, min(float(asked), MAX_RETRY_AFTER_MS))
    return wait


def guard(info: StepInfo) -> Callable[[F], F]:
    """Decorate a generated step function: any error inside it names the step.

    Resolving a mapping (a strict coercion, a bad template filter argument) happens in
    the step function itself, so this is what turns such an error into a permanent
    ``StepFailed`` that an onError edge can handle.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except (StepFailed, Stopped):
                raise
            except Exception as exc:
                raise as_step_failure(info.id, exc) from exc

        return guarded  # type: ignore[return-value]

    return decorate


def stop_reason(exc: BaseException) -> Literal["cancelled", "paused"] | None:
    """Map a stop request (ours, or the SDK's own exception) to its reason."""
    if isinstance(exc, WorkflowStopped):
        return exc.reason
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, Paused):
        return "paused"
    return None


@contextlib.contextmanager
def stops() -> Iterator[None]:
    """The SDK's Cancelled / Paused as ``WorkflowStopped`` (which no handler catches)."""
    try:
        yield
    except Cancelled:
        raise WorkflowStopped("cancelled") from None
    except Paused:
        raise WorkflowStopped("paused") from None
