"""Leases in the store, on both databases: who runs what, and what an exit means."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runtara.runtime.store import Store, images, instances, open_store, scheduling
from runtara.runtime.store.database import now_ms
from runtara.runtime.store.scheduling import Backoff, ProcessExit
from tests.support.databases import postgres_schema_url

LEASE_MS = 10_000
BACKOFF = Backoff(base_ms=100, max_ms=1000)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        yield opened


def start(store: Store, instance_id: str, max_attempts: int = 3) -> None:
    try:
        image = store.run(images.resolve_image, "t1", "img")
    except Exception:
        image = store.run(images.create_image, "t1", "img", "process", "true")
    store.run(
        instances.create_instance,
        "t1",
        instance_id,
        image_id=image.id,
        runner="process",
        max_attempts=max_attempts,
    )


def test_a_pending_instance_is_claimed_once(store: Store) -> None:
    start(store, "a")
    first = store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    again = store.run(scheduling.claim_due, "s2", lease_ms=LEASE_MS, limit=10)
    assert [w.id for w in first] == ["a"] and again == []


def test_an_expired_lease_is_claimed_by_another_server(store: Store) -> None:
    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=-1, limit=10)  # expired at once
    taken = store.run(scheduling.claim_due, "s2", lease_ms=LEASE_MS, limit=10)
    assert [w.id for w in taken] == ["a"]
    assert store.run(scheduling.owned_work, "s2")[0].id == "a"
    assert store.run(scheduling.owned_work, "s1") == []


def test_a_crash_is_claimable_again_after_its_backoff(store: Store) -> None:
    start(store, "a", max_attempts=2)
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    store.run(scheduling.begin_launch, "s1", "t1", "a", host="h", runner="process")
    crash = ProcessExit(3, "the process exited with status 3", stderr_tail="Traceback ...")
    status = store.run(scheduling.record_exit, "s1", "t1", "a", crash, backoff=BACKOFF)
    assert status == "pending"
    assert store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10) == []  # backoff
    info = store.run(scheduling.process_info, "t1", "a")
    assert info.crash_count == 1 and info.lease_owner is None
    after_backoff = now_ms() + BACKOFF.delay_ms(1) + 1
    (again,) = store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10, now=after_backoff)
    assert again.crash_count == 1


def test_the_last_crash_fails_the_instance_with_its_error(store: Store) -> None:
    start(store, "a", max_attempts=1)
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    crash = ProcessExit(-9, "the process was killed by signal 9")
    assert store.run(scheduling.record_exit, "s1", "t1", "a", crash, backoff=BACKOFF) == "failed"
    failed = store.run(instances.get_instance, "t1", "a")
    assert failed.error["exit_code"] == -9
    assert "gave up after 1" in failed.error["message"]


def test_an_exit_after_a_reported_outcome_keeps_it(store: Store) -> None:
    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    store.run(instances.cancel, "t1", "a")
    status = store.run(
        scheduling.record_exit, "s1", "t1", "a", ProcessExit(0, "exited"), backoff=BACKOFF
    )
    assert status == "cancelled"


def test_an_exit_from_a_lost_lease_changes_nothing(store: Store) -> None:
    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=-1, limit=10)
    store.run(scheduling.claim_due, "s2", lease_ms=LEASE_MS, limit=10)
    status = store.run(
        scheduling.record_exit, "s1", "t1", "a", ProcessExit(1, "exited"), backoff=BACKOFF
    )
    assert status == "pending"
    assert store.run(scheduling.process_info, "t1", "a").lease_owner == "s2"


def test_a_claimed_instance_with_a_pending_cancel_ends_without_a_launch(store: Store) -> None:
    start(store, "a")
    (work,) = store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    store.run(instances.cancel, "t1", "a")
    # pending instances are cancelled at once by the store; nothing is left to settle
    assert store.run(instances.get_instance, "t1", "a").status == "cancelled"
    assert store.run(scheduling.settle_without_process, "s1", work) is None


def test_each_token_stops_working_at_the_next_launch(store: Store) -> None:
    from runtara.runtime.errors import Unauthorized
    from runtara.runtime.store.access import Caller

    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    old = store.run(scheduling.begin_launch, "s1", "t1", "a", host="h", runner="process")
    new = store.run(scheduling.begin_launch, "s1", "t1", "a", host="h", runner="process")
    store.run(instances.register, Caller("t1", "a", new))
    with pytest.raises(Unauthorized):
        store.run(instances.heartbeat, Caller("t1", "a", old))


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_share_an_instance() -> None:
    with postgres_schema_url() as url, open_store(url) as store:
        for n in range(60):
            start(store, f"i{n}")
        taken: dict[str, list[str]] = {}

        def claim(owner: str) -> None:
            with open_store(url) as own:
                mine: list[str] = []
                while batch := own.run(scheduling.claim_due, owner, lease_ms=LEASE_MS, limit=3):
                    mine += [w.id for w in batch]
                taken[owner] = mine

        threads = [threading.Thread(target=claim, args=(f"s{k}",)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    everything = [i for ids in taken.values() for i in ids]
    assert sorted(everything) == sorted(f"i{n}" for n in range(60))  # each exactly once


def test_a_custom_signal_makes_a_sleeper_due_at_once(store: Store) -> None:
    from runtara.runtime.store import checkpoints, signals
    from runtara.runtime.store.access import Caller

    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    token = store.run(scheduling.begin_launch, "s1", "t1", "a", host="h", runner="process")
    caller = Caller("t1", "a", token)
    store.run(instances.register, caller)
    assert store.run(checkpoints.wait_for_signal, caller, "approve", 3_600_000).exit
    store.run(scheduling.record_exit, "s1", "t1", "a", ProcessExit(0, "exited"), backoff=BACKOFF)
    assert store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10) == []
    store.run(signals.send_custom_signal, "t1", "a", "elsewhere", {"ok": False})
    assert store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10) == []
    store.run(signals.send_custom_signal, "t1", "a", "approve", {"ok": True})
    (woken,) = store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    assert woken.status == "sleeping"


def test_a_cancel_during_a_crash_backoff_is_settled_at_once(store: Store) -> None:
    from runtara.runtime.store.access import Caller

    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    token = store.run(scheduling.begin_launch, "s1", "t1", "a", host="h", runner="process")
    store.run(instances.register, Caller("t1", "a", token))
    slow = Backoff(base_ms=3_600_000, max_ms=3_600_000)
    crash = ProcessExit(1, "the process exited with status 1")
    assert store.run(scheduling.record_exit, "s1", "t1", "a", crash, backoff=slow) == "running"
    assert store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10) == []
    store.run(instances.cancel, "t1", "a")
    (work,) = store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    assert store.run(scheduling.settle_without_process, "s1", work) == "cancelled"


def test_a_held_instance_that_ended_is_let_go_without_a_launch(store: Store) -> None:
    start(store, "a")
    store.run(scheduling.claim_due, "s1", lease_ms=LEASE_MS, limit=10)
    assert not store.run(scheduling.release_unless_due, "s1", "t1", "a")  # pending: due
    store.run(instances.cancel, "t1", "a")  # ended while its server went down
    assert store.run(scheduling.release_unless_due, "s1", "t1", "a")
    assert store.run(scheduling.process_info, "t1", "a").lease_owner is None
