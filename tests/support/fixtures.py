"""Fixtures every test folder may use (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import DIALECTS, database_url
from tests.support.native_builds import NativeCompiler


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each dialect (SQLite file; a new PostgreSQL schema)."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def native_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runtara's build cache for native tests: in pytest's cache directory, so the
    launcher (a cold build takes minutes) survives between runs; xdist workers share it
    through the launcher builder's file lock."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("runtara-native"))
    return tmp_path_factory.mktemp("runtara-native")


@pytest.fixture(scope="session")
def native_compiler(native_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> NativeCompiler:
    """``native_compiler(file)``: the ``runtara compile`` folder of ``file``, compiled once."""
    return NativeCompiler(native_cache, tmp_path_factory.mktemp("compiled"))
