"""Where runtara keeps what it builds once and reuses: launchers, Nuitka's cache, layers."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``RUNTARA_CACHE_DIR``, else ``$XDG_CACHE_HOME/runtara``, else ``~/.cache/runtara``."""
    override = os.environ.get("RUNTARA_CACHE_DIR")
    if override:
        return Path(override).absolute()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "runtara"
