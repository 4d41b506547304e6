"""An in-process runtime for ``runtara run`` and tests: the real service on a loopback port.

    with EmbeddedRuntime() as runtime:          # sqlite under .data/ by default
        os.environ["RUNTARA_URL"] = runtime.url  # the SDK talks to it over HTTP

It serves the same app as ``runtara server`` (in dev mode: instances register
themselves) from a background thread, on a port the kernel picks.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from runtara.runtime.server import free_loopback_socket, uvicorn_config
from runtara.runtime.settings import Settings
from runtara.runtime.store import DEFAULT_DATABASE_URL, Store, open_store


class EmbeddedRuntime:
    def __init__(
        self,
        database_url: str = DEFAULT_DATABASE_URL,
        *,
        dev: bool = True,
        secret_key: str | None = None,
    ) -> None:
        self.settings = Settings.from_env(database_url=database_url, dev=dev, secret_key=secret_key)
        self._socket = free_loopback_socket()
        host, port = self._socket.getsockname()
        self.url = f"http://{host}:{port}"
        self._host_port = (host, port)
        self._store: Store | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> EmbeddedRuntime:
        """Serve in a background thread; return once ``/health`` would answer.

        Raises ``StoreUnavailable`` when the database cannot be opened.
        """
        self._store = open_store(
            self.settings.database_url, secret_key=self.settings.effective_secret_key()
        )
        self._server = uvicorn.Server(
            uvicorn_config(self.settings, *self._host_port, store=self._store)
        )
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="runtara-embedded",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded runtime did not start on {self.settings.database_url}"
                )
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._store is not None:
            self._store.close()
        self._socket.close()

    def __enter__(self) -> EmbeddedRuntime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
