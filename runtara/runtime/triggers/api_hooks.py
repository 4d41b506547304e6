"""``/v1/hooks``: webhooks. Managing them takes the tenant's API key; delivering to
``POST /v1/hooks/{id}`` takes none (the sender has only the URL and, when the hook has
a secret, the signature it computes with it)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from runtara.errors import ServiceError
from runtara.runtime.api.auth import Authenticated
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.management import iso
from runtara.runtime.api.state import store_of
from runtara.runtime.api.storable import StoredJson
from runtara.runtime.errors import InvalidInput, PayloadTooLarge
from runtara.runtime.settings import Settings
from runtara.runtime.store.database import now_ms
from runtara.runtime.triggers import hooks, signing

router = APIRouter(prefix="/v1/hooks", tags=["hooks"])

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
HookRef = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]
#: Longest Idempotency-Key accepted.
MAX_KEY_LENGTH = 255
#: The nesting check every stored JSON value passes.
_STORED: TypeAdapter[Any] = TypeAdapter(StoredJson)


class HookIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    image: str = Field(
        min_length=1, max_length=300, pattern=NO_NUL, description="image id, NAME or NAME:VERSION"
    )
    secret: str | None = Field(
        None,
        min_length=8,
        max_length=1000,
        pattern=NO_NUL,
        description="HMAC-SHA256 key; deliveries must then be signed (never shown again)",
    )


class RotateIn(BaseModel):
    secret: str | None = Field(
        None, min_length=8, max_length=1000, pattern=NO_NUL, description="default: a random one"
    )


class HookOut(BaseModel):
    id: str
    name: str
    image: str
    path: str = Field(description="POST deliveries here")
    url: str = Field(description="the path on the address this request reached")
    signed: bool = Field(description="deliveries must carry X-Runtara-Signature")
    secret_set_at: str | None
    created_at: str | None

    @classmethod
    def of(cls, hook: hooks.Hook, request: Request) -> HookOut:
        return cls(
            id=hook.id,
            name=hook.name,
            image=hook.image,
            path=hook.path,
            url=str(request.base_url).rstrip("/") + hook.path,
            signed=hook.has_secret,
            secret_set_at=iso(hook.secret_set_at),
            created_at=iso(hook.created_at),
        )


class NewSecretOut(HookOut):
    secret: str = Field(description="the new signing secret: shown this once")


class HookList(BaseModel):
    hooks: list[HookOut]
    limit: int
    offset: int


class DeliveryOut(BaseModel):
    instance_id: str
    hook: str
    replayed: bool = Field(description="true: an earlier delivery with this Idempotency-Key")


class DeliveryRecord(BaseModel):
    instance_id: str
    idempotency_key: str | None
    status: str | None = Field(description="the instance's status now (null: it was deleted)")
    created_at: str | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRecord]


# -- management -------------------------------------------------------------------------


@router.post("", response_model=HookOut, status_code=201)
async def create_hook(request: Request, who: Authenticated, body: HookIn) -> HookOut:
    """A webhook starting instances of ``image`` in this tenant."""
    store = store_of(request)
    hook = await store.arun(
        hooks.create_hook,
        store.secrets,
        who.tenant_id,
        body.name,
        body.image,
        secret=body.secret,
        now=now_ms(),
    )
    return HookOut.of(hook, request)


@router.get("", response_model=HookList)
async def list_hooks(
    request: Request,
    who: Authenticated,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HookList:
    found = await store_of(request).arun(
        hooks.list_hooks, who.tenant_id, limit=limit, offset=offset
    )
    return HookList(hooks=[HookOut.of(h, request) for h in found], limit=limit, offset=offset)


@router.get("/{ref}", response_model=HookOut)
async def get_hook(request: Request, who: Authenticated, ref: HookRef) -> HookOut:
    """A hook by name or id (its secret is never shown)."""
    return HookOut.of(await store_of(request).arun(hooks.get_hook, who.tenant_id, ref), request)


@router.delete("/{ref}", response_model=HookOut)
async def delete_hook(request: Request, who: Authenticated, ref: HookRef) -> HookOut:
    """Remove the hook; its URL answers 404 from now on."""
    return HookOut.of(await store_of(request).arun(hooks.delete_hook, who.tenant_id, ref), request)


@router.post("/{ref}/rotate-secret", response_model=NewSecretOut)
async def rotate_secret(
    request: Request, who: Authenticated, ref: HookRef, body: RotateIn | None = None
) -> NewSecretOut:
    """Set a new signing secret (random unless given) and show it this once; deliveries
    signed with the old one get 401 from now on. A hook without a secret gets one."""
    secret = (body.secret if body else None) or hooks.new_secret()
    store = store_of(request)
    hook = await store.arun(
        hooks.set_secret, store.secrets, who.tenant_id, ref, secret, now=now_ms()
    )
    return NewSecretOut(**HookOut.of(hook, request).model_dump(), secret=secret)


@router.get("/{ref}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    request: Request,
    who: Authenticated,
    ref: HookRef,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> DeliveryList:
    """Accepted deliveries of the last 24 hours, newest first."""
    found = await store_of(request).arun(hooks.list_deliveries, who.tenant_id, ref, limit=limit)
    return DeliveryList(
        deliveries=[
            DeliveryRecord(
                instance_id=d.instance_id,
                idempotency_key=d.idempotency_key,
                status=d.status,
                created_at=iso(d.created_at),
            )
            for d in found
        ]
    )


# -- deliveries -------------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"delivery body of {declared} bytes exceeds the limit of {limit} bytes "
            "(server setting RUNTARA_MAX_HOOK_BYTES)"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"delivery body exceeds the limit of {limit} bytes "
                "(server setting RUNTARA_MAX_HOOK_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _input(body: bytes) -> Any:
    """The delivery's JSON body as the instance input (an empty body: null)."""
    if not body.strip():
        return None
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"body: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"body: not a JSON document: {exc}") from None
    try:
        return _STORED.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"body: {reason}") from None


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} printable characters, got {len(key)}"
        )
    return key


