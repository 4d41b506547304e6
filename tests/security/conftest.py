"""A secured runtime (no --dev: API keys, instance tokens) on each database, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtara.runtime.embedded import EmbeddedRuntime
from tests.support.databases import DIALECTS, database_url

ADMIN_KEY = "admin-key-for-security-tests"
SECRET_KEY = "secret-key-for-security-tests"
#: Set in the server's environment; an instance must never see it.
CANARY = "SERVER_ONLY_CANARY"


@dataclass
class Secured:
    runtime: EmbeddedRuntime

    @property
    def url(self) -> str:
        return self.runtime.url

    def admin(self, tenant: str = "acme") -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Runtara-Tenant": tenant},
            timeout=30,
        )

    def tenant(self, tenant: str = "acme") -> httpx.Client:
        """A client holding a fresh API key of ``tenant`` (created if needed)."""
        with self.admin(tenant) as admin:
            admin.post("/v1/tenants", json={"id": tenant})
            made = admin.post(f"/v1/tenants/{tenant}/api-keys", json={"name": "test"})
            assert made.status_code == 201, made.text
            key = made.json()["key"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )


@pytest.fixture(params=DIALECTS)
def secured(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Secured]:
    monkeypatch.setenv("RUNTARA_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("RUNTARA_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("RUNTARA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RUNTARA_POLL_SECONDS", "0.05")
    monkeypatch.setenv("RUNTARA_RESTART_BACKOFF_SECONDS", "0.1")
    monkeypatch.setenv(CANARY, "the server's own secret")
    with database_url(request.param, tmp_path) as url:
        monkeypatch.setenv("RUNTARA_DATABASE_URL", url)  # holds a password in real life
        with EmbeddedRuntime(url, dev=False, secret_key=SECRET_KEY) as runtime:
            yield Secured(runtime)
