"""Firing schedules in the store, on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from runtara.runtime.errors import Conflict, NotFound
from runtara.runtime.store import Store, images, instances, open_store
from runtara.runtime.triggers import schedules
from runtara.runtime.triggers.firing import Catchup, Overlap
from runtara.runtime.triggers.timing import Timing, parse_instant

S = 1000
MINUTE = 60 * S
GRACE = 10 * S
T0 = parse_instant("2026-06-01T12:00:00Z", "t0")


def _image(store: Store, tenant: str = "t1", name: str = "job") -> images.Image:
    return store.run(images.create_image, tenant, name, "process", "python3 job.py")


def _schedule(
    store: Store,
    name: str = "tick",
    *,
    every_ms: int = MINUTE,
    overlap: Overlap = Overlap.allow,
    catchup: Catchup = Catchup.latest,
    created: int = T0 - 30 * S,
) -> schedules.Schedule:
    return store.run(
        schedules.create_schedule,
        "t1",
        name,
        "job",
        Timing(every_ms=every_ms),
        now=created,
        input={"n": 1},
        overlap=overlap,
        catchup=catchup,
    )


def _fire(store: Store, now: int) -> list[schedules.Fire]:
    return store.run(schedules.fire_due, now=now, grace_ms=GRACE)


def _started(store: Store, name: str = "tick") -> list[instances.Instance]:
    found = store.run(instances.list_instances, "t1", schedule=name, limit=1000)
    return sorted(found, key=lambda i: i.scheduled_at or 0)


def test_each_fire_starts_one_instance_that_records_its_schedule(store: Store) -> None:
    _image(store)
    created = _schedule(store)
    assert created.next_fire_at == T0  # the first whole minute after creation
    assert _fire(store, T0 - 1) == []
    fired = _fire(store, T0 + 40)
    assert [(f.outcome, f.instance_id) for f in fired] == [
        ("started", "tick@2026-06-01T12:00:00.000Z")
    ]
    assert _fire(store, T0 + 50) == []  # the same fire again: nothing
    [instance] = _started(store)
    assert (instance.id, instance.status, instance.input) == (
        "tick@2026-06-01T12:00:00.000Z",
        "pending",
        {"n": 1},
    )
    assert (instance.schedule, instance.scheduled_at, instance.image_id) == (
        "tick",
        T0,
        store.run(images.resolve_image, "t1", "job").id,
    )
    after = store.run(schedules.get_schedule, "t1", "tick")
    assert (after.next_fire_at, after.fires, after.last_instance_id) == (
        T0 + MINUTE,
        1,
        instance.id,
    )


def test_two_servers_firing_the_same_schedules_start_each_fire_once(db_url: str) -> None:
    """Two stores on one database (two servers), racing over the same 20 fires of 5
    schedules: every fire becomes exactly one instance."""
    first = open_store(db_url, secret_key="k")
    second = open_store(db_url, secret_key="k")
    try:
        _image(first)
        for n in range(5):
            _schedule(first, f"s{n}")
        errors: list[BaseException] = []
        taken: Counter[str] = Counter()
        go = threading.Barrier(2)
        lock = threading.Lock()

        def serve(store: Store) -> None:
            try:
                for minute in range(4):
                    # both servers tick the same minute at once (and retry it); neither
                    # goes on to the next before both are done, as a minute of real time
                    # would see to (a later tick with catch-up "latest" skips this one)
                    go.wait()
                    for _ in range(3):
                        for fire in _fire(store, T0 + minute * MINUTE + S):
                            with lock:
                                taken[fire.instance_id or ""] += 1
            except BaseException as exc:  # reported below
                errors.append(exc)
                go.abort()

        threads = [threading.Thread(target=serve, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(taken) == 20 and set(taken.values()) == {1}, taken
        for n in range(5):
            assert [i.scheduled_at for i in _started(first, f"s{n}")] == [
                T0 + k * MINUTE for k in range(4)
            ]
    finally:
        first.close()
        second.close()


def test_pause_withholds_fires_and_resume_starts_from_the_next_one(store: Store) -> None:
    _image(store)
    _schedule(store)
    _fire(store, T0 + S)
    paused = store.run(schedules.pause_schedule, "t1", "tick", now=T0 + 2 * S)
    assert paused.state == "paused"
    assert _fire(store, T0 + 3 * MINUTE + S) == []
    resumed = store.run(schedules.resume_schedule, "t1", "tick", now=T0 + 3 * MINUTE + 30 * S)
    assert resumed.state == "active" and resumed.next_fire_at == T0 + 4 * MINUTE
    _fire(store, T0 + 4 * MINUTE + S)
    assert [i.scheduled_at for i in _started(store)] == [T0, T0 + 4 * MINUTE]


@pytest.mark.parametrize(
    ("catchup", "expected", "skipped"),
    [
        (Catchup.all, [T0 + k * MINUTE for k in range(11)], 0),
        (Catchup.latest, [T0, T0 + 9 * MINUTE, T0 + 10 * MINUTE], 8),
        (Catchup.none, [T0, T0 + 10 * MINUTE], 9),
    ],
)
def test_fires_missed_while_no_server_ran_follow_catchup(
    store: Store, catchup: Catchup, expected: list[int], skipped: int
) -> None:
    _image(store)
    _schedule(store, catchup=catchup)
    _fire(store, T0 + S)  # then no server runs until 12:10:05
    while _fire(store, T0 + 10 * MINUTE + 5 * S):
        pass
    assert [i.scheduled_at for i in _started(store)] == expected
    assert store.run(schedules.get_schedule, "t1", "tick").skipped == skipped


def test_overlap_skip_drops_fires_while_the_previous_instance_runs(store: Store) -> None:
    _image(store)
    _schedule(store, overlap=Overlap.skip)
    _fire(store, T0 + S)
    [outcome] = _fire(store, T0 + MINUTE + S)
    assert outcome.outcome == "skipped"
    store.run(instances.cancel, "t1", "tick@2026-06-01T12:00:00.000Z")  # it ends
    _fire(store, T0 + 2 * MINUTE + S)
    assert [i.scheduled_at for i in _started(store)] == [T0, T0 + 2 * MINUTE]
    assert store.run(schedules.get_schedule, "t1", "tick").skipped == 1


def test_overlap_buffer_one_starts_one_fire_when_the_previous_ends(store: Store) -> None:
    _image(store)
    _schedule(store, overlap=Overlap.buffer_one)
    _fire(store, T0 + S)
    assert [f.outcome for f in _fire(store, T0 + MINUTE + S)] == ["buffered"]
    assert [f.outcome for f in _fire(store, T0 + 2 * MINUTE + S)] == ["skipped"]
    assert store.run(schedules.get_schedule, "t1", "tick").buffered_at == T0 + MINUTE
    assert _fire(store, T0 + 2 * MINUTE + 2 * S) == []  # still running: it waits
    store.run(instances.cancel, "t1", "tick@2026-06-01T12:00:00.000Z")
    [started] = _fire(store, T0 + 2 * MINUTE + 3 * S)
    assert (started.outcome, started.scheduled_at) == ("started", T0 + MINUTE)
    assert [i.scheduled_at for i in _started(store)] == [T0, T0 + MINUTE]
    assert store.run(schedules.get_schedule, "t1", "tick").buffered_at is None


def test_overlap_allow_starts_every_fire(store: Store) -> None:
    _image(store)
    _schedule(store, overlap=Overlap.allow)
    for minute in range(3):
        _fire(store, T0 + minute * MINUTE + S)
    assert [i.status for i in _started(store)] == ["pending"] * 3


def test_trigger_fires_now_under_the_overlap_policy_and_while_paused(store: Store) -> None:
    _image(store)
    _schedule(store, overlap=Overlap.skip)
    store.run(schedules.pause_schedule, "t1", "tick", now=T0 - 10 * S)
    now = T0 + 1234
    fire = store.run(schedules.trigger_schedule, "t1", "tick", now=now)
    assert (fire.outcome, fire.instance_id) == ("started", "tick@2026-06-01T12:00:01.234Z")
    again = store.run(schedules.trigger_schedule, "t1", "tick", now=now + 1)
    assert again.outcome == "skipped"  # the first still runs
    assert [i.scheduled_at for i in _started(store)] == [now]


def test_a_fire_whose_image_is_gone_fails_and_the_schedule_goes_on(store: Store) -> None:
    _image(store)
    _schedule(store)
    store.run(images.delete_image, "t1", "job")
    [failed] = _fire(store, T0 + S)
    assert failed.outcome == "failed" and "image 'job' not found" in (failed.error or "")
    broken = store.run(schedules.get_schedule, "t1", "tick")
    assert (broken.next_fire_at, broken.last_error) == (T0 + MINUTE, failed.error)
    _image(store)  # registered again: the next fire runs it
    _fire(store, T0 + MINUTE + S)
    assert [i.scheduled_at for i in _started(store)] == [T0 + MINUTE]
    assert store.run(schedules.get_schedule, "t1", "tick").last_error is None


def test_schedules_belong_to_a_tenant(store: Store) -> None:
    _image(store, tenant="acme", name="acme-job")
    with pytest.raises(NotFound):  # t1 cannot schedule acme's image
        store.run(schedules.create_schedule, "t1", "x", "acme-job", Timing(every_ms=S), now=T0)
    image_id = store.run(images.resolve_image, "acme", "acme-job").id
    with pytest.raises(NotFound):  # not by its id either
        store.run(schedules.create_schedule, "t1", "x", image_id, Timing(every_ms=S), now=T0)
    _image(store)
    _schedule(store)
    with pytest.raises(Conflict):
        _schedule(store)
    with pytest.raises(NotFound):
        store.run(schedules.get_schedule, "acme", "tick")
    deleted = store.run(schedules.delete_schedule, "t1", "tick")
    assert deleted.name == "tick"
    with pytest.raises(NotFound):
        store.run(schedules.get_schedule, "t1", "tick")


def test_a_schedule_past_its_end_has_ended(store: Store) -> None:
    _image(store)
    store.run(
        schedules.create_schedule,
        "t1",
        "once",
        "job",
        Timing(every_ms=MINUTE, start_ms=T0, end_ms=T0 + MINUTE),
        now=T0 - S,
        overlap=Overlap.allow,
    )
    _fire(store, T0 + S)
    assert store.run(schedules.get_schedule, "t1", "once").state == "active"
    _fire(store, T0 + MINUTE + S)
    ended = store.run(schedules.get_schedule, "t1", "once")
    assert (ended.state, ended.next_fire_at, ended.fires) == ("ended", None, 2)
    assert _fire(store, T0 + 10 * MINUTE) == []
