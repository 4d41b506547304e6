"""Server settings: flags first, then ``RUNTARA_*`` environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runtara.runtime.errors import StoreUnavailable
from runtara.runtime.store import DEFAULT_DATABASE_URL
from runtara.runtime.store.secrets import dev_secret_key
from runtara.runtime.store.sqlite import absolute_sqlite_url, sqlite_path

DEFAULT_MAX_STATE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_HOOK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    #: Dev mode: instances may register without a token; API keys are optional and
    #: tenants are created on first use. Never for a shared deployment.
    dev: bool = False
    #: Largest request body (checkpoint state, output, event batch) accepted, in bytes.
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES
    #: Largest webhook delivery body accepted, in bytes (``RUNTARA_MAX_HOOK_BYTES``).
    max_hook_bytes: int = DEFAULT_MAX_HOOK_BYTES
    #: Encrypts connection secrets at rest (``RUNTARA_SECRET_KEY``).
    secret_key: str | None = field(default=None, repr=False)
    #: Acts on any tenant (``RUNTARA_ADMIN_KEY``); tenants and API keys are managed with it.
    admin_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Resolved once, here: instances run in folders of their own.
        object.__setattr__(self, "database_url", absolute_sqlite_url(self.database_url))

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Environment values, replaced by every override that is not None."""
        env = os.environ
        settings = cls(
            database_url=env.get("RUNTARA_DATABASE_URL") or DEFAULT_DATABASE_URL,
            dev=env.get("RUNTARA_DEV", "").lower() in ("1", "true", "yes"),
            max_state_bytes=_positive_int(env, "RUNTARA_MAX_STATE_BYTES", DEFAULT_MAX_STATE_BYTES),
            max_hook_bytes=_positive_int(env, "RUNTARA_MAX_HOOK_BYTES", DEFAULT_MAX_HOOK_BYTES),
            secret_key=env.get("RUNTARA_SECRET_KEY") or None,
            admin_key=env.get("RUNTARA_ADMIN_KEY") or None,
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def effective_secret_key(self) -> str | None:
        """The configured key; in dev mode on SQLite, one kept beside the database."""
        if self.secret_key or not self.dev or not self.database_url.startswith("sqlite:"):
            return self.secret_key
        try:
            return dev_secret_key(Path(sqlite_path(self.database_url)).parent)
        except OSError as exc:  # the database's folder cannot be created or written
            raise StoreUnavailable(
                f"cannot open {self.database_url}: cannot keep the dev secret key in its "
                f"folder: {type(exc).__name__}: {exc}"
            ) from exc


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """``env[name]`` as a whole number above zero; ``ValueError`` names the variable."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be above 0")
    return value
