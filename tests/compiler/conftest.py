"""Fixtures shared by the compiler tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def native_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runtara's build cache for native tests: in pytest's cache directory, so the
    launcher (a cold build takes minutes) survives between runs; xdist workers share it
    through the launcher builder's file lock."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("runtara-native"))
    return tmp_path_factory.mktemp("runtara-native")
