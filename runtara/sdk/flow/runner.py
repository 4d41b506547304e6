"""The step executor: what every generated step calls to be durable.

``Run.step`` is the whole contract of a step: look its position-scoped key up among the
instance's checkpoints (a resumed instance skips work already done), otherwise run the
body with retries (transient errors only, delay doubling each attempt or a server's
longer Retry-After, one ``retry_attempt`` record per retry) under the step's
``timeout``, save the step record as a checkpoint, and stop when the reply asks for
cancel or pause.

Checkpoint reads are skipped on a first run: ``start`` writes a ``@start`` marker
checkpoint, and when the runtime did not already hold it no other checkpoint can exist
yet, so each step costs exactly one round trip (its save).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from runtara.sdk.errors import Stopped
from runtara.sdk.flow.errors import StepFailed, StepTimeout, WorkflowStopped, WorkflowTimedOut
from runtara.sdk.flow.failures import as_step_failure, retry_wait_ms, stops
from runtara.sdk.flow.port import RuntimePort
from runtara.sdk.flow.scope import Scope, StepInfo
from runtara.sdk.terminal import terminal_safe

START_KEY = "@start"
#: Key of a checkpointed step failure (a record never has it).
FAILED = "@failed"
DEBUG_LIMIT = 10 * 1024
_MISSING: Any = object()


class Run:
    """One process's execution of a workflow instance against the runtime."""

    def __init__(
        self, runtime: RuntimePort, *, debug: bool = False, timeout_s: int | None = None
    ) -> None:
        self.runtime = runtime
        self.debug = debug
        self.timeout_s = timeout_s
        self.deadline: float | None = None
        self.replaying = True
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Any:
        """Register, learn whether earlier checkpoints exist, and return the input.

        The ``@start`` checkpoint keeps the input and the start time, so a process
        started again (after a crash or a durable sleep) sees the same input and the
        same ``executionTimeoutSeconds`` deadline.
        """
        self.runtime.register()
        data = self.runtime.input
        started = {"input": data, "startedAtMs": int(time.time() * 1000)}
        reply = self._save(START_KEY, started)
        if reply.existing_state is None:
            self.replaying = False
        else:
            started = _decode(reply.existing_state)
        if reply.should_cancel or reply.should_pause:
            raise WorkflowStopped("cancelled" if reply.should_cancel else "paused")
        if self.timeout_s:
            self.deadline = started.get("startedAtMs", 0) / 1000 + self.timeout_s
        return started.get("input", data)

    # ------------------------------------------------------------------ steps

    def step(
        self,
        sc: Scope,
        info: StepInfo,
        body: Callable[[], Any],
        *,
        retries: int = 0,
        retry_delay_ms: int = 1000,
        timeout_ms: int | None = None,
        inputs: Any = _MISSING,
    ) -> dict[str, Any]:
        """Run a checkpointed step whose body returns its ``outputs``."""
        return self.durable(
            sc,
            info,
            lambda: record(info, body()),
            retries=retries,
            retry_delay_ms=retry_delay_ms,
            timeout_ms=timeout_ms,
            inputs=inputs,
        )

    def durable(
        self,
        sc: Scope,
        info: StepInfo,
        compute: Callable[[], dict[str, Any]],
        *,
        retries: int = 0,
        retry_delay_ms: int = 1000,
        timeout_ms: int | None = None,
        inputs: Any = _MISSING,
    ) -> dict[str, Any]:
        """Run a checkpointed step whose ``compute`` returns its whole record.

        The failure (after the retries) of a step with an onError handler is
        checkpointed too, so a resumed instance takes the same path as before.
        """
        key = sc.key(info.id)
        saved = self.lookup(key) if info.durable else _MISSING
        if saved is not _MISSING:
            if FAILED in saved:
                raise StepFailed.from_record(saved[FAILED])
            sc.steps[info.id] = saved
            return saved
        if info.breakpoint and self.debug:
            self.breakpoint(info, key, inputs)
        started = time.monotonic()
        if self.debug:
            self._debug("step_debug_start", info, key, {"inputs": inputs})
        try:
            result = self.attempts(info, key, compute, retries, retry_delay_ms, timeout_ms)
        except StepFailed as failure:
            if self.debug:
                self._debug_end(info, key, started, {"error": failure.record()})
            if info.handled and info.durable:
                self.commit(key, {FAILED: failure.record()})
            raise
        if info.durable:
            result = self.commit(key, result)
        sc.steps[info.id] = result
        if self.debug:
            self._debug_end(info, key, started, {"outputs": result.get("outputs")})
        return result

    def breakpoint(self, info: StepInfo, key: str, inputs: Any) -> None:
        """Suspend before the step, once: a ``@breakpoint`` marker is saved first, so
        the resumed instance (which replays to here) goes on into the step."""
        marker = f"{key}/@breakpoint"
        if self.lookup(marker) is not _MISSING:
            return
        progress(f"{info.label}: breakpoint; suspended (resume the instance to go on)")
        self._debug("breakpoint_hit", info, key, {"inputs": inputs})
        self._save(marker, {"breakpoint": True})
        # From here on the checkpoints exist: a later pass must look before it runs.
        self.replaying = True
        raise WorkflowStopped("paused")

    def value(
        self,
        key: str,
        info: StepInfo,
        compute: Callable[[], Any],
        *,
        retries: int = 0,
        retry_delay_ms: int = 1000,
        timeout_ms: int | None = None,
    ) -> Any:
        """Checkpoint any value under ``key`` (a Split item, a While iteration)."""
        saved = self.lookup(key)
        if saved is not _MISSING:
            return saved["value"]
        result = self.attempts(
            info, key, lambda: {"value": compute()}, retries, retry_delay_ms, timeout_ms
        )
        return self.commit(key, result)["value"]

    def transient(self, sc: Scope, info: StepInfo, outputs: Any) -> dict[str, Any]:
        """Record a step that is never checkpointed (Connection)."""
        result = record(info, outputs)
        sc.steps[info.id] = result
        return result

    # ------------------------------------------------------------------ machinery

    def lookup(self, key: str) -> Any:
        """The saved state under ``key``, or ``_MISSING`` (always missing on a first run)."""
        if not self.replaying:
            return _MISSING
        with self._lock:
            state = self.runtime.get_checkpoint(key)
        return _MISSING if state is None else _decode(state)

    def commit(self, key: str, state: dict[str, Any]) -> dict[str, Any]:
        """Save ``state`` (or adopt one saved first), then obey cancel or pause."""
        reply = self._save(key, state)
        if reply.existing_state is not None:
            state = _decode(reply.existing_state)
        if reply.should_cancel:
            raise WorkflowStopped("cancelled")
        if reply.should_pause:
            raise WorkflowStopped("paused")
        if self.deadline is not None and time.time() > self.deadline:
            raise WorkflowTimedOut(self.timeout_s or 0)
        return state

    def attempts(
        self,
        info: StepInfo,
        key: str,
        compute: Callable[[], Any],
        retries: int,
        retry_delay_ms: int,
        timeout_ms: int | None,
    ) -> Any:
        """Run ``compute`` up to ``1 + retries`` times; raise ``StepFailed`` at the end."""
        attempt = 1
        while True:
            try:
                return _with_timeout(compute, timeout_ms)
            except (WorkflowStopped, Stopped):
                raise
            except Exception as exc:
                failure = as_step_failure(info.id, exc)
                if failure.category != "transient" or attempt > retries:
                    raise failure from exc
                time.sleep(retry_wait_ms(retry_delay_ms, attempt, exc) / 1000)
                attempt += 1
                # The failed attempt may have checkpointed steps inside it (a Split
                # item, an embedded child): from now on, look before running.
                self.replaying = True
                with self._lock:
                    self.runtime.retry_attempt(key, attempt, failure.message)

    def connection(self, connection_id: str) -> Any:
        with self._lock:
            return self.runtime.connection(connection_id)

    def sleep(self, duration: timedelta, key: str) -> None:
        """A durable sleep (the runtime may end this process and start it again when due).

        Holds the runtime lock: the client is one connection, so in a parallel Split the
        other items wait for their next checkpoint meanwhile.
        """
        with self._lock, stops():
            self.runtime.durable_sleep(duration, key=key)

    def wait_for_signal(self, key: str, timeout_s: float | None, poll_s: float) -> Any:
        with self._lock, stops():
            return self.runtime.wait_for_signal(key, timeout=timeout_s, poll_interval=poll_s)

    def event(self, subtype: str, payload: Any) -> None:
        with self._lock:
            self.runtime.event(subtype, payload)

    def _save(self, key: str, state: Any) -> Any:
        with self._lock:
            return self.runtime.checkpoint(key, state)

    def _debug(self, subtype: str, info: StepInfo, key: str, extra: dict[str, Any]) -> None:
        payload = {
            "step_id": info.id,
            "step_name": info.name,
            "step_type": info.type,
            "checkpoint_id": key,
            "timestamp_ms": int(time.time() * 1000),
        }
        payload.update(
            {name: truncate(redact(v)) for name, v in extra.items() if v is not _MISSING}
        )
        self.event(subtype, payload)

    def _debug_end(self, info: StepInfo, key: str, started: float, extra: dict[str, Any]) -> None:
        extra["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        self._debug("step_debug_end", info, key, extra)


def record(info: StepInfo, outputs: Any, **extra: Any) -> dict[str, Any]:
    """A step record as references read it: ``steps.<id>.outputs``."""
    return {
        "stepId": info.id,
        "stepName": info.label,
        "stepType": info.type,
        "outputs": outputs,
        **extra,
    }


def redact(value: Any) -> Any:
    """Debug payloads never carry a connection handed to a secure agent."""
    if isinstance(value, dict) and "_connection" in value:
        return {**value, "_connection": "[redacted]"}
    return value


def truncate(value: Any, limit: int = DEBUG_LIMIT) -> Any:
    """Keep debug payloads small: values whose JSON exceeds ``limit`` bytes are cut."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text.encode()) <= limit:
        return value
    cut = text.encode()[:limit].decode(errors="ignore")
    return {"truncated": True, "size": len(text.encode()), "preview": cut}


def _with_timeout(compute: Callable[[], Any], timeout_ms: int | None) -> Any:
    """Run ``compute``; with a timeout it runs on a daemon thread that is abandoned late.

    Python cannot kill a thread, so an attempt that overruns keeps running in the
    background while the step moves on (retry or failure); its result is discarded.
    """
    if not timeout_ms:
        return compute()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = compute()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="runtara-step", daemon=True)
    worker.start()
    worker.join(timeout_ms / 1000)
    if worker.is_alive():
        raise StepTimeout(f"timed out after {timeout_ms} ms")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _decode(state: Any) -> Any:
    if isinstance(state, bytes | bytearray):
        return json.loads(state)
    return state


def progress(message: str) -> None:
    """Progress for people, on stderr (stdout is the workflow output's), one line each:
    control characters in it (from data a stranger wrote) are shown escaped."""
    print(terminal_safe(message), file=sys.stderr, flush=True)
