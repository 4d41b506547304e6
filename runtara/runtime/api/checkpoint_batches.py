"""Buffered checkpoints saved as one batch, and a rerun's checkpoints read in pages.

Two calls of the instance protocol (PROTOCOL.md, "Buffered checkpoints" and "A rerun
reads its checkpoints in pages"), on the instance router of ``instance.py``, which
imports this module at its end.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from runtara.runtime.api.checkpoint_protocol import (
    BatchAnswer,
    BatchRequest,
    CheckpointPage,
    batch_document,
    batch_entries,
    page_document,
)
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.instance import instance_caller, json_answer, router
from runtara.runtime.api.state import store_of
from runtara.runtime.store import checkpoints

TenantId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
InstanceId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]


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
    entries = await asyncio.to_thread(batch_entries, raw, settings.max_state_bytes)
    caller = instance_caller(request, tenant_id, instance_id)
    request_id = request.headers.get("idempotency-key")
    store = store_of(request)
    result = await store.arun(checkpoints.save_checkpoints, caller, entries, request_id)
    request.app.state.metrics.checkpoints.labels("saved").inc(result.saved)
    tracer = request.app.state.tracing
    if tracer is not None:
        for key, state, content_type in entries[: result.saved]:
            tracer.checkpoint(tenant_id, instance_id, key, state, content_type)
    return json_answer(batch_document(result.saved, result.conflict, result.signal))


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
    caller = instance_caller(request, tenant_id, instance_id)
    page, more = await store_of(request).arun(
        checkpoints.own_checkpoints, caller, after=after, limit=limit
    )
    return json_answer(page_document(page, more))
