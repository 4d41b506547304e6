"""The checkpoint calls of the instance protocol, without the web framework.

What a state saved as JSON must be, what a save answers, the body of a batch save and
the page of a rerun's read (PROTOCOL.md): one implementation, used by the service's fast
path (``fastpath.py``), its batch routes (``checkpoint_batches.py``) and ``runtara run``'s
channel (``runtime/local/channel.py``), which answers instances without loading FastAPI.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from runtara.runtime.api import storable
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.errors import InvalidInput
from runtara.runtime.store.checkpoints import CheckpointResult


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def check_state(key: str, state: bytes) -> None:
    """A state saved as JSON must be storable JSON (422 naming where it is not)."""
    try:
        storable.check_json_state(state)
    except storable.Unstorable as exc:
        raise InvalidInput(
            f"checkpoint {key!r} is saved as JSON, but at {exc.path}: {exc.reason}",
            json_path=exc.path,
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"checkpoint {key!r} is saved as JSON, but is not JSON: {exc}") from None


def save_answer(result: CheckpointResult) -> bytes:
    """The body a single checkpoint save (or lookup) answers."""
    state = None if result.state is None else base64.b64encode(result.state).decode()
    return json.dumps(
        {
            "found": result.found,
            "state": state,
            "content_type": result.content_type,
            "signal": result.signal,
            "custom_signal": result.custom_signal,
        },
        separators=(",", ":"),
    ).encode()


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


def batch_entries(raw: bytes, limit: int) -> list[tuple[str, bytes, str]]:
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
        if is_json(entry.content_type):
            check_state(entry.key, state)
        entries.append((entry.key, state, entry.content_type))
    return entries


def batch_document(saved: int, conflict: str | None, signal: str | None) -> dict[str, Any]:
    """A batch save's answer (``BatchAnswer``)."""
    return {
        "saved": saved,
        "conflict": None if conflict is None else {"key": conflict},
        "signal": signal,
    }


def page_document(page: Sequence[Any], more: bool) -> dict[str, Any]:
    """A page of saved checkpoints (``CheckpointPage``) from the store's rows."""
    listed = [
        {
            "key": c.key,
            "seq": c.seq,
            "state": base64.b64encode(c.state).decode(),
            "content_type": c.content_type,
        }
        for c in page
    ]
    return {"checkpoints": listed, "more": more}
