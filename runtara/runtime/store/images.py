"""Images: what an instance runs (a native binary, a Python program, or an OCI reference)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import NotFound
from runtara.runtime.store import tenants
from runtara.runtime.store.database import Row, Tx, now_ms, read_op, write_op


@dataclass(frozen=True, slots=True)
class Image:
    tenant_id: str
    id: str
    name: str
    runner: str
    reference: str
    digest: str | None
    metadata: dict[str, Any]
    created_at: int


_COLUMNS = "tenant_id, id, name, runner, reference, digest, metadata, created_at"


def _image(row: Row) -> Image:
    data = dict(row)
    data["metadata"] = json.loads(data["metadata"])
    return Image(**data)


@write_op
def create_image(
    tx: Tx,
    tenant_id: str,
    name: str,
    runner: str,
    reference: str,
    *,
    digest: str | None = None,
    metadata: dict[str, Any] | None = None,
    image_id: str | None = None,
) -> Image:
    image_id = image_id or str(uuid.uuid4())
    tenants.ensure(tx, tenant_id)
    tx.execute(
        f"INSERT INTO images ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tenant_id,
            image_id,
            name,
            runner,
            reference,
            digest,
            json.dumps(metadata or {}),
            now_ms(),
        ),
    )
    return get_image(tx, tenant_id, image_id)


@read_op
def get_image(tx: Tx, tenant_id: str, image_id: str) -> Image:
    row = tx.one(
        f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ? AND id = ?", (tenant_id, image_id)
    )
    if row is None:
        raise NotFound(f"image {image_id!r} not found in tenant {tenant_id!r}")
    return _image(row)


@read_op
def list_images(tx: Tx, tenant_id: str, *, limit: int = 100, offset: int = 0) -> list[Image]:
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        (tenant_id, limit, offset),
    )
    return [_image(r) for r in rows]


@write_op
def delete_image(tx: Tx, tenant_id: str, image_id: str) -> None:
    if not tx.execute("DELETE FROM images WHERE tenant_id = ? AND id = ?", (tenant_id, image_id)):
        raise NotFound(f"image {image_id!r} not found in tenant {tenant_id!r}")
