"""The instance protocol: what a running workflow process says to the runtime.

All paths are under ``/v1/instance/{tenant_id}/{instance_id}``; the caller proves it
is that instance with ``Authorization: Bearer <RUNTARA_INSTANCE_TOKEN>`` (optional for
instances that registered themselves with a ``--dev`` server). See PROTOCOL.md.

The checkpoint endpoint is the hot path: its request body is the raw state (no JSON
wrapping, no validation layer) and its answer is a few bytes of JSON.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from starlette.responses import Response

from runtara.runtime import connection_types, tracing
from runtara.runtime.api import fastpath
from runtara.runtime.api.checkpoint_protocol import save_answer
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.instance_models import (
    Accepted,
    AckRequest,
    CheckpointAnswer,
    CompletedRequest,
    ConnectionAnswer,
    EventBatch,
    FailedRequest,
    InstanceView,
    RegisterRequest,
    RetryRequest,
    SignalAnswer,
    SignalPollAnswer,
    SignalWaitAnswer,
    SignalWaitRequest,
    SleepAnswer,
    SleepRequest,
    StoredState,
)
from runtara.runtime.api.state import store_of
from runtara.runtime.errors import InvalidInput
from runtara.runtime.store import checkpoints, connections, events, instances, signals
from runtara.runtime.store.access import Caller

router = APIRouter(prefix="/v1/instance/{tenant_id}/{instance_id}", tags=["instance protocol"])

TenantId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
InstanceId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
Key = Annotated[
    str, Path(min_length=1, max_length=1000, pattern=NO_NUL, description="checkpoint id")
]


def instance_caller(request: Request, tenant_id: str, instance_id: str) -> Caller:
    """Who calls: the instance of the path, with the bearer token it sent (if any)."""
    header = request.headers.get("authorization")
    token = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            token = value.strip()
    return Caller(tenant_id, instance_id, token, request.app.state.settings.dev)


def json_answer(value: Any) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), media_type="application/json")


def _encode_state(state: bytes | None) -> str | None:
    return None if state is None else base64.b64encode(state).decode()


def _view(instance: instances.Instance) -> InstanceView:
    return InstanceView(
        status=instance.status,
        input=instance.input,
        attempts=instance.attempts,
        last_checkpoint_id=instance.last_checkpoint_id,
    )


# -- endpoints --------------------------------------------------------------------------


@router.post("/register", response_model=InstanceView)
async def register(
    request: Request,
    tenant_id: TenantId,
    instance_id: InstanceId,
    body: Annotated[RegisterRequest | None, Body()] = None,
) -> InstanceView:
    """Start (or restart) this instance: it becomes ``running``; answers its input."""
    caller = instance_caller(request, tenant_id, instance_id)
    checkpoint_id = body.checkpoint_id if body else None
    view = _view(await store_of(request).arun(instances.register, caller, checkpoint_id))
    if request.app.state.tracing is not None:
        request.app.state.tracing.registered(tenant_id, instance_id)
    return view


@router.get("", response_model=InstanceView)
async def status(request: Request, tenant_id: TenantId, instance_id: InstanceId) -> InstanceView:
    """This instance's status (read-only)."""
    caller = instance_caller(request, tenant_id, instance_id)
    return _view(await store_of(request).arun(instances.own_status, caller))


@router.post(
    "/checkpoints/{key:path}",
    response_model=CheckpointAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {}},
            },
        }
    },
)
async def save_checkpoint(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, key: Key
) -> Response:
    """Save the request body as checkpoint ``key`` unless it exists (then answer the stored one).

    (Served by ``fastpath.CheckpointFastPath`` under ``runtara server``; same behaviour.)
    Atomic: concurrent saves of one id store exactly one state. Also a heartbeat. A
    retried request repeats its ``Idempotency-Key`` header, so a save whose answer was
    lost is answered as saved, not found.
    """
    state = await request.body()
    content_type = request.headers.get("content-type") or "application/octet-stream"
    caller = instance_caller(request, tenant_id, instance_id)
    request_id = request.headers.get("idempotency-key")
    result = await fastpath.save(request.app.state, caller, key, state, content_type, request_id)
    return Response(save_answer(result), media_type="application/json")


@router.get("/checkpoints/{key:path}", response_model=StoredState)
async def get_checkpoint(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, key: Key
) -> Response:
    """Look a checkpoint up without saving anything."""
    caller = instance_caller(request, tenant_id, instance_id)
    found = await store_of(request).arun(checkpoints.get_checkpoint, caller, key)
    if found is None:
        return json_answer({"found": False, "state": None, "content_type": None})
    return json_answer({"found": True, "state": _encode_state(found[0]), "content_type": found[1]})


@router.post("/sleep", response_model=SleepAnswer)
async def sleep(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: SleepRequest
) -> SleepAnswer:
    """Begin or find the durable sleep ``key``; its end is fixed the first time."""
    caller = instance_caller(request, tenant_id, instance_id)
    result = await store_of(request).arun(checkpoints.sleep, caller, body.key, body.duration_ms)
    if request.app.state.tracing is not None:
        request.app.state.tracing.sleeping(tenant_id, instance_id, body.key, result.wake_at)
    return SleepAnswer(wake_at=result.wake_at, remaining_ms=result.remaining_ms, exit=result.exit)


