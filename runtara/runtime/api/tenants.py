"""Tenants and their API keys (admin only: the admin key, or a ``--dev`` server)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.store import tenants

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])

TenantId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]


class TenantIn(BaseModel):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str | None = Field(None, max_length=200, pattern=NO_NUL)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: str | None

    @classmethod
    def of(cls, t: tenants.Tenant) -> TenantOut:
        return cls(id=t.id, name=t.name, created_at=iso(t.created_at))


class ApiKeyIn(BaseModel):
    name: str = Field("default", min_length=1, max_length=200, pattern=NO_NUL)


class ApiKeyOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, k: tenants.ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            tenant_id=k.tenant_id,
            name=k.name,
            created_at=iso(k.created_at),
            last_used_at=iso(k.last_used_at),
            revoked_at=iso(k.revoked_at),
        )


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="the secret: shown once, only its hash is stored")


@router.post("", response_model=TenantOut, status_code=201)
async def create_tenant(request: Request, who: Authenticated, body: TenantIn) -> TenantOut:
    who.require_admin()
    return TenantOut.of(await store_of(request).arun(tenants.create_tenant, body.id, body.name))


@router.get("", response_model=list[TenantOut])
async def list_tenants(request: Request, who: Authenticated) -> list[TenantOut]:
    who.require_admin()
    return [TenantOut.of(t) for t in await store_of(request).arun(tenants.list_tenants)]


@router.get("/{tenant_id}", response_model=TenantOut)
async def get_tenant(request: Request, who: Authenticated, tenant_id: TenantId) -> TenantOut:
    who.require_admin()
    return TenantOut.of(await store_of(request).arun(tenants.get_tenant, tenant_id))


@router.post("/{tenant_id}/api-keys", response_model=NewApiKeyOut, status_code=201)
async def create_api_key(
    request: Request, who: Authenticated, tenant_id: TenantId, body: ApiKeyIn
) -> NewApiKeyOut:
    """A new key for the tenant; the answer is the only time its secret is shown."""
    who.require_admin()
    created = await store_of(request).arun(tenants.create_api_key, tenant_id, body.name)
    return NewApiKeyOut(**ApiKeyOut.of(created.info).model_dump(), key=created.key)


@router.get("/{tenant_id}/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(
    request: Request, who: Authenticated, tenant_id: TenantId
) -> list[ApiKeyOut]:
    who.require_admin()
    await store_of(request).arun(tenants.get_tenant, tenant_id)
    return [ApiKeyOut.of(k) for k in await store_of(request).arun(tenants.list_api_keys, tenant_id)]


@router.delete("/{tenant_id}/api-keys/{key_id}", status_code=204)
async def revoke_api_key(
    request: Request,
    who: Authenticated,
    tenant_id: TenantId,
    key_id: Annotated[str, Path(max_length=200, pattern=NO_NUL)],
) -> Response:
    who.require_admin()
    await store_of(request).arun(tenants.revoke_api_key, tenant_id, key_id)
    return Response(status_code=204)
