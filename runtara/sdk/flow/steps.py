"""Steps without nested graphs whose run-time work is more than one expression.

Agent, Conditional, Switch and Finish are plain generated code around ``Run.step``;
what is here needs the runtime (Delay, WaitForSignal, Log, Connection) or is a small
data operation better written once (Filter, GroupBy, Finish's ``outputs`` rule).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from runtara.sdk.errors import ProtocolError
from runtara.sdk.flow.conditions import truthy
from runtara.sdk.flow.errors import Category, InputValidationError, StepFailed
from runtara.sdk.flow.paths import get
from runtara.sdk.flow.runner import Run, progress, record
from runtara.sdk.flow.schema import validate_input
from runtara.sdk.flow.scope import Scope, StepInfo

LOG_LEVELS = ("debug", "info", "warn", "error")


def delay(run: Run, sc: Scope, info: StepInfo, duration_ms: Any, *, durable: bool) -> Any:
    """Wait ``duration_ms``: durably (the runtime may end the process) or in place."""
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int | float):
        raise StepFailed(info.id, f"durationMs must be a number, got {duration_ms!r}")
    if duration_ms < 0:
        raise StepFailed(info.id, f"durationMs must not be negative, got {duration_ms}")
    key = sc.key(info.id)

    def wait() -> Any:
        if durable:
            progress(f"{info.label}: sleeping {duration_ms / 1000:g} s (durable)")
            run.sleep(timedelta(milliseconds=duration_ms), key + "/sleep")
        else:
            time.sleep(duration_ms / 1000)
        outputs = {"durationMs": duration_ms, "durable": durable}
        # Runtara also reads the duration from the record itself (steps.<id>.duration_ms).
        return record(info, outputs, duration_ms=duration_ms)

    return run.durable(sc, info, wait, inputs={"durationMs": duration_ms})


def wait_for_signal(
    run: Run,
    sc: Scope,
    info: StepInfo,
    *,
    on_wait: Callable[[Run, Scope], Any] | None = None,
    timeout_ms: Any = None,
    poll_interval_ms: int = 1000,
    response_schema: dict[str, Any] | None = None,
) -> Any:
    """Run ``onWait`` once, then wait durably for a custom signal sent to this step.

    The signal is addressed to the step's checkpoint key (``approve``, or
    ``orders/split[3]/approve`` inside a Split); the runtime saves its payload as that
    checkpoint, which is what makes the wait durable, so no separate record is saved.
    """
    key = sc.key(info.id)
    if timeout_ms is not None and (
        isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int | float) or timeout_ms < 0
    ):
        raise StepFailed(info.id, f"timeoutMs must be a number >= 0, got {timeout_ms!r}")
    try:
        if on_wait is not None:
            child = sc.child(data=sc.data, variables=sc.variables, prefix=key + "/onWait/")
            run.value(key + "/onWait", info, lambda: on_wait(run, child))
        progress(f"{info.label}: waiting for a signal to checkpoint {key!r}")
        payload = run.wait_for_signal(
            key, None if timeout_ms is None else timeout_ms / 1000, poll_interval_ms / 1000
        )
    except StepFailed as failure:
        raise StepFailed(
            info.id, failure.message, code=failure.code, category=failure.category
        ) from failure
    if payload is None and timeout_ms is not None:
        raise StepFailed(
            info.id, f"no signal arrived within {timeout_ms} ms", code="SIGNAL_TIMEOUT"
        )
    if response_schema:
        try:
            payload = validate_input(payload, response_schema)
        except InputValidationError as exc:
            message = str(exc).replace("input", "signal payload", 1)
            raise StepFailed(info.id, message, code="INVALID_SIGNAL_PAYLOAD") from None
    result = record(info, payload, payload=payload, signal_id=key)
    sc.steps[info.id] = result
    return result


def log(run: Run, sc: Scope, info: StepInfo, level: str, message: str, context: Any = None) -> Any:
    """Emit a ``workflow_log`` event and a line on stderr (once: the step is checkpointed)."""

    def emit() -> Any:
        extra = f" {json.dumps(context, default=str)}" if context else ""
        progress(f"[{level}] {info.label}: {message}{extra}", "log")
        run.event(
            "workflow_log",
            {
                "step_id": info.id,
                "step_name": info.name,
                "level": level,
                "message": message,
                "context": context,
                "timestamp_ms": int(time.time() * 1000),
            },
        )
        return {"level": level, "message": message}

    return run.step(sc, info, emit)


def fail(
    info: StepInfo,
    *,
    category: Category,
    code: str,
    message: str,
    severity: str | None = None,
    context: Any = None,
) -> StepFailed:
    """The failure an Error step raises (codegen writes ``raise flow.fail(...)``)."""
    details = context if severity is None else {"severity": severity, "context": context}
    return StepFailed(info.id, message, code=code, category=category, context=details)


def connection(run: Run, sc: Scope, info: StepInfo, connection_id: str, integration_id: str) -> Any:
    """A Connection step: fetch a stored connection; never checkpointed or logged."""
    return run.transient(sc, info, fetch_connection(run, info, connection_id, integration_id))


def fetch_connection(
    run: Run, info: StepInfo, connection_id: str, integration_id: str | None = None
) -> dict[str, Any]:
    """``{integration_id, parameters, connection_subtype}``, as a secure agent receives it."""
    try:
        fetched = run.connection(connection_id)
    except ProtocolError as exc:
        if exc.status != 404:
            raise StepFailed(
                info.id, f"connection {connection_id!r} could not be fetched: {exc}"
            ) from exc
        raise StepFailed(
            info.id,
            f"connection {connection_id!r} is not stored for this tenant (give it to "
            f"`runtara run` as --connection {connection_id}=@FILE.json, or store it with "
            "`runtara connections create`)",
            code="CONNECTION_NOT_FOUND",
        ) from exc
    except Exception as exc:
        raise StepFailed(
            info.id, f"connection {connection_id!r} could not be fetched: {exc}"
        ) from exc
    if not isinstance(fetched, dict):
        raise StepFailed(info.id, f"connection {connection_id!r} is not an object")
    if "parameters" not in fetched:
        fetched = {"parameters": fetched}
    return {
        "integration_id": fetched.get("integration_id")
        or fetched.get("integrationId")
        or integration_id,
        "parameters": fetched["parameters"],
        "connection_subtype": fetched.get("connection_subtype"),
    }


def finish(output: dict[str, Any]) -> Any:
    """A Finish step's workflow output: its object, or the ``outputs`` key inside it."""
    if isinstance(output, dict) and "outputs" in output:
        return output["outputs"]
    return output


