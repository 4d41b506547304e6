"""The instance protocol's requests and answers as models, without the web framework:
``api/instance.py`` routes them, and ``runtara run`` (``runtime/local/channel.py``)
checks the same requests when it answers an instance from its store directly."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.storable import StoredJson

#: Times are shown as ISO 8601 dates, which end with the year 9999.
MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
#: So that "now" plus a sleep stays a date the API can show.
MAX_SLEEP_MS = 1000 * 365 * 24 * 3600 * 1000


class InstanceView(BaseModel):
    status: str
    input: StoredJson = None
    attempts: int
    last_checkpoint_id: str | None = None


class RegisterRequest(BaseModel):
    checkpoint_id: str | None = Field(
        None, max_length=1000, pattern=NO_NUL, description="resume point; a saved checkpoint"
    )


class CheckpointAnswer(BaseModel):
    found: bool = Field(description="true: the id was saved before and `state` is the stored state")
    state: str | None = Field(None, description="base64 of the stored state when found")
    content_type: str | None = None
    signal: str | None = Field(None, description="pending instance signal: cancel, pause, resume")
    custom_signal: Any = Field(None, description="payload sent to this checkpoint id, consumed now")


class StoredState(BaseModel):
    found: bool
    state: str | None = None
    content_type: str | None = None


class SleepRequest(BaseModel):
    key: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
    duration_ms: int = Field(ge=0, le=MAX_SLEEP_MS, description="at most 1,000 years")


class SleepAnswer(BaseModel):
    wake_at: int = Field(description="epoch milliseconds when the sleep ends")
    remaining_ms: int
    exit: bool = Field(description="true: end the process now; a runner starts it again when due")


class SignalAnswer(BaseModel):
    signal: str | None = None


class NewEventModel(BaseModel):
    subtype: str | None = Field(None, max_length=200, pattern=NO_NUL)
    event_type: str = Field("custom", max_length=100, pattern=NO_NUL)
    payload: StoredJson = None
    timestamp_ms: int | None = Field(None, ge=0, le=MAX_TIMESTAMP_MS)


class EventBatch(BaseModel):
    events: list[NewEventModel] = Field(max_length=10_000)


class Accepted(BaseModel):
    accepted: int


class RetryRequest(BaseModel):
    key: str = Field(min_length=1, max_length=1000, pattern=NO_NUL)
    attempt: int = Field(ge=1, le=1_000_000)
    error: str | None = Field(None, pattern=NO_NUL)


class AckRequest(BaseModel):
    signal: str = Field(pattern="^(cancel|pause|resume)$")


class CompletedRequest(BaseModel):
    output: StoredJson = None


class FailedRequest(BaseModel):
    error: StoredJson


class SignalPollAnswer(BaseModel):
    found: bool
    payload: StoredJson = None
    signal: str | None = None


class SignalWaitRequest(BaseModel):
    timeout_ms: int | None = Field(
        default=None, ge=0, le=MAX_SLEEP_MS, description="null: wait without a deadline"
    )


class SignalWaitAnswer(BaseModel):
    found: bool = Field(description="true: `payload` is the signal's payload")
    payload: StoredJson = None
    signal: str | None = Field(default=None, description="a pending cancel or pause")
    timed_out: bool = Field(description="the deadline, fixed at the first call, has passed")
    exit: bool = Field(
        description="true: end the process now; the signal or the deadline starts it again"
    )
    remaining_ms: int | None = Field(description="until the deadline; null: none")


class ConnectionAnswer(BaseModel):
    id: str
    integration_id: str
    parameters: dict[str, Any]
    secrets: list[str] = Field(description="parameters whose values must never be logged")
