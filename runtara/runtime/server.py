"""Serve the runtime with uvicorn (uvloop + httptools: the checkpoint path is latency-bound)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from runtara.runtime.api.app import create_asgi_app
from runtara.runtime.settings import Settings
from runtara.runtime.store import Store, open_store


def uvicorn_config(
    settings: Settings,
    host: str,
    port: int,
    *,
    store: Store | None = None,
    log_level: str = "warning",
) -> uvicorn.Config:
    """Serve ``settings``; with ``store``, on that open store (the caller closes it)."""
    app = create_asgi_app(settings, store=store)
    # where instances launched by this server's scheduler reach it
    app.app.state.public_url = http_url("127.0.0.1" if host in ("0.0.0.0", "") else host, port)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_keep_alive=75,
        # idle keep-alive clients (SDKs, management clients) must not hold a shutdown
        timeout_graceful_shutdown=5,
        server_header=False,
    )


def http_url(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    on_ready: Callable[[str], None] | None = None,
    on_stopping: Callable[[str], None] | None = None,
) -> None:
    """Run until interrupted (SIGINT/SIGTERM shut down gracefully).

    The port is bound and the store opened (and migrated) before uvicorn starts, so a port
    in use is an ``OSError`` and a bad database URL a ``StoreUnavailable`` here, each one
    line for the caller, rather than uvicorn's log and exit. ``on_ready`` gets the URL
    served (the real port when ``port`` is 0) once it serves (and a stop signal is a
    graceful stop); ``on_stopping`` gets, as the shutdown begins (a SIGINT/SIGTERM), one
    line saying what it waits for.
    """
    sock = listening_socket(host, port)
    try:
        store = open_store(settings.database_url, secret_key=settings.effective_secret_key())
        try:
            bound_host, bound_port = sock.getsockname()[:2]
            url = http_url(host, bound_port)
            logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
            config = uvicorn_config(settings, str(bound_host), bound_port, store=store)
            ready = None if on_ready is None else (lambda: on_ready(url))
            _Server(config, on_ready=ready, on_stopping=on_stopping).run(sockets=[sock])
        finally:
            store.close()
    finally:
        sock.close()


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it serves, and when it stops what the shutdown
    waits for."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_ready: Callable[[], None] | None,
        on_stopping: Callable[[str], None] | None,
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_stopping = on_stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Said here, on the event loop, not in the signal handler: a print there could
        # interrupt another print to the same stream and repeat it.
        if self._on_stopping is not None:
            state: Any = getattr(getattr(self.config.app, "app", None), "state", None)
            scheduler = getattr(state, "scheduler", None)
            self._on_stopping(
                stopping_message(
                    requests=self._in_flight(),
                    processes=0 if scheduler is None else len(scheduler.live),
                    grace_s=self.config.timeout_graceful_shutdown or 0,
                )
            )
        await super().shutdown(sockets=sockets)

    def _in_flight(self) -> int:
        """Requests whose response is not complete yet (an idle keep-alive connection is
        not waited for)."""
        cycles = (getattr(c, "cycle", None) for c in self.server_state.connections)
        return sum(1 for cycle in cycles if cycle is not None and not cycle.response_complete)


def stopping_message(*, requests: int, processes: int, grace_s: float) -> str:
    """What a stopping server waits for: requests in flight (``grace_s`` at most), then
    its scheduler; instance processes are left running for the next server to adopt."""
    if requests:
        plural = "s" if requests != 1 else ""
        text = f"stopping: waiting for {requests} request{plural} in flight ({grace_s:g} s at most)"
    else:
        text = "stopping: no request in flight, nothing to wait for"
    if processes:
        them = "it" if processes == 1 else "them"
        text += (
            f"; {processes} instance process{'es' if processes != 1 else ''} "
            f"{'keeps' if processes == 1 else 'keep'} running (a server started again "
            f"adopts {them})"
        )
    if requests:
        text += "; Ctrl-C again to stop at once"
    return text


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; ``OSError`` names the address when it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def free_loopback_socket() -> socket.socket:
    """A listening-ready socket on 127.0.0.1 with a port chosen by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
