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

A checkpoint that covers no external side effect (a computation that could simply run
again) may be *buffered*: ``checkpoint(key, state, buffered=True)`` answers at once and
the state is saved later together with others in one commit, at the latest within
``BUFFER_SECONDS``, and always before ``flush_checkpoints()``, a durable sleep, a signal
wait or an outcome returns. Call ``flush_checkpoints()`` before a side effect whose
input came from buffered states (PROTOCOL.md, "Buffered checkpoints").
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

from runtara.agents.progress import report
from runtara.sdk import payload
from runtara.sdk.errors import (
    Cancelled,
    CheckpointDiverged,
    ConfigurationError,
    Paused,
    ProtocolError,
)
from runtara.sdk.heartbeat import Heartbeat
from runtara.sdk.pipe import open_transport
from runtara.sdk.redact import Redactor
from runtara.sdk.threads import start_service_thread

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
#: Buffered checkpoints are committed at the latest this long (seconds) after the
#: oldest of them was buffered, or as soon as this many or this many bytes wait.
BUFFER_SECONDS = 0.005
BUFFER_ENTRIES = 1000
BUFFER_BYTES = 2 * 1024 * 1024
#: A larger state is saved at once (a batch must stay under the runtime's body limit).
BUFFER_LARGEST = 256 * 1024
#: A rerun reads the checkpoints saved before in pages of this many.
RESUME_PAGE = 2000


@dataclass(frozen=True, slots=True)
class _Queued:
    """A buffered checkpoint waiting to be sent: its order, key, kind and size."""

    seq: int
    key: str
    lazy: bool
    size: int


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
    return _parse(base64.b64decode(encoded), content_type)


def _parse(raw: bytes, content_type: str | None) -> Any:
    if content_type is not None and "json" in content_type:
        return payload.decode(json.loads(raw))
    return raw


_NEVER = float("inf")

#: "Not known here: ask the runtime" (a lookup of a checkpoint this process may have saved).
_ASK: Any = object()


def _seconds(duration: timedelta | float | int) -> float:
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


