"""A background heartbeat, so that one long step (a slow HTTP call, a big file) does not
look like a dead process to the runtime, which restarts instances silent too long."""

from __future__ import annotations

import threading

from runtara.sdk.errors import ProtocolError, RuntaraError
from runtara.sdk.threads import start_service_thread
from runtara.sdk.transport import Transport


class Heartbeat:
    """Posts ``{base}/heartbeat`` every ``interval`` seconds on its own connection until
    stopped. Signals in the answer are left to the workflow's next checkpoint."""

    def __init__(self, transport: Transport, path: str, interval: float) -> None:
        self._transport = transport
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Heartbeat:
        if self._interval > 0 and not self._stop.is_set() and self._thread is None:
            self._thread = start_service_thread(self._run, "runtara-heartbeat")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)
        self._transport.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._transport.call("POST", self._path, patience=self._interval)
            except ProtocolError:
                return  # the runtime refuses (the instance ended, or is not ours): stop
            except (RuntaraError, OSError):
                continue  # unreachable for now: the workflow's own next call reports it
