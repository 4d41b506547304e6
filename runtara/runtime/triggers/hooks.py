"""Webhooks in the store: a random URL id that starts instances of one image of a tenant.

The id is the URL (``/v1/hooks/{id}``), so it is random and global; the name is how its
tenant manages it. The signing secret is kept sealed (``RUNTARA_SECRET_KEY``, like
connections) because checking a signature needs it in clear; it is never returned
after it was set. A delivery with an ``Idempotency-Key`` is remembered for 24 hours:
the same key again answers the first instance instead of starting another.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import Conflict, NotConfigured, NotFound
from runtara.runtime.store import images, instances, tenants
from runtara.runtime.store.database import Row, Tx, read_op, write_op
from runtara.runtime.store.secrets import SecretBox

#: How long an Idempotency-Key is remembered.
IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000

_COLUMNS = "id, tenant_id, name, image, secret IS NOT NULL AS has_secret, secret_set_at, created_at"


@dataclass(frozen=True, slots=True)
class Hook:
    id: str
    tenant_id: str
    name: str
    image: str
    has_secret: bool
    secret_set_at: int | None
    created_at: int

    @property
    def path(self) -> str:
        return f"/v1/hooks/{self.id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """An accepted delivery: the instance it started (``replayed``: started earlier)."""

    instance_id: str
    replayed: bool
    created_at: int
    idempotency_key: str | None = None
    status: str | None = None


def _hook(row: Row) -> Hook:
    data = dict(row)
    data["has_secret"] = bool(data["has_secret"])
    return Hook(**data)


def new_hook_id() -> str:
    """``hk_`` and 128 random bits: a URL nobody guesses."""
    return "hk_" + secrets.token_urlsafe(16)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _seal(box: SecretBox, secret: str) -> str:
    try:
        return box.seal(secret).decode("ascii")
    except NotConfigured:
        raise NotConfigured(
            "a hook secret needs an encryption key: set RUNTARA_SECRET_KEY "
            "(or run the server with --dev, which keeps one under .data/)"
        ) from None


def _find(tx: Tx, tenant_id: str, ref: str) -> Hook:
    row = tx.one(
        f"SELECT {_COLUMNS} FROM hooks WHERE tenant_id = ? AND (name = ? OR id = ?)"
        " ORDER BY name = ? DESC LIMIT 1",
        (tenant_id, ref, ref, ref),
    )
    if row is None:
        raise NotFound(f"hook {ref!r} not found in tenant {tenant_id!r}")
    return _hook(row)


# -- management -------------------------------------------------------------------------


@write_op
def create_hook(
    tx: Tx, box: SecretBox, tenant_id: str, name: str, image: str, *, secret: str | None, now: int
) -> Hook:
    """A new hook; its image must exist in the tenant (resolved again at each delivery)."""
    tenants.ensure(tx, tenant_id)
    images.resolve_image(tx, tenant_id, image)
    hook_id = new_hook_id()
    inserted = tx.execute(
        "INSERT INTO hooks (id, tenant_id, name, image, secret, secret_set_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            hook_id,
            tenant_id,
            name,
            image,
            None if secret is None else _seal(box, secret),
            None if secret is None else now,
            now,
        ),
    )
    if not inserted:
        raise Conflict(f"hook {name!r} already exists in tenant {tenant_id!r}")
    return _find(tx, tenant_id, hook_id)


@read_op
def get_hook(tx: Tx, tenant_id: str, ref: str) -> Hook:
    """``ref``: the hook's name or id."""
    return _find(tx, tenant_id, ref)


@read_op
def list_hooks(tx: Tx, tenant_id: str, *, limit: int = 100, offset: int = 0) -> list[Hook]:
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM hooks WHERE tenant_id = ? ORDER BY name LIMIT ? OFFSET ?",
        (tenant_id, limit, offset),
    )
    return [_hook(r) for r in rows]


@write_op
def delete_hook(tx: Tx, tenant_id: str, ref: str) -> Hook:
    """Remove the hook: its URL answers 404 from now on."""
    hook = _find(tx, tenant_id, ref)
    tx.execute("DELETE FROM hooks WHERE id = ?", (hook.id,))
    return hook


