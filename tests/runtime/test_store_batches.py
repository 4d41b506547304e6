"""Buffered checkpoints saved as one batch, a rerun's checkpoints read in pages, and
group commit of concurrent writes: on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.store import Store, instances, open_store
from runtara.runtime.store import checkpoints as cp
from runtara.runtime.store.access import Caller
from tests.support.databases import postgres_schema_url

DEV = Caller("tenant-1", "batch-001", dev=True)
JSON = "application/json"


def started(store: Store, caller: Caller = DEV) -> Caller:
    store.run(instances.register, caller)
    return caller


def saved_ids(store: Store, caller: Caller = DEV) -> list[str]:
    listed = store.run(cp.list_checkpoints, caller.tenant_id, caller.instance_id, limit=1000)
    return [c.checkpoint_id for c in listed]


def test_a_batch_is_saved_in_order_and_read_back_like_single_saves(store: Store) -> None:
    started(store)
    entries = [(f"step-{n}", f'{{"n":{n}}}'.encode(), JSON) for n in range(5)]
    result = store.run(cp.save_checkpoints, DEV, entries)
    assert (result.saved, result.conflict, result.signal) == (5, None, None)
    assert saved_ids(store) == [f"step-{n}" for n in range(5)]
    assert store.run(cp.get_checkpoint, DEV, "step-3") == (b'{"n":3}', JSON)
    # A later single save of a batched key finds it, as if it had been saved alone.
    again = store.run(cp.save_checkpoint, DEV, "step-3", b"other")
    assert (again.found, again.state) == (True, b'{"n":3}')


def test_a_batch_stops_at_a_key_stored_with_another_state(store: Store) -> None:
    started(store)
    store.run(cp.save_checkpoint, DEV, "b", b"stored first")
    same = store.run(cp.save_checkpoints, DEV, [("a", b"1", JSON), ("b", b"stored first", JSON)])
    assert (same.saved, same.conflict) == (2, None)  # the same state: nothing diverged
    entries = [("c", b"3", JSON), ("b", b"computed again", JSON), ("d", b"4", JSON)]
    diverged = store.run(cp.save_checkpoints, DEV, entries)
    # What follows the diverging entry was computed from a state that is not stored.
    assert (diverged.saved, diverged.conflict) == (1, "b")
    assert saved_ids(store) == ["b", "a", "c"]
    assert store.run(cp.get_checkpoint, DEV, "b") == (b"stored first", "application/octet-stream")


def test_a_retried_batch_is_answered_as_saved(store: Store) -> None:
    started(store)
    entries = [("x", b"1", JSON), ("y", b"2", JSON)]
    store.run(cp.save_checkpoints, DEV, entries, "request-1")
    # The answer was lost and the SDK sends the same request again (same Idempotency-Key).
    retry = store.run(cp.save_checkpoints, DEV, entries, "request-1")
    assert (retry.saved, retry.conflict) == (2, None)
    assert saved_ids(store) == ["x", "y"]


def test_a_batch_needs_a_running_instance_and_carries_its_signal(store: Store) -> None:
    with pytest.raises(NotFound):
        store.run(cp.save_checkpoints, DEV, [("a", b"1", JSON)])
    started(store)
    store.run(instances.pause, "tenant-1", DEV.instance_id)
    paused = store.run(cp.save_checkpoints, DEV, [("a", b"1", JSON)])
    assert (paused.saved, paused.signal) == (1, "pause")
    store.run(instances.suspend, DEV)
    with pytest.raises(Conflict):
        store.run(cp.save_checkpoints, DEV, [("b", b"2", JSON)])
    assert saved_ids(store) == ["a"]


def test_a_rerun_reads_its_checkpoints_in_pages(store: Store) -> None:
    started(store)
    store.run(cp.save_checkpoints, DEV, [(f"k{n}", str(n).encode(), JSON) for n in range(25)])
    seen: list[str] = []
    after, pages = 0, 0
    while True:
        page, more = store.run(cp.own_checkpoints, DEV, after=after, limit=10)
        pages += 1
        seen += [c.key for c in page]
        assert all(c.state == c.key[1:].encode() and c.content_type == JSON for c in page)
        if not more:
            break
        after = page[-1].seq
    assert (seen, pages) == ([f"k{n}" for n in range(25)], 3)
    other = Caller("tenant-1", "someone-else", dev=True)
    started(store, other)
    assert store.run(cp.own_checkpoints, other) == ([], False)


def test_a_page_stops_before_its_states_grow_too_large(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cp, "PAGE_BYTES", 2500)
    started(store)
    store.run(cp.save_checkpoints, DEV, [(f"k{n}", b"x" * 1000, JSON) for n in range(5)])
    page, more = store.run(cp.own_checkpoints, DEV, limit=100)
    assert ([c.key for c in page], more) == (["k0", "k1"], True)
    big, _ = store.run(cp.own_checkpoints, DEV, after=page[-1].seq, limit=100)
    assert [c.key for c in big] == ["k2", "k3"]


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    with postgres_schema_url() as url, open_store(url) as opened:
        yield opened


@pytest.mark.postgres
def test_concurrent_checkpoints_share_postgresql_transactions(postgres_store: Store) -> None:
    """Group commit on PostgreSQL: saves that arrive together are committed in one
    transaction (rows inserted by one transaction share its ``xmin``)."""
    store = postgres_store
    callers = [started(store, Caller("tenant-1", f"client-{n}", dev=True)) for n in range(16)]
    barrier = threading.Barrier(len(callers))

    def client(caller: Caller) -> None:
        barrier.wait()
        for i in range(20):
            store.run(cp.save_checkpoint, caller, f"step-{i}", b"{}", JSON)

    threads = [threading.Thread(target=client, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def transactions(tx: object) -> tuple[int, int]:
        row = tx.one(  # type: ignore[attr-defined]
            "SELECT COUNT(*) AS n, COUNT(DISTINCT xmin::text) AS txs FROM checkpoints"
        )
        return int(row["n"]), int(row["txs"])

    saved, txs = store.db.read(transactions)
    assert saved == 16 * 20
    assert txs < saved  # fewer commits than checkpoints
