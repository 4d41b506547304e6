"""OpenTelemetry traces, derived by the runtime from what instances already report.

With the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) set, the
server exports over OTLP/HTTP one trace per instance: a root span for the instance
(created -> finished, its status and error) and a child span per step, Split item and
While iteration, and durable sleep. Spans carry ids, types, keys, attempts and sizes;
never inputs, outputs, checkpoint states or connection parameters.

Why here and not in the instance: image-side code (``runtara.sdk``, generated modules)
imports only the standard library, and every step already ends in a checkpoint save
the runtime receives (with the step record: ``stepId``, ``stepType``), retries are
reported one by one, and the end of an instance is recorded by the runtime whichever
way it comes (reported, crashed, cancelled, timed out). So the runtime sees every
fact a span needs, images stay small, and an instance that crashes mid-step cannot
lose its spans. A step span runs from the instance's previous checkpoint (or its
process registering) to its own save: the time the step took, as the runtime saw it.

The trace id is derived from tenant and instance id, so the runs of one instance
(before and after a crash or a durable sleep, on any replica) land in one trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from runtara.runtime.status import TERMINAL
from runtara.runtime.store.checkpoints import SLEEP_CONTENT_TYPE
from runtara.runtime.store.instances import Instance

log = logging.getLogger("runtara.tracing")

SCOPE = "runtara.runtime"
START_KEY = "@start"
FAILED_KEY = "@failed"
#: Instances followed at once (the oldest are forgotten past it).
MAX_TRACKED = 50_000
#: A state larger than this is not parsed for its step record (its head still is).
MAX_PARSED_STATE = 1024 * 1024
MAX_MESSAGE = 1000
_POSITION = re.compile(r"^(split|while)\[(\d+)\]$")


def enabled_by_env(env: os._Environ[str] | dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


@dataclass
class _Track:
    """What is known of one instance between its reports."""

    last_ns: int
    retries: dict[str, list[tuple[int, int, str | None]]] = field(default_factory=dict)
    """checkpoint key -> (time ns, attempt, error) of each retry before it was saved."""
    sleeps: set[str] = field(default_factory=set)
    """Sleep keys already drawn (a process started again asks for the same sleep)."""


class Tracing:
    """Turns checkpoint saves, retries, sleeps and instance ends into spans."""

    def __init__(self, processor: Any, resource: Any) -> None:
        self._processor = processor
        self._resource = resource
        self._tracks: OrderedDict[tuple[str, str], _Track] = OrderedDict()
        self._ended: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        from runtara import __version__

        self._scope = InstrumentationScope(SCOPE, __version__)

    @classmethod
    def from_env(cls) -> Tracing | None:
        """The exporter the ``OTEL_*`` environment asks for, or None when it asks for none."""
        if not enabled_by_env():
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from runtara import __version__

        attributes: dict[str, str] = {"service.version": __version__}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes[SERVICE_NAME] = "runtara"
        return cls(BatchSpanProcessor(OTLPSpanExporter()), Resource.create(attributes))

    def shutdown(self) -> None:
        """Export what is queued (called when the server stops)."""
        try:
            self._processor.shutdown()
        except Exception:  # an unreachable collector must not fail the shutdown
            log.exception("exporting the last spans failed")

    # -- what instances report ----------------------------------------------------------

    def registered(self, tenant_id: str, instance_id: str) -> None:
        """A process of the instance started: its first step starts now."""
        with self._lock:
            self._track(tenant_id, instance_id).last_ns = time.time_ns()

    def retried(
        self, tenant_id: str, instance_id: str, key: str, attempt: int, error: str | None
    ) -> None:
        with self._lock:
            track = self._track(tenant_id, instance_id)
            track.retries.setdefault(key, []).append((time.time_ns(), attempt, error))

    def checkpoint(
        self, tenant_id: str, instance_id: str, key: str, state: bytes, content_type: str
    ) -> None:
        """A new checkpoint was saved: the span of the step (or item) it ends."""
        now = time.time_ns()
        with self._lock:
            track = self._track(tenant_id, instance_id)
            start, track.last_ns = track.last_ns, now
            retries = track.retries.pop(key, [])
        if key == START_KEY or content_type == SLEEP_CONTENT_TYPE:
            return
        record = _record(state, content_type)
        failure = record.get(FAILED_KEY) if isinstance(record.get(FAILED_KEY), dict) else None
        step_id = record.get("stepId") if isinstance(record.get("stepId"), str) else None
        step_type = record.get("stepType") if isinstance(record.get("stepType"), str) else None
        if failure is not None:
            step_id = failure.get("stepId") if isinstance(failure.get("stepId"), str) else step_id
        item = _position(key)
        attributes: dict[str, Any] = {
            "runtara.tenant.id": tenant_id,
            "runtara.instance.id": instance_id,
            "runtara.checkpoint.key": key,
            "runtara.checkpoint.size": len(state),
            "runtara.step.attempt": 1 + len(retries),
        }
        if step_id:
            attributes["runtara.step.id"] = step_id
        if step_type:
            attributes["runtara.step.type"] = step_type
        if item is not None:
            attributes["runtara.step.id"] = item[0]
            attributes["runtara.item.index"] = item[1]
            attributes["runtara.step.type"] = item[2]
        name = f"step {step_id}" if step_id and item is None else key
        events = [
            _event(
                "retry",
                at,
                {"runtara.step.attempt": attempt, **_error_attributes(error)},
            )
            for at, attempt, error in retries
        ]
        error = None
        if failure is not None:
            error = _message(failure.get("message"))
            events.append(
                _event(
                    "exception",
                    now,
                    {
                        "exception.type": str(
                            failure.get("code") or failure.get("category") or "StepFailed"
                        ),
                        "exception.message": error,
                    },
                )
            )
        self._emit(tenant_id, instance_id, name, start, now, attributes, events, error)

    def sleeping(self, tenant_id: str, instance_id: str, key: str, wake_at_ms: int) -> None:
        """A durable sleep: its span lasts until it is due."""
        now = time.time_ns()
        with self._lock:
            track = self._track(tenant_id, instance_id)
            track.last_ns = now
            if key in track.sleeps:
                return
            track.sleeps.add(key)
        attributes = {
            "runtara.tenant.id": tenant_id,
            "runtara.instance.id": instance_id,
            "runtara.checkpoint.key": key,
            "runtara.step.type": "sleep",
        }
        self._emit(
            tenant_id,
            instance_id,
            f"sleep {key}",
            now,
            max(now, wake_at_ms * 1_000_000),
            attributes,
            [],
            None,
        )

    def ended(self, instance: Instance, image_label: str | None = None) -> None:
        """The instance reached a final status: its root span, once."""
        if instance.status not in TERMINAL:
            return
        key = (instance.tenant_id, instance.id)
        with self._lock:
            if key in self._ended:
                return
            self._ended[key] = None
            if len(self._ended) > MAX_TRACKED:
                self._ended.popitem(last=False)
            self._tracks.pop(key, None)
        attributes: dict[str, Any] = {
            "runtara.tenant.id": instance.tenant_id,
            "runtara.instance.id": instance.id,
            "runtara.instance.status": instance.status,
            "runtara.instance.launches": instance.attempts,
        }
        if instance.image_id:
            attributes["runtara.image.id"] = instance.image_id
        if image_label:
            attributes["runtara.image"] = image_label
        error = None
        events = []
        end_ns = (instance.finished_at or instance.updated_at) * 1_000_000
        if instance.status == "failed":
            error = _message(
                instance.error.get("message")
                if isinstance(instance.error, dict)
                else instance.error
            )
            events.append(
                _event(
                    "exception",
                    end_ns,
                    {"exception.type": "InstanceFailed", "exception.message": error},
                )
            )
            if isinstance(instance.error, dict) and isinstance(instance.error.get("stepId"), str):
                attributes["runtara.step.id"] = instance.error["stepId"]
        self._emit(
            instance.tenant_id,
            instance.id,
            f"instance {image_label or instance.image_id or instance.id}",
            instance.created_at * 1_000_000,
            end_ns,
            attributes,
            events,
            error,
            root=True,
        )

    # -- machinery ----------------------------------------------------------------------

    def _track(self, tenant_id: str, instance_id: str) -> _Track:
        key = (tenant_id, instance_id)
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(time.time_ns())
            if len(self._tracks) > MAX_TRACKED:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(key)
        return track

    def _emit(
        self,
        tenant_id: str,
        instance_id: str,
        name: str,
        start_ns: int,
        end_ns: int,
        attributes: dict[str, Any],
        events: list[Any],
        error: str | None,
        *,
        root: bool = False,
    ) -> None:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        trace_id, root_id = trace_ids(tenant_id, instance_id)
        sampled = TraceFlags(TraceFlags.SAMPLED)
        parent = (
            None if root else SpanContext(trace_id, root_id, is_remote=False, trace_flags=sampled)
        )
        span_id = root_id if root else int.from_bytes(os.urandom(8), "big") or 1
        span = ReadableSpan(
            name=name,
            context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=sampled),
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            events=events,
            kind=SpanKind.INTERNAL,
            status=Status(StatusCode.ERROR, error)
            if error is not None
            else Status(StatusCode.OK if root else StatusCode.UNSET),
            start_time=min(start_ns, end_ns),
            end_time=end_ns,
            instrumentation_scope=self._scope,
        )
        try:
            self._processor.on_end(span)
        except Exception:  # tracing never breaks what it observes
            log.exception("queueing a span failed")


def trace_ids(tenant_id: str, instance_id: str) -> tuple[int, int]:
    """(trace id, root span id) of an instance: the same on every run and replica."""
    digest = hashlib.sha256(f"runtara trace\0{tenant_id}\0{instance_id}".encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def _record(state: bytes, content_type: str) -> dict[str, Any]:
    """The step record a checkpoint holds (``{}`` for any other state)."""
    if "json" not in content_type and not state.startswith(b"{"):
        return {}
    if len(state) > MAX_PARSED_STATE:
        return {}
    try:
        value = json.loads(state)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _position(key: str) -> tuple[str, int, str] | None:
    """``orders/split[3]`` -> ("orders", 3, "split item")."""
    head, sep, last = key.rpartition("/")
    found = _POSITION.match(last) if sep else None
    if found is None:
        return None
    kind = "split item" if found.group(1) == "split" else "while iteration"
    return head.rsplit("/", 1)[-1], int(found.group(2)), kind


def _message(value: Any) -> str:
    from runtara.agents.redaction import redact

    text = value if isinstance(value, str) else json.dumps(redact(value), default=str)
    return text[:MAX_MESSAGE]


def _error_attributes(error: str | None) -> dict[str, str]:
    return {} if not error else {"exception.message": _message(error)}


def _event(name: str, at_ns: int, attributes: dict[str, Any]) -> Any:
    from opentelemetry.sdk.trace import Event

    return Event(name, attributes, timestamp=at_ns)


async def instance_ended(app_state: Any, tenant_id: str, instance_id: str) -> None:
    """If tracing is on and the instance has ended, export its root span (with the
    image's name). Called wherever an instance can end: its own report, a cancel, the
    scheduler seeing its process exit."""
    tracing: Tracing | None = getattr(app_state, "tracing", None)
    if tracing is None:
        return
    from runtara.runtime.errors import NotFound
    from runtara.runtime.store import images, instances

    store = app_state.store
    try:
        instance = await store.arun(instances.get_instance, tenant_id, instance_id)
        if instance.status not in TERMINAL:
            return
        label = None
        if instance.image_id:
            try:
                label = (await store.arun(images.get_image, tenant_id, instance.image_id)).label
            except NotFound:
                label = None
        tracing.ended(instance, label)
    except Exception:  # tracing never breaks what it observes
        log.exception("tracing the end of %s/%s failed", tenant_id, instance_id)
