"""Management authentication: which tenant a request acts for.

* A tenant API key (``Authorization: Bearer rk_...``) acts for its own tenant only; a
  ``X-Runtara-Tenant`` header naming another tenant is refused.
* The admin key (``RUNTARA_ADMIN_KEY``) acts for the tenant named in ``X-Runtara-Tenant``;
  without one it may manage tenants, and anything else answers that a tenant is needed
  (listing an unnamed tenant's instances would show nothing, and say nothing).
* In ``--dev`` mode a request without a key acts for ``X-Runtara-Tenant`` (default
  ``default``), with admin rights, and the tenant is created on first use.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from runtara.runtime.errors import Forbidden, InvalidInput, Unauthorized
from runtara.runtime.settings import Settings
from runtara.runtime.store import Store, tenants

DEFAULT_DEV_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    #: The tenant acted for; None for the admin key without ``X-Runtara-Tenant``.
    tenant: str | None
    #: May manage tenants and API keys (the admin key, or anyone on a --dev server).
    admin: bool = False

    @property
    def tenant_id(self) -> str:
        if self.tenant is None:
            raise InvalidInput(
                "the admin key acts for one tenant at a time: name it with --tenant TENANT "
                "(RUNTARA_TENANT; the X-Runtara-Tenant header over HTTP)"
            )
        return self.tenant

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("managing tenants and API keys needs the admin key (RUNTARA_ADMIN_KEY)")


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Authorization header must be 'Bearer <API key>'")
    return value.strip()


async def principal(
    request: Request,
    x_runtara_tenant: Annotated[
        str | None, Header(max_length=200, description="tenant to act for (admin key, --dev)")
    ] = None,
) -> Principal:
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    key = bearer(request)
    if key is None:
        if not settings.dev:
            raise Unauthorized("an API key is required: Authorization: Bearer <API key>")
        tenant_id = x_runtara_tenant or DEFAULT_DEV_TENANT
        await store.arun(tenants.ensure_tenant, tenant_id)
        return Principal(tenant_id, admin=True)  # dev: a local, single-user server
    if settings.admin_key and hmac.compare_digest(key, settings.admin_key):
        if not settings.dev:
            return Principal(x_runtara_tenant, admin=True)
        tenant_id = x_runtara_tenant or DEFAULT_DEV_TENANT
        await store.arun(tenants.ensure_tenant, tenant_id)
        return Principal(tenant_id, admin=True)
    owner = await store.arun(tenants.tenant_for_api_key, key)
    if owner is None:
        raise Unauthorized("unknown or revoked API key")
    if x_runtara_tenant is not None and x_runtara_tenant != owner:
        raise Forbidden(f"this API key belongs to another tenant than {x_runtara_tenant!r}")
    return Principal(owner)


Authenticated = Annotated[Principal, Depends(principal)]
