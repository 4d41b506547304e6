"""Buffered checkpoints, paged reruns and concurrent calls of the SDK, against the real
service (embedded, dev mode) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.sdk import CheckpointDiverged, Runtara
from runtara.sdk import instance as sdk_instance


def start(instance_id: str = "buffered-001") -> Runtara:
    return Runtara.localhost(instance_id, "tenant-1").register()


def saved(client: Client, instance_id: str = "buffered-001") -> list[str]:
    return [c["checkpoint_id"] for c in client.list_checkpoints(instance_id, limit=1000)]


def test_buffered_checkpoints_are_durable_once_flushed(
    runtime: EmbeddedRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sdk_instance, "BUFFER_SECONDS", 3600.0)  # only explicit flushes
    rt = start()
    for n in range(5):
        reply = rt.checkpoint(f"pure-{n}", {"n": n}, buffered=True)
        assert (reply.existing_state, reply.should_cancel) == (None, False)
    assert saved(client) == []  # not yet committed
    assert rt.get_checkpoint("pure-3") == {"n": 3}  # but the process sees them
    rt.flush_checkpoints()
    assert saved(client) == [f"pure-{n}" for n in range(5)]
    assert start().get_checkpoint("pure-3") == {"n": 3}  # a rerun finds them


def test_buffered_checkpoints_are_committed_within_a_few_milliseconds(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = start()
    rt.checkpoint("pure", [1, 2, 3], buffered=True)
    deadline = time.monotonic() + 30
    while saved(client) != ["pure"]:  # the background flusher commits it on its own
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_an_outcome_commits_what_is_buffered_first(
    runtime: EmbeddedRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sdk_instance, "BUFFER_SECONDS", 3600.0)
    rt = start()
    rt.checkpoint("last-pure-step", {"ok": True}, buffered=True)
    rt.completed({"done": True})
    assert saved(client) == ["last-pure-step"]
    assert client.get_instance("buffered-001")["status"] == "completed"


def test_a_flush_without_lazy_records_leaves_them_for_later(
    runtime: EmbeddedRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sdk_instance, "BUFFER_SECONDS", 3600.0)
    rt = start()
    rt.checkpoint("item[0]", {"value": 0}, buffered=True, lazy=True)
    rt.flush_checkpoints(lazy=False)  # nothing a side effect needs: no round trip
    assert saved(client) == []
    rt.checkpoint("draw", {"value": 0.5}, buffered=True)
    rt.flush_checkpoints(lazy=False)  # the eager one takes the lazy one along, in order
    assert saved(client) == ["item[0]", "draw"]


def test_a_buffered_state_stored_differently_before_stops_the_process(
    runtime: EmbeddedRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sdk_instance, "BUFFER_SECONDS", 3600.0)
    other = start()
    other.checkpoint("draw", {"value": 0.25})
    rt = start()
    rt.checkpoint("draw", {"value": 0.75}, buffered=True)
    rt.checkpoint("derived", {"value": 1.75}, buffered=True)
    with pytest.raises(CheckpointDiverged, match="'draw'"):
        rt.flush_checkpoints()
    with pytest.raises(CheckpointDiverged):  # and every later call says so
        rt.checkpoint("more", {}, buffered=True)
    assert saved(client) == ["draw"]  # nothing computed from the other state was stored


def test_a_rerun_reads_saved_checkpoints_in_pages(
    runtime: EmbeddedRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = start()
    for n in range(30):
        first.checkpoint(f"step-{n}", {"n": n}, buffered=True)
    first.flush_checkpoints()
    monkeypatch.setattr(sdk_instance, "RESUME_PAGE", 7)
    rerun = start()
    rerun.resume_checkpoints()
    pages: list[str] = []
    original = rerun._transport.call

    def counting(method: str, path: str, *args: object, **kwargs: object) -> object:
        pages.append(f"{method} {path.rsplit('/', 1)[1]}")
        return original(method, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rerun._transport, "call", counting)
    assert [rerun.get_checkpoint(f"step-{n}") for n in range(30)] == [{"n": n} for n in range(30)]
    assert rerun.get_checkpoint("step-30") is None
    assert len(pages) == 5 and all(p.startswith("GET checkpoints?after=") for p in pages)
    # Saved by this very process after its pages were read: asked for again.
    rerun.checkpoint("step-40", {"n": 40})
    assert rerun.get_checkpoint("step-40") == {"n": 40}
    assert rerun.get_checkpoint("step-2") == {"n": 2}  # a second lookup asks the runtime


def test_threads_checkpoint_concurrently_on_their_own_connections(
    runtime: EmbeddedRuntime, client: Client
) -> None:
    rt = start()
    errors: list[BaseException] = []

    def item(n: int) -> None:
        try:
            for i in range(20):
                rt.checkpoint(f"item-{n}/step-{i}", {"n": n, "i": i})
                rt.checkpoint(f"item-{n}/pure-{i}", {"n": n, "i": i}, buffered=True)
            rt.flush_checkpoints()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=item, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(saved(client)) == 8 * 20 * 2
    assert len(rt._transport._idle) > 1  # more than one connection was open at once
