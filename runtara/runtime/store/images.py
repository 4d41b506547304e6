"""Images: what an instance runs, per tenant, by name and version.

Registering a name again adds the next version; an instance names its image as
``NAME`` (the latest version), ``NAME:VERSION`` or the image id. ``metadata`` holds
what the runner needs (command line, workflow document, OCI reference, limits).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.status import TERMINAL
from runtara.runtime.store import tenants
from runtara.runtime.store.database import Row, Tx, now_ms, read_op, write_op


@dataclass(frozen=True, slots=True)
class Image:
    tenant_id: str
    id: str
    name: str
    version: int
    runner: str
    reference: str
    digest: str | None
    metadata: dict[str, Any]
    created_at: int

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


_COLUMNS = "tenant_id, id, name, version, runner, reference, digest, metadata, created_at"


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
    """Register ``name`` at its next version (1 for a new name)."""
    image_id = image_id or str(uuid.uuid4())
    tenants.ensure(tx, tenant_id)
    latest = tx.scalar(
        "SELECT MAX(version) AS v FROM images WHERE tenant_id = ? AND name = ?", (tenant_id, name)
    )
    inserted = tx.execute(
        f"INSERT INTO images ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (
            tenant_id,
            image_id,
            name,
            int(latest or 0) + 1,
            runner,
            reference,
            digest,
            json.dumps(metadata or {}),
            now_ms(),
        ),
    )
    if not inserted:
        raise Conflict(f"image {image_id!r} (or {name}:{int(latest or 0) + 1}) already exists")
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
def resolve_image(tx: Tx, tenant_id: str, ref: str) -> Image:
    """``ref`` is an image id, ``NAME:VERSION`` or ``NAME`` (its latest version)."""
    row = tx.one(f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ? AND id = ?", (tenant_id, ref))
    if row is None:
        name, sep, version = ref.rpartition(":")
        if sep and version.isdigit():
            row = tx.one(
                f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ? AND name = ? AND version = ?",
                (tenant_id, name, int(version)),
            )
        else:
            row = tx.one(
                f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ? AND name = ?"
                " ORDER BY version DESC LIMIT 1",
                (tenant_id, ref),
            )
    if row is None:
        raise NotFound(f"image {ref!r} not found in tenant {tenant_id!r}")
    return _image(row)


@read_op
def list_images(
    tx: Tx, tenant_id: str, *, name: str | None = None, limit: int = 100, offset: int = 0
) -> list[Image]:
    """Newest first; ``name`` keeps only the versions of one image."""
    sql = f"SELECT {_COLUMNS} FROM images WHERE tenant_id = ?"
    params: list[Any] = [tenant_id]
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    sql += " ORDER BY created_at DESC, version DESC, id LIMIT ? OFFSET ?"
    rows = tx.all(sql, (*params, limit, offset))
    return [_image(r) for r in rows]


@write_op
def delete_image(tx: Tx, tenant_id: str, ref: str) -> Image:
    """Remove an image; refused (409) while an instance of it has not ended."""
    image = resolve_image(tx, tenant_id, ref)
    finished = sorted(s.value for s in TERMINAL)
    live = tx.scalar(
        "SELECT COUNT(*) AS n FROM instances WHERE tenant_id = ? AND image_id = ?"
        f" AND status NOT IN ({', '.join('?' for _ in finished)})",
        (tenant_id, image.id, *finished),
    )
    if live:
        raise Conflict(
            f"image {image.label} has {live} instance(s) that have not ended; "
            "cancel them or wait for them before deleting it"
        )
    tx.execute("DELETE FROM images WHERE tenant_id = ? AND id = ?", (tenant_id, image.id))
    return image