@router.post(
    "/{hook_id}",
    status_code=202,
    response_model=DeliveryOut,
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": {}}}, "required": False},
        "parameters": [
            {"name": "X-Runtara-Signature", "in": "header", "schema": {"type": "string"}},
            {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
        ],
    },
)
async def deliver(request: Request, hook_id: HookRef) -> JSONResponse:
    """Start an instance with the JSON body as its input; 202 with its id. A hook with a
    secret needs ``X-Runtara-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (401
    without it); the same ``Idempotency-Key`` within 24 h answers the first instance."""
    counter = request.app.state.metrics.hook_deliveries
    try:
        answer = await _deliver(request, hook_id)
    except ServiceError as exc:
        counter.labels(str(exc.status)).inc()
        raise
    counter.labels(str(answer.status_code)).inc()
    return answer


async def _deliver(request: Request, hook_id: str) -> JSONResponse:
    store = store_of(request)
    settings: Settings = request.app.state.settings
    hook, secret = await store.arun(hooks.hook_for_delivery, store.secrets, hook_id)
    key = _idempotency_key(request)
    body = await _body(request, settings.max_hook_bytes)
    if secret is not None:
        signing.verify(secret, body, request.headers.get(signing.HEADER))
    delivery = await store.arun(
        hooks.deliver, hook, _input(body), idempotency_key=key, now=now_ms()
    )
    if not delivery.replayed:
        scheduler = getattr(request.app.state, "scheduler", None)
        if scheduler is not None:
            scheduler.nudge()
    out = DeliveryOut(instance_id=delivery.instance_id, hook=hook.name, replayed=delivery.replayed)
    headers = {"Location": f"/v1/instances/{delivery.instance_id}"}
    if delivery.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(out.model_dump(), status_code=202, headers=headers)
