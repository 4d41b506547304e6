"""Serve the runtime with uvicorn (uvloop + httptools: the checkpoint path is latency-bound)."""

from __future__ import annotations

import logging
import socket

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
    app.app.state.public_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run until interrupted (SIGINT/SIGTERM shut down gracefully).

    The store is opened (and migrated) first, so a bad database URL or an unreachable
    server is a ``StoreUnavailable`` error here, not a traceback from inside uvicorn.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = open_store(settings.database_url, secret_key=settings.effective_secret_key())
    try:
        server = uvicorn.Server(uvicorn_config(settings, host, port, store=store))
        server.run()
    finally:
        store.close()
    if not server.started:
        raise OSError(f"could not serve on {host}:{port} (see the message above)")


def free_loopback_socket() -> socket.socket:
    """A listening-ready socket on 127.0.0.1 with a port chosen by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
