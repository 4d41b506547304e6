"""Tenants and their API keys (stored as SHA-256 hashes, shown once at creation)."""

from __future__ import annotations

from dataclasses import dataclass

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op
from runtara.runtime.store.secrets import new_token, token_hash


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    tenant_id: str
    name: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just created: ``key`` is the secret, never retrievable again."""

    info: ApiKey
    key: str


def ensure(tx: Tx, tenant_id: str) -> None:
    """Create the tenant if it does not exist (``--dev``: tenants appear on first use)."""
    tx.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (tenant_id, tenant_id, now_ms()),
    )


ensure_tenant = write_op(ensure)


@write_op
def create_tenant(tx: Tx, tenant_id: str, name: str | None = None) -> Tenant:
    created = now_ms()
    inserted = tx.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (tenant_id, name or tenant_id, created),
    )
    if not inserted:
        raise Conflict(f"tenant {tenant_id!r} already exists")
    return Tenant(tenant_id, name or tenant_id, created)


@read_op
def get_tenant(tx: Tx, tenant_id: str) -> Tenant:
    row = tx.one("SELECT id, name, created_at FROM tenants WHERE id = ?", (tenant_id,))
    if row is None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    return Tenant(row["id"], row["name"], row["created_at"])


@read_op
def list_tenants(tx: Tx) -> list[Tenant]:
    rows = tx.all("SELECT id, name, created_at FROM tenants ORDER BY id")
    return [Tenant(r["id"], r["name"], r["created_at"]) for r in rows]


@write_op
def create_api_key(tx: Tx, tenant_id: str, name: str = "default") -> NewApiKey:
    if tx.one("SELECT id FROM tenants WHERE id = ?", (tenant_id,)) is None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    key_id = "rk_" + new_token()[:12].replace("-", "x").replace("_", "x")
    secret = f"{key_id}.{new_token()}"
    created = now_ms()
    tx.execute(
        "INSERT INTO api_keys (id, tenant_id, key_hash, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (key_id, tenant_id, token_hash(secret), name, created),
    )
    return NewApiKey(ApiKey(key_id, tenant_id, name, created, None, None), secret)


@read_op
def list_api_keys(tx: Tx, tenant_id: str) -> list[ApiKey]:
    rows = tx.all(
        "SELECT id, tenant_id, name, created_at, last_used_at, revoked_at FROM api_keys"
        " WHERE tenant_id = ? ORDER BY created_at, id",
        (tenant_id,),
    )
    return [ApiKey(**dict(r)) for r in rows]


@write_op
def revoke_api_key(tx: Tx, tenant_id: str, key_id: str) -> None:
    changed = tx.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
        (now_ms(), key_id, tenant_id),
    )
    if not changed:
        raise NotFound(f"API key {key_id!r} not found (or already revoked) in tenant {tenant_id!r}")


@read_op
def tenant_for_api_key(tx: Tx, key: str) -> str | None:
    """The tenant a key belongs to, or None for an unknown or revoked key."""
    row = tx.one(
        "SELECT tenant_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
        (token_hash(key),),
    )
    return None if row is None else str(row["tenant_id"])