def filter_items(info: StepInfo, items: Any, keep: Callable[[Any], Any]) -> dict[str, Any]:
    """Filter: ``{items, count}``, the items for which the condition (``item.*``) holds,
    in order, and how many there are (Runtara's shape)."""
    if items is None:
        items = []
    if not isinstance(items, list):
        raise StepFailed(info.id, f"Filter value must be an array, got {type(items).__name__}")
    kept = [item for item in items if truthy(keep(item))]
    return {"items": kept, "count": len(kept)}


def group_by(
    info: StepInfo, items: Any, key: tuple[str | int, ...], expected_keys: list[str] | None = None
) -> dict[str, Any]:
    """GroupBy: ``{groups: {key: [items]}, counts: {key: n}, total_groups}``.

    Keys are the text of the value at ``key`` in each item (``_null`` for a missing one);
    ``expectedKeys`` are present even when empty, in their given order.
    """
    if items is None:
        items = []
    if not isinstance(items, list):
        raise StepFailed(info.id, f"GroupBy value must be an array, got {type(items).__name__}")
    groups: dict[str, list[Any]] = {name: [] for name in expected_keys or []}
    for item in items:
        value = get(item, *key)
        name = "_null" if value is None else _group_name(value)
        groups.setdefault(name, []).append(item)
    counts = {name: len(members) for name, members in groups.items()}
    return {"groups": groups, "counts": counts, "total_groups": len(groups)}


def _group_name(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


__all__ = [
    "LOG_LEVELS",
    "connection",
    "delay",
    "fail",
    "fetch_connection",
    "filter_items",
    "finish",
    "group_by",
    "log",
    "record",
    "wait_for_signal",
]
