from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.runtime.store import Store, open_store
from tests.support.databases import DIALECTS, database_url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url, secret_key="test-secret-passphrase") as opened:
        yield opened