@write_op
def set_secret(tx: Tx, box: SecretBox, tenant_id: str, ref: str, secret: str, *, now: int) -> Hook:
    """Replace the signing secret: deliveries signed with the old one get 401 at once."""
    hook = _find(tx, tenant_id, ref)
    tx.execute(
        "UPDATE hooks SET secret = ?, secret_set_at = ? WHERE id = ?",
        (_seal(box, secret), now, hook.id),
    )
    return _find(tx, tenant_id, hook.id)


@read_op
def list_deliveries(tx: Tx, tenant_id: str, ref: str, *, limit: int = 50) -> list[Delivery]:
    """The hook's accepted deliveries of the last 24 hours, newest first, with the
    status of the instance each started."""
    hook = _find(tx, tenant_id, ref)
    rows = tx.all(
        "SELECT d.instance_id, d.idempotency_key, d.created_at, i.status FROM hook_deliveries d"
        " LEFT JOIN instances i ON i.tenant_id = ? AND i.id = d.instance_id"
        " WHERE d.hook_id = ? ORDER BY d.created_at DESC, d.instance_id LIMIT ?",
        (hook.tenant_id, hook.id, limit),
    )
    return [
        Delivery(r["instance_id"], False, r["created_at"], r["idempotency_key"], r["status"])
        for r in rows
    ]


# -- deliveries -------------------------------------------------------------------------


@read_op
def hook_for_delivery(tx: Tx, box: SecretBox, hook_id: str) -> tuple[Hook, str | None]:
    """The hook behind a URL and its secret in clear (None: deliveries need no signature)."""
    row = tx.one(f"SELECT {_COLUMNS}, secret FROM hooks WHERE id = ?", (hook_id,))
    if row is None:
        raise NotFound(f"no hook at /v1/hooks/{hook_id}")
    data = dict(row)
    sealed = data.pop("secret")
    return _hook(data), None if sealed is None else str(box.open(sealed.encode("ascii")))


@write_op
def deliver(tx: Tx, hook: Hook, input: Any, *, idempotency_key: str | None, now: int) -> Delivery:
    """Start an instance of the hook's image with ``input`` (in the hook's tenant only),
    or answer the instance a delivery with the same key started in the last 24 hours."""
    instance_id = str(uuid.uuid4())
    if idempotency_key is not None:
        tx.execute(
            "DELETE FROM hook_deliveries WHERE hook_id = ? AND idempotency_key = ?"
            " AND created_at < ?",
            (hook.id, idempotency_key, now - IDEMPOTENCY_TTL_MS),
        )
    # The delivery row first: a concurrent delivery with the same key waits on it and
    # then finds it, instead of starting a second instance.
    claimed = tx.execute(
        "INSERT INTO hook_deliveries (hook_id, instance_id, idempotency_key, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (hook.id, instance_id, idempotency_key, now),
    )
    if not claimed:
        row = tx.one(
            "SELECT instance_id, created_at FROM hook_deliveries"
            " WHERE hook_id = ? AND idempotency_key = ?",
            (hook.id, idempotency_key),
        )
        assert row is not None
        return Delivery(row["instance_id"], True, row["created_at"], idempotency_key)
    try:
        image = images.resolve_image(tx, hook.tenant_id, hook.image)
    except NotFound:
        raise Conflict(
            f"hook {hook.name!r} cannot start an instance: its image {hook.image!r} no longer"
            " exists (its owner must register it again or recreate the hook)"
        ) from None
    instances.create_instance(
        tx,
        hook.tenant_id,
        instance_id,
        input=input,
        image_id=image.id,
        runner=image.runner,
        hook=hook.name,
    )
    return Delivery(instance_id, False, now, idempotency_key)


@write_op
def prune_deliveries(tx: Tx, *, now: int) -> int:
    """Forget deliveries older than 24 hours (their keys no longer deduplicate)."""
    return tx.execute(
        "DELETE FROM hook_deliveries WHERE created_at < ?", (now - IDEMPOTENCY_TTL_MS,)
    )
