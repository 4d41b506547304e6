"""Buffered checkpoints saved as one batch, and a rerun's checkpoints read in pages.

Two calls of the instance protocol (PROTOCOL.md, "Buffered checkpoints" and "A rerun
reads its checkpoints in pages"), on the instance router of ``instance.py``, which
imports this module at its end.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from runtara.runtime.api import fastpath
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.instance import router
from runtara.runtime.api.state import store_of
from runtara.runtime.errors import InvalidInput
from runtara.runtime.store import checkpoints
from runtara.runtime.store.access import Caller

TenantId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
InstanceId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]


def _caller(request: Request, tenant_id: str, instance_id: str) -> Caller:
    header = request.headers.get("authorization")
    token = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            token = value.strip()
    return Caller(tenant_id, instance_id, token, request.app.state.settings.dev)


def _json(value: Any) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), media_type="application/json")


class BatchEntry(BaseModel):
    key: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
    state: str = Field(description="base64 of the state")
    content_type: str = Field("application/octet-stream", max_length=200)


class BatchRequest(BaseModel):
    checkpoints: list[BatchEntry] = Field(max_length=100_000)


class BatchAnswer(BaseModel):
    saved: int = Field(description="entries stored (or already stored with the same state)")
    conflict: dict[str, Any] | None = Field(
        None, description="`{key}` of the first entry stored before with another state"
    )
    signal: str | None = Field(None, description="pending instance signal: cancel, pause, resume")


class SavedCheckpoint(BaseModel):
    key: str
    seq: int
    state: str = Field(description="base64 of the state")
    content_type: str


class CheckpointPage(BaseModel):
    checkpoints: list[SavedCheckpoint]
    more: bool = Field(description="true: ask again with `after` = the last `seq`")


def _batch_entries(raw: bytes, limit: int) -> list[tuple[str, bytes, str]]:
    """The entries of a batch body, checked as the single save checks one state."""
    try:
        document = json.loads(raw)
        batch = BatchRequest.model_validate(document)
    except ValueError as exc:
        raise InvalidInput(
            f"a checkpoint batch is {{checkpoints: [{{key, state, content_type}}]}}: {exc}"
        ) from None
    entries = []
    for n, entry in enumerate(batch.checkpoints):
        try:
            state = base64.b64decode(entry.state, validate=True)
        except ValueError:
            raise InvalidInput(
                f"checkpoints[{n}].state is not base64", json_path=f"$.checkpoints[{n}].state"
            ) from None
        if len(state) > limit:
            raise InvalidInput(f"checkpoints[{n}] is larger than {limit} bytes")
        if fastpath.is_json(entry.content_type):
            fastpath.check_state(entry.key, state)
        entries.append((entry.key, state, entry.content_type))
    return entries


@router.post(
    "/checkpoints",
    response_model=BatchAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BatchRequest.model_json_schema()}},
        }
    },
)
async def save_checkpoints(
    request: Request, tenant_id: TenantId, instance_id: InstanceId
) -> Response:
    """Save buffered checkpoints, in order, in one commit (see PROTOCOL.md, Buffered
    checkpoints). An entry stored before with another state stops the batch there."""
    raw = await request.body()
    settings = request.app.state.settings
    entries = await asyncio.to_thread(_batch_entries, raw, settings.max_state_bytes)
    caller = _caller(request, tenant_id, instance_id)
    request_id = request.headers.get("idempotency-key")
    store = store_of(request)
    result = await store.arun(checkpoints.save_checkpoints, caller, entries, request_id)
    request.app.state.metrics.checkpoints.labels("saved").inc(result.saved)
    tracer = request.app.state.tracing
    if tracer is not None:
        for key, state, content_type in entries[: result.saved]:
            tracer.checkpoint(tenant_id, instance_id, key, state, content_type)
    conflict = None if result.conflict is None else {"key": result.conflict}
    return _json({"saved": result.saved, "conflict": conflict, "signal": result.signal})


@router.get("/checkpoints", response_model=CheckpointPage)
async def list_own_checkpoints(
    request: Request,
    tenant_id: TenantId,
    instance_id: InstanceId,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """This instance's checkpoints with their states, oldest first (a rerun reads them
    in a few pages instead of asking for each one)."""
    caller = _caller(request, tenant_id, instance_id)
    page, more = await store_of(request).arun(
        checkpoints.own_checkpoints, caller, after=after, limit=limit
    )
    listed = [
        {
            "key": c.key,
            "seq": c.seq,
            "state": base64.b64encode(c.state).decode(),
            "content_type": c.content_type,
        }
        for c in page
    ]
    return _json({"checkpoints": listed, "more": more})
