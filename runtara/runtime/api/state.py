"""What a request handler reads from the application's state, typed once."""

from __future__ import annotations

from starlette.requests import Request

from runtara.runtime.store import Store


def store_of(request: Request) -> Store:
    """The server's store (set on ``app.state`` when the application is built)."""
    store: Store = request.app.state.store
    return store
