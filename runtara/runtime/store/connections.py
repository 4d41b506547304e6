"""Connections: per-tenant credentials for secure agents, encrypted at rest.

Management reads return only the non-secret description; the decrypted parameters
go to an instance of the same tenant that asks for them (``fetch_parameters``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtara.agents.connections import OCI_REGISTRY
from runtara.runtime.errors import Conflict, Forbidden, NotFound
from runtara.runtime.store import tenants
from runtara.runtime.store.access import Caller, authorize
from runtara.runtime.store.database import Tx, now_ms, read_op, write_op
from runtara.runtime.store.secrets import SecretBox


@dataclass(frozen=True, slots=True)
class Connection:
    tenant_id: str
    id: str
    integration_id: str
    name: str
    created_at: int
    updated_at: int


_COLUMNS = "tenant_id, id, integration_id, name, created_at, updated_at"


def _missing(tenant_id: str, connection_id: str) -> NotFound:
    return NotFound(f"connection {connection_id!r} not found in tenant {tenant_id!r}")


@write_op
def create_connection(
    tx: Tx,
    box: SecretBox,
    tenant_id: str,
    connection_id: str,
    integration_id: str,
    parameters: dict[str, Any],
    name: str | None = None,
) -> Connection:
    sealed = box.seal(parameters)
    now = now_ms()
    tenants.ensure(tx, tenant_id)
    inserted = tx.execute(
        "INSERT INTO connections (tenant_id, id, integration_id, name, secret, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING",
        (tenant_id, connection_id, integration_id, name or connection_id, sealed, now, now),
    )
    if not inserted:
        raise Conflict(f"connection {connection_id!r} already exists in tenant {tenant_id!r}")
    return Connection(tenant_id, connection_id, integration_id, name or connection_id, now, now)


@write_op
def update_connection(
    tx: Tx, box: SecretBox, tenant_id: str, connection_id: str, parameters: dict[str, Any]
) -> Connection:
    changed = tx.execute(
        "UPDATE connections SET secret = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
        (box.seal(parameters), now_ms(), tenant_id, connection_id),
    )
    if not changed:
        raise _missing(tenant_id, connection_id)
    return get_connection(tx, tenant_id, connection_id)


@read_op
def get_connection(tx: Tx, tenant_id: str, connection_id: str) -> Connection:
    row = tx.one(
        f"SELECT {_COLUMNS} FROM connections WHERE tenant_id = ? AND id = ?",
        (tenant_id, connection_id),
    )
    if row is None:
        raise _missing(tenant_id, connection_id)
    return Connection(**dict(row))


@read_op
def list_connections(tx: Tx, tenant_id: str) -> list[Connection]:
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM connections WHERE tenant_id = ? ORDER BY id", (tenant_id,)
    )
    return [Connection(**dict(r)) for r in rows]


@write_op
def delete_connection(tx: Tx, tenant_id: str, connection_id: str) -> None:
    if not tx.execute(
        "DELETE FROM connections WHERE tenant_id = ? AND id = ?", (tenant_id, connection_id)
    ):
        raise _missing(tenant_id, connection_id)


@read_op
def fetch_parameters(tx: Tx, box: SecretBox, caller: Caller, connection_id: str) -> dict[str, Any]:
    """The decrypted parameters, for an instance of the connection's own tenant."""
    authorize(tx, caller)
    row = tx.one(
        "SELECT integration_id, secret FROM connections WHERE tenant_id = ? AND id = ?",
        (caller.tenant_id, connection_id),
    )
    if row is None:
        raise _missing(caller.tenant_id, connection_id)
    if row["integration_id"] == OCI_REGISTRY:  # the server's own login, not an agent's
        raise Forbidden(
            f"connection {connection_id!r} holds registry credentials, which only the "
            "runtime service uses (to pull images)"
        )
    parameters: dict[str, Any] = box.open(row["secret"])
    return parameters


@read_op
def registry_login(tx: Tx, box: SecretBox, tenant_id: str, registry: str) -> dict[str, str] | None:
    """The tenant's ``oci_registry`` login for ``registry`` (``username``, ``password``),
    for pulling an image registered by reference; None when the tenant stored none.

    With several for one registry, the one created last wins."""
    rows = tx.all(
        "SELECT secret FROM connections WHERE tenant_id = ? AND integration_id = ?"
        " ORDER BY created_at DESC, id DESC",
        (tenant_id, OCI_REGISTRY),
    )
    for row in rows:
        parameters = box.open(row["secret"])
        if parameters.get("registry") == registry:
            return {"username": parameters["username"], "password": parameters["password"]}
    return None
