"""``@durable``: run a function once per idempotency key, ever, with retries.

    @durable(retries=3, retry_delay=0.5)
    def charge(order_id: str, amount: int) -> dict: ...

    charge("order-42", 100)   # first positional argument = idempotency key

The result (JSON-encodable) is checkpointed under ``durable::<function>::<key>``. A
rerun after a crash returns the saved result without calling the function. A failing
call is retried ``retries`` times, waiting ``retry_delay * 2**(n-1)`` seconds before
the n-th retry, each retry recorded by the runtime; the last error is re-raised.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from runtara.sdk.errors import Cancelled, Paused, Stopped
from runtara.sdk.instance import Runtara

P = ParamSpec("P")
T = TypeVar("T")


def durable(
    fn: Callable[P, T] | None = None,
    *,
    retries: int = 3,
    retry_delay: float = 1.0,
    name: str | None = None,
    runtime: Runtara | None = None,
) -> Any:
    """Decorator (bare ``@durable`` or ``@durable(retries=..., ...)``); see module doc."""

    def wrap(func: Callable[P, T]) -> Callable[P, T]:
        label = name or func.__qualname__

        @functools.wraps(func)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            if not args:
                raise TypeError(f"{label}: a durable function takes its idempotency key first")
            rt = runtime or Runtara.current()
            key = f"durable::{label}::{args[0]}"
            saved = rt.get_checkpoint(key)
            if saved is not None:
                return saved
            result = _attempts(rt, key, lambda: func(*args, **kwargs), retries, retry_delay)
            reply = rt.checkpoint(key, result)
            if reply.should_cancel:
                raise Cancelled(f"instance {rt.instance_id} was cancelled")
            if reply.should_pause:
                raise Paused(f"instance {rt.instance_id} was paused")
            return result if reply.existing_state is None else reply.existing_state

        return call

    return wrap(fn) if fn is not None else wrap


def _attempts(rt: Runtara, key: str, run: Callable[[], T], retries: int, retry_delay: float) -> T:
    attempt = 1
    while True:
        try:
            return run()
        except Stopped:
            raise
        except Exception as exc:
            if attempt > retries:
                raise
            time.sleep(retry_delay * 2 ** (attempt - 1))
            attempt += 1
            rt.retry_attempt(key, attempt, f"{type(exc).__name__}: {exc}")
