from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime


@pytest.fixture
def runtime(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRuntime]:
    """The real service on a loopback port, in dev mode; ``RUNTARA_URL`` points at it."""
    with EmbeddedRuntime(db_url, secret_key="sdk-tests") as running:
        monkeypatch.setenv("RUNTARA_URL", running.url)
        yield running


@pytest.fixture
def client(runtime: EmbeddedRuntime) -> Iterator[Client]:
    with Client(runtime.url, tenant="tenant-1") as opened:
        yield opened
