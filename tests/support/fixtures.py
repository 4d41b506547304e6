"""Fixtures every test folder may use (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import DIALECTS, database_url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each dialect (SQLite file; a new PostgreSQL schema)."""
    with database_url(request.param, tmp_path) as url:
        yield url
