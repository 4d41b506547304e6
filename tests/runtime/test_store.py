"""The store, on SQLite and PostgreSQL alike: lifecycle, checkpoints, signals, secrets."""

from __future__ import annotations

import contextlib
import threading

import pytest

from runtara.runtime.errors import Conflict, Forbidden, NotConfigured, NotFound, Unauthorized
from runtara.runtime.store import (
    Store,
    connections,
    events,
    images,
    instances,
    logs,
    open_store,
    scheduling,
    signals,
    tenants,
)
from runtara.runtime.store import checkpoints as cp
from runtara.runtime.store.access import Caller
from runtara.runtime.store.database import Tx, write_op
from runtara.runtime.store.migrate import migrate

DEV = Caller("tenant-1", "order-batch-001", dev=True)


def started(store: Store, caller: Caller = DEV) -> Caller:
    store.run(instances.register, caller)
    return caller


def test_migrations_apply_once_and_data_survives_reopen(db_url: str) -> None:
    with open_store(db_url) as first:
        started(first)
        first.run(cp.save_checkpoint, DEV, "order-1", b"one")
        assert migrate(first.db) == []
    with open_store(db_url) as again:
        stored = again.run(cp.get_checkpoint, DEV, "order-1")
        assert stored == (b"one", "application/octet-stream")


def test_dev_registration_creates_tenant_and_instance(store: Store) -> None:
    instance = store.run(instances.register, DEV)
    assert (instance.status, instance.attempts) == ("running", 1)
    assert store.run(tenants.get_tenant, "tenant-1").id == "tenant-1"
    again = store.run(instances.register, DEV)
    assert (again.status, again.attempts) == ("running", 2)
    kinds = [e.event_type for e in store.run(events.list_events, "tenant-1", DEV.instance_id)]
    assert kinds == ["started", "restarted"]


