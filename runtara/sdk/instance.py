"""``Runtara``: one workflow instance's handle on the runtime (standard library only).

rt = Runtara.localhost("order-batch-001", "tenant-1")
rt.register()
for i, order in enumerate(orders):
    r = rt.checkpoint(f"order-{order.id}", {"index": i})
    if r.should_cancel: return
    if r.should_pause: rt.suspended(); return
    if r.existing_state is not None: continue   # done before a crash
    process(order)                               # runs once per order, ever
rt.completed({"processed": len(orders)})
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn
from urllib.parse import quote

from runtara.sdk import payload
from runtara.sdk.errors import Cancelled, ConfigurationError, Paused, ProtocolError
from runtara.sdk.heartbeat import Heartbeat
from runtara.sdk.pipe import open_transport
from runtara.sdk.redact import Redactor

DEFAULT_URL = "http://127.0.0.1:8001"
JSON = "application/json"

#: Events are sent in batches of this many, or older than FLUSH_AFTER seconds.
BATCH_EVENTS = 64
FLUSH_AFTER = 0.5
#: Seconds between background heartbeats (the runtime restarts running instances that
#: stay silent too long, 120 s by default); ``RUNTARA_HEARTBEAT_SECONDS``, 0 disables.
HEARTBEAT_EVERY = 30.0
#: A sleep in place looks for cancel and pause this often.
SIGNAL_CHECK_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """What a checkpoint call answers.

    ``existing_state``: None on a first run; after a crash, the state saved then
    (parsed JSON if it was saved as JSON, else bytes) -- skip the work it covers.
    """

    existing_state: Any
    signal: str | None
    custom_signal: Any = None

    @property
    def should_cancel(self) -> bool:
        return self.signal == "cancel"

    @property
    def should_pause(self) -> bool:
        return self.signal == "pause"


def _encode(state: Any) -> tuple[bytes, str]:
    if isinstance(state, bytes | bytearray | memoryview):
        return bytes(state), "application/octet-stream"
    return json.dumps(payload.encode(state), separators=(",", ":")).encode(), JSON


def _decode(encoded: str | None, content_type: str | None) -> Any:
    if encoded is None:
        return None
    raw = base64.b64decode(encoded)
    if content_type is not None and "json" in content_type:
        return payload.decode(json.loads(raw))
    return raw


def _seconds(duration: timedelta | float | int) -> float:
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


class Runtara:
    """A workflow instance talking to the runtime. Not thread-safe: one per process."""

    _current: Runtara | None = None

    def __init__(
        self,
        instance_id: str,
        tenant_id: str,
        *,
        url: str = DEFAULT_URL,
        token: str | None = None,
        input: Any = None,
        checkpoint_id: str | None = None,
        retry_seconds: float = 60.0,
        request_timeout: float = 30.0,
        heartbeat_seconds: float = HEARTBEAT_EVERY,
    ) -> None:
        if not instance_id or not tenant_id:
            raise ConfigurationError("an instance needs both an instance id and a tenant id")
        self.instance_id = instance_id
        self.tenant_id = tenant_id
        self._transport = open_transport(
            url, token, timeout=request_timeout, retry_seconds=retry_seconds
        )
        self._base = f"/v1/instance/{quote(tenant_id, safe='')}/{quote(instance_id, safe='')}"
        self._heartbeat = Heartbeat(
            open_transport(url, token, timeout=request_timeout, retry_seconds=retry_seconds),
            f"{self._base}/heartbeat",
            heartbeat_seconds,
        )
        self._input = input
        self._checkpoint_id = checkpoint_id
        self._events: list[dict[str, Any]] = []
        self._oldest_event = 0.0
        self._sleeps = 0
        self._redactor = Redactor()
        self._lock = threading.Lock()
        atexit.register(self._flush_quietly)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_env(cls) -> Runtara:
        """The instance a runner launched: ``RUNTARA_URL``, ``RUNTARA_INSTANCE_ID``,
        ``RUNTARA_TENANT_ID``, ``RUNTARA_INSTANCE_TOKEN``, ``RUNTARA_INPUT`` (JSON)."""
        env = os.environ
        missing = [n for n in ("RUNTARA_INSTANCE_ID", "RUNTARA_TENANT_ID") if not env.get(n)]
        if missing:
            raise ConfigurationError(
                f"{' and '.join(missing)} not set: this program runs as a Runtara instance "
                "(start it with `runtara run`, a runner, or set the RUNTARA_* variables)"
            )
        raw_input, source = env.get("RUNTARA_INPUT"), "RUNTARA_INPUT"
        if raw_input is None and env.get("RUNTARA_INPUT_FILE"):
            source = f"RUNTARA_INPUT_FILE {env['RUNTARA_INPUT_FILE']}"
            try:  # an input too large for the environment (`runtara run`)
                with open(env["RUNTARA_INPUT_FILE"], encoding="utf-8") as file:
                    raw_input = file.read()
            except OSError as exc:
                raise ConfigurationError(f"cannot read {source}: {exc.strerror}") from None
        try:
            parsed = None if raw_input is None else json.loads(raw_input)
        except ValueError as exc:
            raise ConfigurationError(f"{source} is not valid JSON: {exc}") from None
        return cls(
            env["RUNTARA_INSTANCE_ID"],
            env["RUNTARA_TENANT_ID"],
            url=env.get("RUNTARA_URL") or DEFAULT_URL,
            token=env.get("RUNTARA_INSTANCE_TOKEN") or None,
            input=parsed,
            checkpoint_id=env.get("RUNTARA_CHECKPOINT_ID") or None,
            retry_seconds=float(env.get("RUNTARA_RETRY_SECONDS") or 60.0),
            heartbeat_seconds=float(env.get("RUNTARA_HEARTBEAT_SECONDS") or HEARTBEAT_EVERY),
        )

    @classmethod
    def localhost(cls, instance_id: str, tenant_id: str) -> Runtara:
        """A self-registering instance for ``runtara server --dev`` (``RUNTARA_URL`` or
        127.0.0.1:8001). Running the script again with the same id resumes it."""
        return cls(instance_id, tenant_id, url=os.environ.get("RUNTARA_URL") or DEFAULT_URL)

    @classmethod
    def current(cls) -> Runtara:
        """The instance registered in this process (what ``@durable`` uses by default)."""
        if cls._current is None:
            raise ConfigurationError("no Runtara instance registered in this process yet")
        return cls._current

    # -- lifecycle --------------------------------------------------------------------

    def register(self) -> Runtara:
        """Become ``running`` (again, after a crash or a wake-up); fetch the input."""
        body = {"checkpoint_id": self._checkpoint_id} if self._checkpoint_id else None
        answer = self._transport.call_json("POST", f"{self._base}/register", body)
        if self._input is None:
            self._input = answer.get("input")
        Runtara._current = self
        if not self._heartbeat.is_running:
            self._heartbeat.start()
        return self

    @property
    def input(self) -> Any:
        """The instance input (parsed JSON), available after ``register()``."""
        return self._input

    @property
    def url(self) -> str:
        return self._transport.url

    def status(self) -> str:
        return str(self._transport.call("GET", self._base)["status"])

    def completed(self, output: Any = None) -> None:
        """Report the outcome: ``output`` is bytes or any JSON value (read back as given)."""
        self._finish("completed", {"output": payload.encode(output)})

    def failed(self, error: Any) -> None:
        """Report failure: ``error`` is a message, bytes or a JSON value (secrets are redacted)."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self._finish("failed", {"error": payload.encode(self._redactor.scrub(error))})

    def suspended(self) -> None:
        """Report that this instance stopped because it was asked to pause."""
        self._finish("suspended", None)

    def _finish(self, outcome: str, document: dict[str, Any] | None) -> None:
        self._heartbeat.stop()
        self.flush_events()
        try:
            self._transport.call_json("POST", f"{self._base}/{outcome}", document)
        except ProtocolError as exc:
            # A retried request whose first delivery was applied: the instance has ended
            # with this outcome (its token then stops working, 401 naming the status).
            if exc.instance_status == outcome:
                return
            if exc.status != 409 or self.status() != outcome:
                raise

    # -- checkpoints ------------------------------------------------------------------

    def checkpoint(self, checkpoint_id: str, state: Any) -> CheckpointResult:
        """Save ``state`` (bytes, or anything JSON can encode) under ``checkpoint_id``,
        unless it was saved before -- then answer that state in ``existing_state``.

        Also delivers pending signals: on a cancel the instance is already ``cancelled``
        when this returns (``should_cancel``); on a pause, call ``suspended()`` and end.
        """
        self._maybe_flush()
        body, content_type = _encode(state)
        answer = self._transport.call(
            "POST", f"{self._base}/checkpoints/{quote(checkpoint_id, safe='')}", body, content_type
        )
        signal = answer.get("signal")
        if signal == "cancel":
            self._acknowledge("cancel")
        return CheckpointResult(
            _decode(answer.get("state"), answer.get("content_type")),
            signal,
            payload.decode(answer.get("custom_signal")),
        )

    def get_checkpoint(self, checkpoint_id: str) -> Any:
        """The state saved under ``checkpoint_id``, or None (saves nothing)."""
        answer = self._transport.call(
            "GET", f"{self._base}/checkpoints/{quote(checkpoint_id, safe='')}"
        )
        return _decode(answer.get("state"), answer.get("content_type")) if answer["found"] else None

    def check_signals(self) -> None:
        """Raise ``Cancelled`` or ``Paused`` if the instance was asked to stop (a heartbeat)."""
        signal = self.heartbeat()
        if signal == "cancel":
            raise Cancelled(f"instance {self.instance_id} was cancelled")
        if signal == "pause":
            raise Paused(f"instance {self.instance_id} was paused")

    def heartbeat(self) -> str | None:
        """Tell the runtime this instance is alive; answers the pending signal, if any."""
        signal: str | None = self._transport.call("POST", f"{self._base}/heartbeat")["signal"]
        if signal == "cancel":
            self._acknowledge("cancel")
        return signal

    def _acknowledge(self, signal: str) -> None:
        try:
            self._transport.call_json("POST", f"{self._base}/signals/ack", {"signal": signal})
        except ProtocolError as exc:
            if exc.status != 409:  # already acknowledged by an earlier delivery
                raise

    # -- durable sleep ----------------------------------------------------------------

    def durable_sleep(self, duration: timedelta | float, *, key: str | None = None) -> None:
        """Sleep ``duration`` (a timedelta or seconds) durably.

        Keyed like a checkpoint (``key``, or ``sleep::<n>`` for the n-th sleep of this
        run): a rerun passes over an elapsed sleep and waits only for the remainder of
        one that is not. When a runner launched this instance, the process exits now
        and is started again when the sleep ends; otherwise it sleeps in place.
        """
        self._sleeps += 1
        key = key or f"sleep::{self._sleeps}"
        millis = max(0, round(_seconds(duration) * 1000))
        try:
            answer = self._transport.call_json(
                "POST", f"{self._base}/sleep", {"key": key, "duration_ms": millis}
            )
        except ProtocolError as exc:
            # A retry of a sleep whose first delivery already put us to sleep answers 409.
            if exc.status != 409 or self.status() != "sleeping":
                raise
            answer = {"exit": True}
        if answer["exit"]:
            self._leave_until_woken()
        self._sleep_in_place(answer["remaining_ms"] / 1000)

    def _leave_until_woken(self) -> NoReturn:
        """End this process: the instance is ``sleeping``, and its runner starts it again
        when it is due (a rerun replays its checkpoints up to here)."""
        self._heartbeat.stop()
        self.flush_events()
        self._transport.close()
        raise SystemExit(0)

    def _sleep_in_place(self, seconds: float) -> None:
        """Sleep, looking for cancel/pause now and then (the background heartbeat keeps
        the instance alive meanwhile)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, SIGNAL_CHECK_EVERY))
            if end - time.monotonic() > 0:
                self.check_signals()

    # -- signals ----------------------------------------------------------------------

    def wait_for_signal(
        self, checkpoint_id: str, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> Any:
        """Wait for a custom signal sent to ``checkpoint_id``; answer its payload.

        Durable, like a sleep: the payload is saved as that checkpoint, so a rerun gets
        it at once, and the deadline (``timeout`` seconds) is fixed at the first call.
        When a runner launched this instance the process ends while it waits (holding
        nothing) and is started again by the signal or at the deadline; otherwise it
        waits in place, asking every ``poll_interval`` seconds. Answers None once the
        deadline has passed; raises ``Cancelled`` / ``Paused`` if the instance is asked
        to stop meanwhile.
        """
        path = f"{self._base}/signals/{quote(checkpoint_id, safe='')}/wait"
        timeout_ms = None if timeout is None else max(0, round(timeout * 1000))
        while True:
            self._maybe_flush()
            try:
                answer = self._transport.call_json("POST", path, {"timeout_ms": timeout_ms})
            except ProtocolError as exc:
                # A retry of a wait whose first delivery already put us to sleep: 409.
                if exc.status != 409 or self.status() != "sleeping":
                    raise
                self._leave_until_woken()
            if answer["found"]:
                return payload.decode(answer["payload"])
            if answer["signal"] == "cancel":
                self._acknowledge("cancel")
                raise Cancelled(f"instance {self.instance_id} was cancelled while waiting")
            if answer["signal"] == "pause":
                raise Paused(f"instance {self.instance_id} was paused while waiting")
            if answer["timed_out"]:
                return None
            if answer["exit"]:
                self._leave_until_woken()
            remaining = answer["remaining_ms"]
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining / 1000))

    # -- events, retries, connections ---------------------------------------------------

    def event(self, subtype: str, payload: Any = None) -> None:
        """Record a custom event (batched; sent within FLUSH_AFTER s or at the next call)."""
        with self._lock:
            if not self._events:
                self._oldest_event = time.monotonic()
            self._events.append(
                {
                    "event_type": "custom",
                    "subtype": subtype,
                    "payload": self._redactor.scrub(payload),
                    "timestamp_ms": time.time_ns() // 1_000_000,
                }
            )
            full = len(self._events) >= BATCH_EVENTS
        if full:
            self.flush_events()

    def flush_events(self, *, patience: float | None = None) -> None:
        """Send buffered events now (done before every outcome and durable sleep exit)."""
        with self._lock:
            batch, self._events = self._events, []
        if batch:
            document = {"events": batch}
            self._transport.call_json("POST", f"{self._base}/events", document, patience=patience)

    def _maybe_flush(self) -> None:
        if self._events and time.monotonic() - self._oldest_event >= FLUSH_AFTER:
            self.flush_events()

    def _flush_quietly(self) -> None:
        """At exit: a last, brief attempt; events are diagnostics, exiting must not hang."""
        with contextlib.suppress(Exception):
            self.flush_events(patience=2.0)

    def retry_attempt(self, checkpoint_id: str, attempt: int, error: str | None = None) -> None:
        """Record that a durable function is being tried again (attempt is 1-based)."""
        document = {"key": checkpoint_id, "attempt": attempt, "error": self._redactor.scrub(error)}
        self._transport.call_json("POST", f"{self._base}/retries", document)

    def connection(self, connection_id: str) -> dict[str, Any]:
        """A stored connection for a secure agent: ``{id, integration_id, parameters, secrets}``.

        The values of its secret parameters are redacted from every event and error
        this SDK sends later.
        """
        answer: dict[str, Any] = self._transport.call(
            "GET", f"{self._base}/connections/{quote(connection_id, safe='')}"
        )
        self._redactor.learn_connection(answer, answer.get("secrets"))
        return answer

    def close(self) -> None:
        self._heartbeat.stop()
        self._flush_quietly()
        self._transport.close()
