"""Connections of the caller's tenant: credentials for secure agents.

Parameters go in (checked against the connection type, then encrypted at rest) and
never come out of this API; only an instance of the same tenant receives them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from runtara.runtime import connection_types
from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredObject
from runtara.runtime.store import connections

router = APIRouter(prefix="/v1/connections", tags=["connections"])

ConnectionId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]


class ConnectionIn(BaseModel):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    integration_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="connection type, e.g. http_bearer",
    )
    name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    parameters: StoredObject


class ParametersIn(BaseModel):
    parameters: StoredObject


class ConnectionOut(BaseModel):
    id: str
    integration_id: str
    name: str
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, c: connections.Connection) -> ConnectionOut:
        return cls(
            id=c.id,
            integration_id=c.integration_id,
            name=c.name,
            created_at=iso(c.created_at),
            updated_at=iso(c.updated_at),
        )


@router.post("", response_model=ConnectionOut, status_code=201)
async def create_connection(
    request: Request, who: Authenticated, body: ConnectionIn
) -> ConnectionOut:
    parameters = connection_types.validate(body.integration_id, body.parameters)
    store = store_of(request)
    created = await store.arun(
        connections.create_connection,
        store.secrets,
        who.tenant_id,
        body.id,
        body.integration_id,
        parameters,
        body.name,
    )
    return ConnectionOut.of(created)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(request: Request, who: Authenticated) -> list[ConnectionOut]:
    return [
        ConnectionOut.of(c)
        for c in await store_of(request).arun(connections.list_connections, who.tenant_id)
    ]


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    request: Request, who: Authenticated, connection_id: ConnectionId
) -> ConnectionOut:
    return ConnectionOut.of(
        await store_of(request).arun(connections.get_connection, who.tenant_id, connection_id)
    )


@router.put("/{connection_id}", response_model=ConnectionOut)
async def update_connection(
    request: Request, who: Authenticated, connection_id: ConnectionId, body: ParametersIn
) -> ConnectionOut:
    """Replace the parameters (e.g. rotate a token); the type stays."""
    store = store_of(request)
    current = await store.arun(connections.get_connection, who.tenant_id, connection_id)
    parameters = connection_types.validate(current.integration_id, body.parameters)
    updated = await store.arun(
        connections.update_connection, store.secrets, who.tenant_id, connection_id, parameters
    )
    return ConnectionOut.of(updated)


@router.delete("/{connection_id}", status_code=204)
async def delete_connection(
    request: Request, who: Authenticated, connection_id: ConnectionId
) -> Response:
    await store_of(request).arun(connections.delete_connection, who.tenant_id, connection_id)
    return Response(status_code=204)