def test_processes_registering_one_new_id_at_once_all_get_in(db_url: str) -> None:
    """In dev mode several processes may register the same new instance id at once
    (two servers on one database, or one server's worker threads): one creates it, the
    others register again, and none gets a database error (was a 500 on PostgreSQL)."""
    stores = [open_store(db_url, secret_key="k") for _ in range(4)]
    go = threading.Barrier(len(stores))
    answers: list[object] = []

    def register(store: Store) -> None:
        go.wait()
        try:
            answers.append(store.run(instances.register, Caller("tenant-1", "fresh", dev=True)))
        except Exception as exc:  # reported below
            answers.append(exc)

    threads = [threading.Thread(target=register, args=(s,)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [type(a).__name__ for a in answers] == ["Instance"] * len(stores), answers
        final = stores[0].run(instances.get_instance, "tenant-1", "fresh")
        assert (final.status, final.attempts) == ("running", len(stores))
        kinds = [e.event_type for e in stores[0].run(events.list_events, "tenant-1", "fresh")]
        assert sorted(kinds) == ["restarted"] * (len(stores) - 1) + ["started"]
    finally:
        for store in stores:
            store.close()


def test_registration_outside_dev_needs_the_instance_token(store: Store) -> None:
    with pytest.raises(NotFound):
        store.run(instances.register, Caller("tenant-1", "nobody"))
    created = store.run(instances.create_instance, "tenant-1", "job-1", input={"n": 3})
    assert created.instance.status == "pending"
    with pytest.raises(Unauthorized):
        store.run(instances.register, Caller("tenant-1", "job-1", token="wrong"))
    with pytest.raises(Unauthorized):
        store.run(instances.register, Caller("tenant-1", "job-1", dev=True))
    running = store.run(instances.register, Caller("tenant-1", "job-1", token=created.token))
    assert (running.status, running.input) == ("running", {"n": 3})
    # a self-registered instance is refused by a server not in dev mode
    started(store)
    with pytest.raises(Unauthorized):
        store.run(cp.save_checkpoint, Caller("tenant-1", DEV.instance_id), "k", b"")


def test_checkpoint_saves_once_and_then_returns_the_stored_state(store: Store) -> None:
    started(store)
    first = store.run(cp.save_checkpoint, DEV, "order-42", b'{"i": 42}', "application/json")
    assert (first.found, first.state) == (False, None)
    second = store.run(cp.save_checkpoint, DEV, "order-42", b"ignored")
    assert (second.found, second.state, second.content_type) == (
        True,
        b'{"i": 42}',
        "application/json",
    )
    assert (
        store.run(instances.get_instance, "tenant-1", DEV.instance_id).last_checkpoint_id
        == "order-42"
    )
    listed = store.run(cp.list_checkpoints, "tenant-1", DEV.instance_id)
    assert [(c.checkpoint_id, c.size) for c in listed] == [("order-42", 9)]


def test_concurrent_duplicate_checkpoints_store_exactly_one(store: Store) -> None:
    started(store)
    results = []
    barrier = threading.Barrier(16)

    def save(n: int) -> None:
        barrier.wait()
        results.append((n, store.run(cp.save_checkpoint, DEV, "same", str(n).encode())))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, r in results if not r.found]
    assert len(winners) == 1
    stored = str(winners[0]).encode()
    assert all(r.state == stored for _, r in results if r.found)
    assert store.run(cp.get_checkpoint, DEV, "same") == (stored, "application/octet-stream")
    assert len(store.run(cp.list_checkpoints, "tenant-1", DEV.instance_id)) == 1


def test_a_failing_operation_rolls_back_alone(store: Store) -> None:
    started(store)

    @write_op
    def half_done(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO checkpoints (tenant_id, instance_id, checkpoint_id, state, content_type,"
            " created_at) VALUES ('tenant-1', 'order-batch-001', 'half', ?, 'x', 0)",
            (b"",),
        )
        raise Conflict("refused after writing")

    errors: list[Exception] = []

    def attempt() -> None:
        try:
            store.run(half_done)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    threads += [
        threading.Thread(target=store.run, args=(cp.save_checkpoint, DEV, f"ok-{n}", b""))
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert store.run(cp.get_checkpoint, DEV, "half") is None
    ids = {c.checkpoint_id for c in store.run(cp.list_checkpoints, "tenant-1", DEV.instance_id)}
    assert ids == {"ok-0", "ok-1", "ok-2", "ok-3"}


def test_terminal_statuses_refuse_further_changes(store: Store) -> None:
    started(store)
    done = store.run(instances.complete, DEV, {"processed": 1000})
    assert (done.status, done.output) == ("completed", {"processed": 1000})
    assert done.finished_at is not None
    for op, args in [
        (instances.complete, (DEV, None)),
        (instances.fail, (DEV, "boom")),
        (instances.suspend, (DEV,)),
        (instances.register, (DEV,)),
    ]:
        with pytest.raises(Conflict, match="completed"):
            store.run(op, *args)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="not running"):
        store.run(cp.save_checkpoint, DEV, "late", b"")
    with pytest.raises(Conflict):
        store.run(instances.cancel, "tenant-1", DEV.instance_id)
    with pytest.raises(Conflict):
        store.run(instances.pause, "tenant-1", DEV.instance_id)


def test_failed_records_the_error(store: Store) -> None:
    started(store)
    failed = store.run(instances.fail, DEV, "payment service down")
    assert (failed.status, failed.error) == ("failed", "payment service down")


def test_pause_reaches_the_next_checkpoint_and_resume_makes_it_due(store: Store) -> None:
    started(store)
    paused = store.run(instances.pause, "tenant-1", DEV.instance_id)
    assert (paused.status, paused.pending_signal) == ("running", "pause")
    assert store.run(cp.save_checkpoint, DEV, "order-1", b"").signal == "pause"
    suspended = store.run(instances.suspend, DEV)
    assert (suspended.status, suspended.pending_signal) == ("suspended", None)
    resumed = store.run(instances.resume, "tenant-1", DEV.instance_id)
    assert resumed.status == "suspended" and resumed.wake_at is not None
    running = store.run(instances.register, DEV)
    assert (running.status, running.wake_at) == ("running", None)
    assert store.run(cp.save_checkpoint, DEV, "order-2", b"").signal is None


def test_resume_withdraws_a_pause_not_yet_seen(store: Store) -> None:
    started(store)
    store.run(instances.pause, "tenant-1", DEV.instance_id)
    store.run(instances.resume, "tenant-1", DEV.instance_id)
    assert store.run(cp.save_checkpoint, DEV, "order-1", b"").signal is None
    with pytest.raises(Conflict):
        store.run(instances.resume, "tenant-1", DEV.instance_id)


def test_cancel_reaches_a_running_instance_and_ends_others_at_once(store: Store) -> None:
    started(store)
    store.run(instances.pause, "tenant-1", DEV.instance_id)
    store.run(instances.cancel, "tenant-1", DEV.instance_id)
    store.run(instances.pause, "tenant-1", DEV.instance_id)  # never downgrades a cancel
    assert store.run(cp.save_checkpoint, DEV, "order-1", b"").signal == "cancel"
    cancelled = store.run(instances.acknowledge_signal, DEV, "cancel")
    assert (cancelled.status, cancelled.pending_signal) == ("cancelled", None)

    pending = store.run(instances.create_instance, "tenant-1", "queued").instance
    assert store.run(instances.cancel, "tenant-1", pending.id).status == "cancelled"


def test_custom_signal_is_delivered_once_to_its_checkpoint(store: Store) -> None:
    started(store)
    store.run(signals.send_custom_signal, "tenant-1", DEV.instance_id, "approve", {"ok": True})
    assert store.run(cp.save_checkpoint, DEV, "other", b"").custom_signal is None
    assert store.run(cp.save_checkpoint, DEV, "approve", b"").custom_signal == {"ok": True}
    assert store.run(cp.save_checkpoint, DEV, "approve", b"").custom_signal is None


def test_waiting_for_a_signal_keeps_the_payload_as_a_checkpoint(store: Store) -> None:
    started(store)
    assert store.run(signals.poll_custom_signal, DEV, "wait::approval").found is False
    store.run(signals.send_custom_signal, "tenant-1", DEV.instance_id, "wait::approval", [1, 2])
    first = store.run(signals.poll_custom_signal, DEV, "wait::approval")
    assert (first.found, first.payload) == (True, [1, 2])
    store.run(signals.send_custom_signal, "tenant-1", DEV.instance_id, "wait::approval", "newer")
    assert store.run(signals.poll_custom_signal, DEV, "wait::approval").payload == [1, 2]


def test_durable_sleep_keeps_its_end_time_across_reruns(store: Store) -> None:
    started(store)
    first = store.run(cp.sleep, DEV, "sleep::1", 60_000)
    assert first.exit is False  # self-registered: nothing could wake it, so it sleeps in place
    assert 59_000 < first.remaining_ms <= 60_000
    again = store.run(cp.sleep, DEV, "sleep::1", 60_000)  # a rerun: the end stays put
    assert again.wake_at == first.wake_at and again.remaining_ms <= first.remaining_ms
    assert store.run(cp.sleep, DEV, "sleep::2", 0).remaining_ms == 0


def test_durable_sleep_of_a_launched_instance_ends_its_process(store: Store) -> None:
    created = store.run(instances.create_instance, "tenant-1", "job", runner="process")
    caller = Caller("tenant-1", "job", token=created.token)
    store.run(instances.register, caller)
    result = store.run(cp.sleep, caller, "sleep::1", 3_600_000)
    assert result.exit is True
    sleeping = store.run(instances.get_instance, "tenant-1", "job")
    assert (sleeping.status, sleeping.wake_at) == ("sleeping", result.wake_at)
    woken = store.run(instances.register, caller)
    assert (woken.status, woken.wake_at) == ("running", None)


def test_a_launched_signal_wait_sleeps_until_its_own_signal_or_deadline(store: Store) -> None:
    """WaitForSignal holds no process: the instance sleeps, due again when its signal
    arrives (not another's) or at its deadline, which a rerun does not move."""
    image = store.run(images.create_image, "tenant-1", "approval", "process", "python3 a.py")
    created = store.run(
        instances.create_instance, "tenant-1", "ap", image_id=image.id, runner="process"
    )
    caller = Caller("tenant-1", "ap", token=created.token)
    store.run(instances.register, caller)
    first = store.run(cp.wait_for_signal, caller, "approve", 3_600_000)
    assert (first.found, first.exit, first.timed_out) == (False, True, False)
    assert store.run(instances.get_instance, "tenant-1", "ap").status == "sleeping"
    assert store.run(scheduling.due_in_ms) != 0
    store.run(signals.send_custom_signal, "tenant-1", "ap", "another-step", {"no": 1})
    assert store.run(scheduling.due_in_ms) != 0, "a stray signal woke the sleeper"
    store.run(signals.send_custom_signal, "tenant-1", "ap", "approve", {"by": "ada"})
    assert store.run(scheduling.due_in_ms) == 0
    store.run(instances.register, caller)
    again = store.run(cp.wait_for_signal, caller, "approve", 3_600_000)
    assert (again.found, again.payload) == (True, {"by": "ada"})
    # the payload is checkpoint "approve": every later rerun gets it back at once
    assert store.run(cp.wait_for_signal, caller, "approve", 3_600_000).payload == {"by": "ada"}
    # a deadline is fixed at the first call and ends the wait when it passes
    store.run(cp.wait_for_signal, caller, "second", 0)
    timed = store.run(cp.wait_for_signal, caller, "second", 3_600_000)
    assert (timed.found, timed.timed_out, timed.exit) == (False, True, False)


def test_events_batch_filters_and_retry_records(store: Store) -> None:
    started(store)
    batch = [events.NewEvent("custom", "workflow_log", {"n": n}) for n in range(5)]
    assert store.run(events.add_events, DEV, batch) == 5
    store.run(events.record_retry, DEV, "durable::charge", 2, "timeout")
    logged = store.run(events.list_events, "tenant-1", DEV.instance_id, subtype="workflow_log")
    assert [e.payload["n"] for e in logged] == [0, 1, 2, 3, 4]
    page = store.run(events.list_events, "tenant-1", DEV.instance_id, after=logged[1].seq, limit=2)
    assert [e.payload for e in page] == [{"n": 2}, {"n": 3}]
    (retry,) = store.run(
        events.list_events, "tenant-1", DEV.instance_id, event_type="retry_attempt"
    )
    assert (retry.subtype, retry.payload) == ("durable::charge", {"attempt": 2, "error": "timeout"})


def test_connections_are_encrypted_at_rest_and_tenant_scoped(store: Store) -> None:
    params = {"token": "s3cr3t-value"}
    store.run(
        connections.create_connection, store.secrets, "tenant-1", "crm", "http_bearer", params
    )
    raw = store.db.read(lambda tx: tx.scalar("SELECT secret FROM connections WHERE id = 'crm'"))
    assert b"s3cr3t-value" not in bytes(raw)
    assert "token" not in repr(store.run(connections.get_connection, "tenant-1", "crm"))
    started(store)
    assert store.run(connections.fetch_parameters, store.secrets, DEV, "crm") == params
    other = started(store, Caller("tenant-2", "x", dev=True))
    with pytest.raises(NotFound):
        store.run(connections.fetch_parameters, store.secrets, other, "crm")
    with pytest.raises(NotFound):
        store.run(connections.get_connection, "tenant-2", "crm")
    with pytest.raises(Conflict):
        store.run(connections.create_connection, store.secrets, "tenant-1", "crm", "x", {})


def test_a_registry_login_is_for_the_server_only(store: Store) -> None:
    """An ``oci_registry`` connection serves image pulls of its own tenant; an instance
    asking for it (it could log it or send it anywhere) is refused."""
    login = {"registry": "reg.example:5000", "username": "ci", "password": "p4ss"}
    store.run(
        connections.create_connection, store.secrets, "tenant-1", "reg", "oci_registry", login
    )
    found = store.run(connections.registry_login, store.secrets, "tenant-1", "reg.example:5000")
    assert found == {"username": "ci", "password": "p4ss"}
    assert store.run(connections.registry_login, store.secrets, "tenant-1", "other:5000") is None
    assert (
        store.run(connections.registry_login, store.secrets, "tenant-2", "reg.example:5000") is None
    )
    started(store)
    with pytest.raises(Forbidden, match="registry credentials"):
        store.run(connections.fetch_parameters, store.secrets, DEV, "reg")


def test_connections_need_a_secret_key(db_url: str) -> None:
    with open_store(db_url) as keyless, pytest.raises(NotConfigured, match="RUNTARA_SECRET_KEY"):
        keyless.run(connections.create_connection, keyless.secrets, "t", "c", "x", {"a": 1})


def test_api_keys_are_hashed_and_revocable(store: Store) -> None:
    store.run(tenants.create_tenant, "acme")
    created = store.run(tenants.create_api_key, "acme", "ci")
    assert store.run(tenants.tenant_for_api_key, created.key) == "acme"
    stored = store.db.read(lambda tx: tx.all("SELECT key_hash FROM api_keys"))
    assert created.key not in {row["key_hash"] for row in stored}
    store.run(tenants.revoke_api_key, "acme", created.info.id)
    assert store.run(tenants.tenant_for_api_key, created.key) is None
    with pytest.raises(Conflict):
        store.run(tenants.create_tenant, "acme")


def test_tenants_never_see_each_other(store: Store) -> None:
    started(store)
    with pytest.raises(NotFound):
        store.run(instances.get_instance, "tenant-2", DEV.instance_id)
    with pytest.raises(NotFound):
        store.run(instances.cancel, "tenant-2", DEV.instance_id)
    with pytest.raises(NotFound):
        store.run(events.list_events, "tenant-2", DEV.instance_id)
    assert store.run(instances.list_instances, "tenant-2") == []
    assert [i.id for i in store.run(instances.list_instances, "tenant-1")] == [DEV.instance_id]


def test_images_and_logs(store: Store) -> None:
    image = store.run(images.create_image, "tenant-1", "orders", "process", "/bin/true")
    assert store.run(images.get_image, "tenant-1", image.id).name == "orders"
    with pytest.raises(NotFound):
        store.run(images.get_image, "tenant-2", image.id)
    started(store)
    store.run(logs.append_logs, "tenant-1", DEV.instance_id, "stderr", ["a", "b"])
    assert [line.line for line in store.run(logs.list_logs, "tenant-1", DEV.instance_id)] == [
        "a",
        "b",
    ]
    store.run(images.delete_image, "tenant-1", image.id)
    assert store.run(images.list_images, "tenant-1") == []


def test_commits_are_durable_on_disk(store: Store) -> None:
    """An acknowledged write survives power loss: SQLite fsyncs every commit (WAL +
    synchronous=FULL); PostgreSQL waits for its WAL flush (synchronous_commit=on)."""
    if store.dialect == "sqlite":
        settings = store.db.write(
            lambda tx: (tx.scalar("PRAGMA journal_mode"), tx.scalar("PRAGMA synchronous"))
        )
        assert settings == ("wal", 2)
    else:
        settings = store.db.write(
            lambda tx: (tx.scalar("SHOW synchronous_commit"), tx.scalar("SHOW fsync"))
        )
        assert settings == ("on", "on")


def test_waiting_on_a_key_that_holds_other_data_is_refused(store: Store) -> None:
    started(store)
    store.run(cp.save_checkpoint, DEV, "step-1", b"\x89PNG")
    with pytest.raises(Conflict, match="does not hold a signal payload"):
        store.run(signals.poll_custom_signal, DEV, "step-1")


def test_an_operator_signal_never_outlives_a_concurrent_completion(store: Store) -> None:
    def operator(barrier: threading.Barrier, instance_id: str) -> None:
        barrier.wait()
        with contextlib.suppress(Conflict):
            store.run(instances.pause, "tenant-1", instance_id)

    def finishing(barrier: threading.Barrier, caller: Caller) -> None:
        barrier.wait()
        store.run(instances.complete, caller, None)

    for n in range(15):
        caller = started(store, Caller("tenant-1", f"race-{n}", dev=True))
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=operator, args=(barrier, caller.instance_id)),
            threading.Thread(target=finishing, args=(barrier, caller)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = store.run(instances.get_instance, "tenant-1", caller.instance_id)
        assert (final.status, final.pending_signal) == ("completed", None)
