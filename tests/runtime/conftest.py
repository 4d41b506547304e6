from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtara.runtime.store import Store, open_store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url, secret_key="test-secret-passphrase") as opened:
        yield opened