@router.post("/heartbeat", response_model=SignalAnswer)
async def heartbeat(request: Request, tenant_id: TenantId, instance_id: InstanceId) -> SignalAnswer:
    """Report liveness; answers the pending signal."""
    caller = instance_caller(request, tenant_id, instance_id)
    return SignalAnswer(signal=await store_of(request).arun(instances.heartbeat, caller))


@router.post("/events", response_model=Accepted)
async def add_events(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: EventBatch
) -> Accepted:
    """Store a batch of events in one transaction."""
    caller = instance_caller(request, tenant_id, instance_id)
    batch = [
        events.NewEvent(e.event_type, e.subtype, e.payload, e.timestamp_ms) for e in body.events
    ]
    return Accepted(accepted=await store_of(request).arun(events.add_events, caller, batch))


@router.post("/retries", response_model=Accepted)
async def retry_attempt(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: RetryRequest
) -> Accepted:
    """Record one retry of a durable function (audit trail)."""
    caller = instance_caller(request, tenant_id, instance_id)
    await store_of(request).arun(events.record_retry, caller, body.key, body.attempt, body.error)
    if request.app.state.tracing is not None:
        request.app.state.tracing.retried(
            tenant_id, instance_id, body.key, body.attempt, body.error
        )
    return Accepted(accepted=1)


@router.post("/signals/ack", response_model=InstanceView)
async def acknowledge_signal(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: AckRequest
) -> InstanceView:
    """The instance saw ``signal``; acknowledging a cancel makes it ``cancelled``."""
    caller = instance_caller(request, tenant_id, instance_id)
    view = _view(await store_of(request).arun(instances.acknowledge_signal, caller, body.signal))
    await tracing.instance_ended(request.app.state, tenant_id, instance_id)
    return view


@router.post("/signals/{key:path}/poll", response_model=SignalPollAnswer)
async def poll_custom_signal(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, key: Key
) -> SignalPollAnswer:
    """Take the custom signal sent to ``key`` (kept as checkpoint ``key``), if it arrived."""
    caller = instance_caller(request, tenant_id, instance_id)
    polled = await store_of(request).arun(signals.poll_custom_signal, caller, key)
    return SignalPollAnswer(found=polled.found, payload=polled.payload, signal=polled.signal)


@router.post("/signals/{key:path}/wait", response_model=SignalWaitAnswer)
async def wait_custom_signal(
    request: Request,
    tenant_id: TenantId,
    instance_id: InstanceId,
    key: Key,
    body: SignalWaitRequest,
) -> SignalWaitAnswer:
    """Take the custom signal sent to ``key``, or wait for it durably (see PROTOCOL.md)."""
    caller = instance_caller(request, tenant_id, instance_id)
    found = await store_of(request).arun(checkpoints.wait_for_signal, caller, key, body.timeout_ms)
    return SignalWaitAnswer(
        found=found.found,
        payload=found.payload,
        signal=found.signal,
        timed_out=found.timed_out,
        exit=found.exit,
        remaining_ms=found.remaining_ms,
    )


@router.post("/completed", response_model=InstanceView)
async def completed(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: CompletedRequest
) -> InstanceView:
    caller = instance_caller(request, tenant_id, instance_id)
    view = _view(await store_of(request).arun(instances.complete, caller, body.output))
    await tracing.instance_ended(request.app.state, tenant_id, instance_id)
    return view


@router.post("/failed", response_model=InstanceView)
async def failed(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, body: FailedRequest
) -> InstanceView:
    caller = instance_caller(request, tenant_id, instance_id)
    if body.error is None:
        raise InvalidInput("failed needs an error (a message or an object)")
    view = _view(await store_of(request).arun(instances.fail, caller, body.error))
    await tracing.instance_ended(request.app.state, tenant_id, instance_id)
    return view


@router.post("/suspended", response_model=InstanceView)
async def suspended(request: Request, tenant_id: TenantId, instance_id: InstanceId) -> InstanceView:
    """The instance stopped because it was asked to pause."""
    caller = instance_caller(request, tenant_id, instance_id)
    return _view(await store_of(request).arun(instances.suspend, caller))


@router.get("/connections/{connection_id}", response_model=ConnectionAnswer)
async def fetch_connection(
    request: Request, tenant_id: TenantId, instance_id: InstanceId, connection_id: InstanceId
) -> Response:
    """Decrypted parameters of a connection of this tenant, for a secure agent (never cached)."""
    caller = instance_caller(request, tenant_id, instance_id)
    store = store_of(request)
    parameters = await store.arun(
        connections.fetch_parameters, store.secrets, caller, connection_id
    )
    info = await store.arun(connections.get_connection, tenant_id, connection_id)
    document = {
        "id": info.id,
        "integration_id": info.integration_id,
        "parameters": parameters,
        "secrets": connection_types.secret_names(info.integration_id),
    }
    response = json_answer(document)
    response.headers["cache-control"] = "no-store"
    return response


# The batch save and the paged read of checkpoints, on this router.
from runtara.runtime.api import checkpoint_batches  # noqa: E402, F401
