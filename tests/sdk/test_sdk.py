"""The SDK against the real service (embedded, dev mode), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.sdk import (
    Cancelled,
    ConfigurationError,
    Runtara,
    RuntimeUnavailable,
    StateTooLarge,
    durable,
)


def start(instance_id: str = "order-batch-001") -> Runtara:
    return Runtara.localhost(instance_id, "tenant-1").register()


def test_a_rerun_finds_what_the_first_run_saved(runtime: EmbeddedRuntime) -> None:
    first = start()
    assert first.checkpoint("order-1", {"index": 1}).existing_state is None
    assert first.checkpoint("raw", b"\x00\xff").existing_state is None
    rerun = start()
    assert rerun.checkpoint("order-1", {"index": 99}).existing_state == {"index": 1}
    assert rerun.checkpoint("raw", b"").existing_state == b"\x00\xff"
    assert rerun.get_checkpoint("order-1") == {"index": 1}
    assert rerun.get_checkpoint("order-2") is None


def test_completed_output_is_visible_to_operators(runtime: EmbeddedRuntime, client: Client) -> None:
    rt = start()
    rt.event("progress", {"done": 1})
    rt.event("progress", {"done": 2})
    rt.completed({"processed": 2})
    shown = client.get_instance("order-batch-001")
    assert (shown["status"], shown["output"], shown["error"]) == (
        "completed",
        {"processed": 2},
        None,
    )
    progress = client.list_events("order-batch-001", subtype="progress")
    assert [e["payload"] for e in progress] == [{"done": 1}, {"done": 2}]


def test_failed_keeps_a_structured_error(runtime: EmbeddedRuntime, client: Client) -> None:
    start().failed({"message": "card declined", "step": "charge"})
    assert client.get_output("order-batch-001")["error"] == {
        "message": "card declined",
        "step": "charge",
    }


def test_durable_function_runs_once_and_retries_with_records(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    calls: list[str] = []

    @durable(retries=3, retry_delay=0.01)
    def charge(order_id: str, amount: int) -> dict[str, int]:
        calls.append(order_id)
        if len(calls) < 3:
            raise ConnectionError("payment service busy")
        return {"charged": amount}

    start()
    assert charge("order-7", 70) == {"charged": 70}
    start()  # a rerun: the cached result comes back, the function is not called
    assert charge("order-7", 70) == {"charged": 70}
    assert calls == ["order-7"] * 3
    retries = client.list_events("order-batch-001", event_type="retry_attempt")
    assert [(e["subtype"], e["payload"]["attempt"]) for e in retries] == [
        (
            "durable::test_durable_function_runs_once_and_retries_with_records.<locals>.charge::order-7",
            2,
        ),
        (
            "durable::test_durable_function_runs_once_and_retries_with_records.<locals>.charge::order-7",
            3,
        ),
    ]


def test_durable_function_gives_up_with_the_last_error(runtime: EmbeddedRuntime) -> None:
    @durable(retries=1, retry_delay=0.01)
    def flaky(key: str) -> None:
        raise ValueError(f"bad {key}")

    start()
    with pytest.raises(ValueError, match="bad k"):
        flaky("k")


class SleepRecorder(Runtara):
    """A Runtara that notes every in-place sleep the runtime told it to take (seconds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slept: list[float] = []

    def _sleep_in_place(self, seconds: float) -> None:
        self.slept.append(seconds)
        super()._sleep_in_place(seconds)


def recorded() -> SleepRecorder:
    runtime = SleepRecorder.localhost("order-batch-001", "tenant-1")
    runtime.register()
    return runtime


def test_durable_sleep_waits_only_for_the_remainder_on_rerun(runtime: EmbeddedRuntime) -> None:
    first = recorded()
    began = time.monotonic()
    first.durable_sleep(timedelta(seconds=0.4))
    assert time.monotonic() - began >= 0.39 and first.slept == [0.4]
    rerun = recorded()
    rerun.durable_sleep(0.4)  # the same (first) sleep of the run: already over
    assert rerun.slept == [0.0]
    third = recorded()
    third.durable_sleep(0.4, key="sleep::1")
    third.durable_sleep(0.5, key="later")
    assert third.slept == [0.0, 0.5]
    fourth = recorded()
    fourth.durable_sleep(0.5, key="later")  # rerun after "later" ended: nothing left
    assert fourth.slept == [0.0]


def test_pause_and_cancel_arrive_at_the_next_checkpoint(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = start()
    client.pause_instance("order-batch-001")
    assert rt.checkpoint("order-1", {}).should_pause
    rt.suspended()
    assert client.get_instance("order-batch-001")["status"] == "suspended"
    client.resume_instance("order-batch-001")
    rt = start()
    client.cancel_instance("order-batch-001")
    assert rt.checkpoint("order-2", {}).should_cancel
    assert client.get_instance("order-batch-001")["status"] == "cancelled"


def test_wait_for_signal_returns_the_payload_once_and_for_good(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = start()
    sender = threading.Timer(0.3, client.send_signal, ("order-batch-001", "approval", {"ok": True}))
    sender.start()
    assert rt.wait_for_signal("approval", timeout=10, poll_interval=0.05) == {"ok": True}
    assert start().wait_for_signal("approval", timeout=0) == {"ok": True}
    assert rt.wait_for_signal("never", timeout=0.2, poll_interval=0.05) is None


def test_cancel_while_waiting_for_a_signal_unwinds(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = start()
    threading.Timer(0.2, client.cancel_instance, ("order-batch-001",)).start()
    with pytest.raises(Cancelled):
        rt.wait_for_signal("approval", poll_interval=0.05)


def test_oversized_state_is_refused_with_a_clear_error(runtime: EmbeddedRuntime) -> None:
    rt = start()
    with pytest.raises(StateTooLarge, match="exceeds the limit of 16777216 bytes"):
        rt.checkpoint("huge", b"x" * (16 * 1024 * 1024 + 1))
    assert rt.checkpoint("small", b"x").existing_state is None  # the connection still works


def test_an_unreachable_runtime_is_reported_after_the_retry_window() -> None:
    rt = Runtara("i", "t", url="http://127.0.0.1:9", retry_seconds=0.3)
    began = time.monotonic()
    with pytest.raises(RuntimeUnavailable, match="unreachable"):
        rt.register()
    assert time.monotonic() - began >= 0.3


def test_a_long_retry_window_says_at_once_why_it_waits(caplog: pytest.LogCaptureFixture) -> None:
    rt = Runtara("i", "t", url="http://127.0.0.1:9", retry_seconds=1)
    with pytest.raises(RuntimeUnavailable):
        rt.register()
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "runtara.sdk"]
    assert warning.startswith("runtime at http://127.0.0.1:9: ConnectionRefusedError")
    assert warning.endswith("retrying for up to 1 s")


def test_from_env_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNTARA_INSTANCE_ID", raising=False)
    monkeypatch.setenv("RUNTARA_TENANT_ID", "t")
    with pytest.raises(ConfigurationError, match="RUNTARA_INSTANCE_ID"):
        Runtara.from_env()
    monkeypatch.setenv("RUNTARA_INSTANCE_ID", "i")
    monkeypatch.setenv("RUNTARA_INPUT", "{not json")
    with pytest.raises(ConfigurationError, match="RUNTARA_INPUT"):
        Runtara.from_env()


def test_connection_secrets_are_redacted_from_events(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    from runtara.runtime.store import connections, open_store

    with open_store(runtime.settings.database_url, secret_key="sdk-tests") as store:
        store.run(
            connections.create_connection,
            store.secrets,
            "tenant-1",
            "crm",
            "http_bearer",
            {"token": "tok-123456", "base_url": "https://crm.example"},
        )
        store.run(
            connections.create_connection,
            store.secrets,
            "tenant-1",
            "erp",
            "http_basic",
            {"username": "ada", "password": "pw-secret"},
        )
    rt = start()
    fetched = rt.connection("crm")
    assert fetched["parameters"]["token"] == "tok-123456"
    rt.connection("erp")
    basic = base64.b64encode(b"ada:pw-secret").decode()
    rt.event("debug", {"header": "Bearer tok-123456", "url": "https://crm.example/v1"})
    rt.event("debug", {"authorization": f"Basic {basic}", "user": "ada"})
    rt.failed("request with tok-123456 refused")
    debug = [e["payload"] for e in client.list_events("order-batch-001", subtype="debug")]
    # the same rule as the agents': secret parameters and their derived forms, not base_url
    assert debug == [
        {"header": "Bearer ***", "url": "https://crm.example/v1"},
        {"authorization": "Basic ***", "user": "ada"},
    ]
    assert client.get_output("order-batch-001")["error"] == "request with *** refused"


def test_a_long_step_keeps_the_instance_alive_with_background_heartbeats(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = Runtara("long-step", "tenant-1", url=runtime.url, heartbeat_seconds=0.1).register()
    first = client.get_instance("long-step")["heartbeat_at"]
    time.sleep(0.5)  # "a slow HTTP call": no checkpoint meanwhile
    assert client.get_instance("long-step")["heartbeat_at"] > first
    rt.completed()
    stopped = client.get_instance("long-step")["heartbeat_at"]
    time.sleep(0.3)
    assert client.get_instance("long-step")["heartbeat_at"] == stopped


def test_a_launched_instance_ends_its_process_for_a_durable_sleep(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    from runtara.runtime.store import instances, open_store

    with open_store(runtime.settings.database_url) as store:
        token = store.run(instances.create_instance, "tenant-1", "sleeper", runner="process").token
    rt = Runtara("sleeper", "tenant-1", url=runtime.url, token=token).register()
    with pytest.raises(SystemExit) as ended:
        rt.durable_sleep(timedelta(days=3))
    assert ended.value.code == 0
    shown = client.get_instance("sleeper")
    assert shown["status"] == "sleeping" and shown["wake_at"] is not None


@pytest.mark.parametrize(
    "url", ["localhost:8001", "ftp://host", "http://host:abc", "http://h:99999"]
)
def test_a_malformed_runtime_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="runtime URL must be http"):
        Runtara("i", "t", url=url)