class Runtara:
    """A workflow instance talking to the runtime; one per process.

    Checkpoints, lookups, events, retries and connections may be called from several
    threads at once (a parallel Split): each request borrows its own connection."""

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
        # Buffered checkpoints: every entry not yet known durable (queued or in flight),
        # the keys not yet sent (in order), their size, and when the oldest was queued.
        self._buffered: dict[str, tuple[bytes, str]] = {}
        self._queue: list[_Queued] = []
        self._queued_bytes = 0
        self._queued_since = 0.0
        self._seq = 0
        self._batches = 0
        # Batches being sent -> the first seq in each, and its first not lazy one.
        self._inflight: dict[int, tuple[int, float]] = {}
        self._buffer_cond = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._flush_error: BaseException | None = None
        self._signal: str | None = None
        self._closing = False
        # A rerun's checkpoints saved before (read page by page), and the keys that
        # must be asked for again (already handed out, or saved by this process).
        self._resumed: dict[str, tuple[bytes, str]] | None = None
        self._resume_after = 0
        self._resume_done = False
        self._ask_again: set[str] = set()
        self._resume_lock = threading.Lock()
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
        with self._buffer_cond:  # now, on this thread (runtara.sdk.threads says why)
            self._start_flusher()
        return self

    def _start_flusher(self) -> None:
        """Start the thread that commits buffered checkpoints (once; under _buffer_cond)."""
        if self._flusher is None:
            self._flusher = start_service_thread(self._flush_loop, "runtara-checkpoints")

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
        self._flush()
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

    def checkpoint(
        self, checkpoint_id: str, state: Any, *, buffered: bool = False, lazy: bool = False
    ) -> CheckpointResult:
        """Save ``state`` (bytes, or anything JSON can encode) under ``checkpoint_id``,
        unless it was saved before -- then answer that state in ``existing_state``.

        Also delivers pending signals: on a cancel the instance is already ``cancelled``
        when this returns (``should_cancel``); on a pause, call ``suspended()`` and end.

        ``buffered=True``: answer at once (``existing_state`` None, the signal last
        seen) and save the state with others in one commit soon, at the latest before
        ``flush_checkpoints()`` returns. Only for a state whose work has no external
        side effect: a crash meanwhile loses it, and the rerun does that work again.
        ``lazy=True`` (with ``buffered``): not even ``flush_checkpoints(lazy=False)``
        waits for it -- for a record that a rerun could compute again from the others.
        """
        if buffered:
            return self._buffer(checkpoint_id, state, lazy)
        return self._save_now(checkpoint_id, *_encode(state))

    def _save_now(self, checkpoint_id: str, body: bytes, content_type: str) -> CheckpointResult:
        self._maybe_flush()
        answer = self._transport.call(
            "POST", f"{self._base}/checkpoints/{quote(checkpoint_id, safe='')}", body, content_type
        )
        if self._resumed is not None:
            with self._resume_lock:
                self._ask_again.add(checkpoint_id)
        signal = answer.get("signal")
        with self._buffer_cond:
            self._signal = signal
        if signal == "cancel":
            self._acknowledge("cancel")
        return CheckpointResult(
            _decode(answer.get("state"), answer.get("content_type")),
            signal,
            payload.decode(answer.get("custom_signal")),
        )

    def _buffer(self, checkpoint_id: str, state: Any, lazy: bool) -> CheckpointResult:
        self._raise_flush_error()
        body, content_type = _encode(state)
        if len(body) > BUFFER_LARGEST:
            return self._save_now(checkpoint_id, body, content_type)
        with self._buffer_cond:
            if checkpoint_id not in self._buffered:
                self._buffered[checkpoint_id] = (body, content_type)
                if not self._queue:
                    self._queued_since = time.monotonic()
                self._seq += 1
                self._queue.append(_Queued(self._seq, checkpoint_id, lazy, len(body)))
                self._queued_bytes += len(body)
            full = len(self._queue) >= BUFFER_ENTRIES or self._queued_bytes >= BUFFER_BYTES
            self._start_flusher()
            self._buffer_cond.notify_all()
            signal = self._signal
        if full:
            signal = self._flush()
        if signal == "cancel":
            self._acknowledge("cancel")
        return CheckpointResult(None, signal)

    def flush_checkpoints(self, *, lazy: bool = True) -> str | None:
        """Make the checkpoints buffered so far durable now; return when they are, with
        the pending instance signal as a checkpoint answers it (on a cancel the instance
        is already ``cancelled``; on a pause, call ``suspended()`` and end).

        ``lazy=False`` leaves out those buffered with ``lazy=True`` (records that only
        speed a rerun up; they still go with the others, or within BUFFER_SECONDS).
        Several threads may flush at once: their batches share commits on the runtime.
        Raises ``CheckpointDiverged`` when one of them was saved before with another
        state: nothing computed from it is saved, and the process should end."""
        signal = self._flush(lazy)
        if signal == "cancel":
            self._acknowledge("cancel")
        return signal

    def _flush(self, lazy: bool = True) -> str | None:
        """``flush_checkpoints`` without acknowledging a cancel; answers the signal."""
        with self._buffer_cond:
            target = self._seq
        while True:
            with self._buffer_cond:
                self._raise_flush_error()
                due = any(q.seq <= target and (lazy or not q.lazy) for q in self._queue)
                if not due:
                    sent = self._inflight.values()
                    if not any(first <= target for first in (s[0] if lazy else s[1] for s in sent)):
                        return self._signal
                    self._buffer_cond.wait()
                    continue
                queued, self._queue = self._queue, []
                self._queued_bytes = 0
                self._batches += 1
                batch_id = self._batches
                eager = [q.seq for q in queued if not q.lazy]
                self._inflight[batch_id] = (queued[0].seq, eager[0] if eager else _NEVER)
                batch = [(q.key, *self._buffered[q.key]) for q in queued]
            self._send_flush(batch_id, queued, batch)

    def _send_flush(
        self, batch_id: int, queued: list[_Queued], batch: list[tuple[str, bytes, str]]
    ) -> None:
        try:
            answer = self._send_batch(batch)
        except BaseException:
            with self._buffer_cond:  # not saved: send them again with the next flush
                self._queue = sorted([*queued, *self._queue], key=lambda q: q.seq)
                self._queued_bytes = sum(q.size for q in self._queue)
                del self._inflight[batch_id]
                self._buffer_cond.notify_all()
            raise
        conflict = answer.get("conflict")
        saved = len(batch) if conflict is None else int(answer["saved"])
        with self._buffer_cond:
            for q in queued[:saved]:
                self._buffered.pop(q.key, None)
            self._signal = answer.get("signal")
            if conflict is not None:
                self._flush_error = CheckpointDiverged(
                    f"checkpoint {conflict['key']!r} was saved before with another state; "
                    f"{len(batch) - saved} buffered checkpoints from there on were not "
                    "saved (another process of this instance ran meanwhile?)"
                )
            del self._inflight[batch_id]
            self._buffer_cond.notify_all()
        if self._resumed is not None:
            with self._resume_lock:
                self._ask_again.update(q.key for q in queued[:saved])
        self._raise_flush_error()

    def _send_batch(self, batch: list[tuple[str, bytes, str]]) -> Any:
        document = {
            "checkpoints": [
                {"key": key, "state": base64.b64encode(body).decode(), "content_type": kind}
                for key, body, kind in batch
            ]
        }
        return self._transport.call_json("POST", f"{self._base}/checkpoints", document)

    def _raise_flush_error(self) -> None:
        if self._flush_error is not None:
            raise self._flush_error

    def _flush_loop(self) -> None:
        """Commit buffered checkpoints at the latest BUFFER_SECONDS after the oldest."""
        while True:
            with self._buffer_cond:
                while not self._queue and not self._closing:
                    self._buffer_cond.wait()
                if not self._queue:
                    return
                wait = self._queued_since + BUFFER_SECONDS - time.monotonic()
                if wait > 0 and not self._closing:
                    self._buffer_cond.wait(wait)
                    continue
            try:
                self._flush()
            except BaseException as exc:  # the next call in the workflow raises it
                if self._flush_error is None:
                    self._flush_error = exc
                return

    def get_checkpoint(self, checkpoint_id: str) -> Any:
        """The state saved under ``checkpoint_id``, or None (saves nothing)."""
        with self._buffer_cond:
            buffered = self._buffered.get(checkpoint_id)
        if buffered is not None:
            return _parse(*buffered)
        if self._resumed is not None:
            found = self._resumed_state(checkpoint_id)
            if found is not _ASK:
                return found
        answer = self._transport.call(
            "GET", f"{self._base}/checkpoints/{quote(checkpoint_id, safe='')}"
        )
        return _decode(answer.get("state"), answer.get("content_type")) if answer["found"] else None

    def resume_checkpoints(self) -> None:
        """On a rerun: read the checkpoints saved before in a few large pages (as
        lookups need them) rather than one request per ``get_checkpoint``."""
        with self._resume_lock:
            if self._resumed is None:
                self._resumed = {}

    def _resumed_state(self, checkpoint_id: str) -> Any:
        """A saved state from the pages read so far (reading more as needed), None when
        none was saved, or ``_ASK`` when only the runtime can tell."""
        assert self._resumed is not None
        with self._resume_lock:
            while True:
                if checkpoint_id in self._ask_again:
                    return _ASK
                stored = self._resumed.pop(checkpoint_id, None)
                if stored is not None:
                    self._ask_again.add(checkpoint_id)  # a second lookup asks the runtime
                    return _parse(*stored)
                if self._resume_done:
                    return None
                self._read_page()

    def _read_page(self) -> None:
        assert self._resumed is not None
        answer = self._transport.call(
            "GET", f"{self._base}/checkpoints?after={self._resume_after}&limit={RESUME_PAGE}"
        )
        for entry in answer["checkpoints"]:
            key = entry["key"]
            if key not in self._ask_again:
                self._resumed[key] = (base64.b64decode(entry["state"]), entry["content_type"])
            self._resume_after = max(self._resume_after, int(entry["seq"]))
        self._resume_done = not answer["more"]

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
        self._flush()
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
        if seconds > 0:
            report(None, "sleep", seconds=seconds)  # the host's countdown, if it shows one
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
        self._flush()
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
        with contextlib.suppress(Exception):
            self._flush()
        with self._buffer_cond:
            self._closing = True
            self._buffer_cond.notify_all()
        self._flush_quietly()
        self._transport.close()
