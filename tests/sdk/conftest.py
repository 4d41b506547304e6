from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime
from tests.support.databases import DIALECTS, database_url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


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
