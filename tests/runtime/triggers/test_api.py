"""``/v1/schedules`` and ``/v1/hooks`` over real sockets, on SQLite and PostgreSQL.

The scheduler is off here, so started instances stay ``pending`` and every answer is
what the API decided, not what a launched process did next.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from runtara.client import ApiError, Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.store import open_store
from runtara.runtime.store.database import now_ms
from runtara.runtime.triggers import hooks
from runtara.runtime.triggers.signing import sign

ADMIN = "admin-key-for-trigger-tests"
PROBLEM = "application/problem+json"
SECRET = "hook-secret-0123456789"


@dataclass
class Tenants:
    url: str
    database_url: str
    acme: Client
    globex: Client
    http: httpx.Client


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenants]:
    monkeypatch.setenv("RUNTARA_ADMIN_KEY", ADMIN)
    monkeypatch.setenv("RUNTARA_SCHEDULER", "off")
    monkeypatch.setenv("RUNTARA_MAX_HOOK_BYTES", "4096")
    with EmbeddedRuntime(db_url, dev=False, secret_key="at-rest") as runtime:
        with Client(runtime.url, ADMIN) as admin:
            for tenant in ("acme", "globex"):
                admin.create_tenant(tenant)
            keys = {t: admin.create_api_key(t)["key"] for t in ("acme", "globex")}
        with Client(runtime.url, ADMIN, tenant="acme") as admin:
            admin.register_image("ingest", command="python3 ingest.py")
        with (
            Client(runtime.url, keys["acme"]) as acme,
            Client(runtime.url, keys["globex"]) as globex,
            httpx.Client(base_url=runtime.url) as http,
        ):
            yield Tenants(runtime.url, db_url, acme, globex, http)


def _refused(call: object, status: int) -> str:
    with pytest.raises(ApiError) as refused:
        call()  # type: ignore[operator]
    assert refused.value.status == status, refused.value
    return refused.value.detail


# -- webhooks ---------------------------------------------------------------------------


def test_a_signed_delivery_starts_an_instance_and_a_bad_signature_is_401(
    api: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = api.acme.create_hook("orders", "ingest", secret=SECRET)
    assert hook["url"] == f"{api.url}/v1/hooks/{hook['id']}" and hook["signed"] is True
    body = b'{"order": 42,  "items": ["a"]}'  # signed as sent, odd spacing included

    unsigned = api.http.post(hook["path"], content=body)
    assert (unsigned.status_code, unsigned.headers["content-type"]) == (401, PROBLEM)
    assert "requires a signature" in unsigned.json()["detail"]
    wrong = api.http.post(
        hook["path"], content=body, headers={"X-Runtara-Signature": sign("other", body)}
    )
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
    tampered = api.http.post(
        hook["path"],
        content=body.replace(b"42", b"43"),
        headers={"X-Runtara-Signature": sign(SECRET, body)},
    )
    assert tampered.status_code == 401
    no_prefix = api.http.post(
        hook["path"],
        content=body,
        headers={"X-Runtara-Signature": sign(SECRET, body).removeprefix("sha256=")},
    )
    assert no_prefix.status_code == 401 and "must be 'sha256=" in no_prefix.json()["detail"]
    assert api.acme.list_instances(hook="orders") == []

    good = api.http.post(
        hook["path"], content=body, headers={"X-Runtara-Signature": sign(SECRET, body)}
    )
    assert good.status_code == 202, good.text
    instance_id = good.json()["instance_id"]
    assert good.json() == {"instance_id": instance_id, "hook": "orders", "replayed": False}
    assert good.headers["location"] == f"/v1/instances/{instance_id}"
    started = api.acme.get_instance(instance_id)
    assert (started["input"], started["hook"], started["status"]) == (
        {"order": 42, "items": ["a"]},
        "orders",
        "pending",
    )
    upper = api.http.post(  # hex digits in either case
        hook["path"], content=body, headers={"X-Runtara-Signature": sign(SECRET, body).upper()}
    )
    assert upper.status_code == 202

    # the secret is never shown again nor logged
    shown = [
        json.dumps(api.acme.get_hook("orders")),
        json.dumps(api.acme.list_hooks()),
        json.dumps(api.acme.list_hook_deliveries("orders")),
    ]
    assert all(SECRET not in text for text in shown)
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    with open_store(api.database_url) as store:  # and is not stored in clear
        row = store.db.read(lambda tx: tx.one("SELECT secret FROM hooks"))
        assert row is not None and SECRET not in str(row["secret"])


def test_a_repeated_idempotency_key_returns_the_first_instance(api: Tenants) -> None:
    hook = api.acme.create_hook("plain", "ingest")  # no secret: no signature needed
    first = api.http.post(hook["path"], json={"n": 1}, headers={"Idempotency-Key": "evt-1"})
    again = api.http.post(hook["path"], json={"n": 2}, headers={"Idempotency-Key": "evt-1"})
    other = api.http.post(hook["path"], json={"n": 3}, headers={"Idempotency-Key": "evt-2"})
    keyless = [api.http.post(hook["path"], json={"n": 4}) for _ in range(2)]
    assert [r.status_code for r in (first, again, other, *keyless)] == [202] * 5
    assert again.json()["instance_id"] == first.json()["instance_id"]
    assert again.json()["replayed"] is True and again.headers["idempotent-replayed"] == "true"
    ids = {r.json()["instance_id"] for r in (first, other, *keyless)}
    assert len(ids) == 4
    assert {i["id"] for i in api.acme.list_instances(hook="plain")} == ids
    assert api.acme.get_instance(first.json()["instance_id"])["input"] == {"n": 1}
    recent = api.acme.list_hook_deliveries("plain")
    assert [d["idempotency_key"] for d in recent].count("evt-1") == 1 and len(recent) == 4
    too_long = api.http.post(hook["path"], json={}, headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422


def test_an_idempotency_key_is_kept_24_hours(db_url: str) -> None:
    with open_store(db_url, secret_key="k") as store:
        from runtara.runtime.store import images

        store.run(images.create_image, "t1", "job", "process", "true")
        hook = store.run(hooks.create_hook, store.secrets, "t1", "h", "job", secret=None, now=0)
        t = now_ms()
        first = store.run(hooks.deliver, hook, {"a": 1}, idempotency_key="k1", now=t)
        day = hooks.IDEMPOTENCY_TTL_MS
        within = store.run(hooks.deliver, hook, {"a": 2}, idempotency_key="k1", now=t + day - 1)
        assert within.replayed and within.instance_id == first.instance_id
        later = store.run(hooks.deliver, hook, {"a": 3}, idempotency_key="k1", now=t + day + 1)
        assert not later.replayed and later.instance_id != first.instance_id
        assert store.run(hooks.prune_deliveries, now=t + 2 * day + 2) == 1


def test_oversized_malformed_and_unknown_deliveries_are_refused(api: Tenants) -> None:
    hook = api.acme.create_hook("plain", "ingest")
    big = api.http.post(hook["path"], content=b'{"x": "' + b"a" * 5000 + b'"}')
    assert (big.status_code, big.headers["content-type"]) == (413, PROBLEM)
    assert "RUNTARA_MAX_HOOK_BYTES" in big.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"x": "'
        for _ in range(10):
            yield b"a" * 1000
        yield b'"}'

    streamed = api.http.post(hook["path"], content=chunks())
    assert streamed.status_code == 413
    malformed = api.http.post(hook["path"], content=b"{oops")
    assert malformed.status_code == 422 and "malformed JSON" in malformed.json()["detail"]
    nan = api.http.post(hook["path"], content=b'{"x": NaN}')
    assert nan.status_code == 422
    deep = api.http.post(hook["path"], content=b"[" * 300 + b"]" * 300)
    assert deep.status_code == 422 and "nested" in deep.json()["detail"]
    unknown = api.http.post("/v1/hooks/hk_nope", json={})
    assert unknown.status_code == 404
    assert api.acme.list_instances(hook="plain") == []
    empty = api.http.post(hook["path"])  # an empty body is a null input
    assert empty.status_code == 202
    assert api.acme.get_instance(empty.json()["instance_id"])["input"] is None


def test_hooks_cannot_start_another_tenants_images(api: Tenants) -> None:
    image_id = api.acme.get_image("ingest")["id"]
    assert "not found in tenant 'globex'" in _refused(
        lambda: api.globex.create_hook("steal", "ingest"), 404
    )
    _refused(lambda: api.globex.create_hook("steal", image_id), 404)
    api.acme.create_hook("orders", "ingest")
    _refused(lambda: api.globex.get_hook("orders"), 404)
    _refused(lambda: api.globex.delete_hook("orders"), 404)
    _refused(lambda: api.globex.rotate_hook_secret("orders"), 404)
    assert api.globex.list_hooks() == []
    _refused(lambda: api.acme.create_hook("orders", "ingest"), 409)


def test_rotate_secret_shows_the_new_one_once_and_the_old_one_stops_working(
    api: Tenants,
) -> None:
    hook = api.acme.create_hook("orders", "ingest", secret=SECRET)
    body = b'{"n": 1}'
    rotated = api.acme.rotate_hook_secret("orders")
    new = rotated["secret"]
    assert new != SECRET and len(new) >= 32 and rotated["signed"] is True
    assert "secret" not in api.acme.get_hook("orders")
    old = api.http.post(
        hook["path"], content=body, headers={"X-Runtara-Signature": sign(SECRET, body)}
    )
    assert old.status_code == 401
    ok = api.http.post(hook["path"], content=body, headers={"X-Runtara-Signature": sign(new, body)})
    assert ok.status_code == 202
    chosen = api.acme.rotate_hook_secret(hook["id"], "my-own-secret-value")
    assert chosen["secret"] == "my-own-secret-value"
    # a hook made without a secret gets one, and must be signed from then on
    plain = api.acme.create_hook("plain", "ingest")
    assert api.http.post(plain["path"], json={}).status_code == 202
    api.acme.rotate_hook_secret("plain")
    assert api.http.post(plain["path"], json={}).status_code == 401
    api.acme.delete_hook("orders")
    assert api.http.post(hook["path"], content=body).status_code == 404


def test_a_hook_whose_image_is_gone_says_so(api: Tenants) -> None:
    hook = api.acme.create_hook("plain", "ingest")
    with Client(api.url, ADMIN, tenant="acme") as admin:
        admin.delete_image("ingest")
    gone = api.http.post(hook["path"], json={})
    assert gone.status_code == 409 and "no longer exists" in gone.json()["detail"]
    assert "acme" not in gone.json()["detail"]  # the sender learns nothing of the tenant
    assert api.acme.list_hook_deliveries("plain") == []


# -- schedules --------------------------------------------------------------------------


def test_schedule_create_get_pause_resume_trigger_delete(api: Tenants) -> None:
    created = api.acme.create_schedule(
        "nightly", "ingest", cron="30 2 * * *", timezone="Europe/Berlin", input={"full": True}
    )
    assert (created["state"], created["overlap"], created["catchup"]) == (
        "active",
        "skip",
        "latest",
    )
    got = api.acme.get_schedule("nightly")
    assert len(got["next_fires"]) == 5 and got["next_fires"] == sorted(got["next_fires"])
    assert all(
        local.endswith(("T02:30:00+01:00", "T02:30:00+02:00")) for local in got["next_fires_local"]
    )
    assert got["description"] == "At 02:30 every day (Europe/Berlin)"
    assert api.acme.pause_schedule("nightly")["state"] == "paused"
    assert len(api.acme.get_schedule("nightly")["next_fires"]) == 5  # what resuming brings

    fired = api.acme.trigger_schedule("nightly")  # also while paused
    assert fired["outcome"] == "started" and fired["instance_id"].startswith("nightly@")
    instance = api.acme.get_instance(fired["instance_id"])
    assert (instance["schedule"], instance["scheduled_at"], instance["input"]) == (
        "nightly",
        fired["scheduled_at"],
        {"full": True},
    )
    detail = _refused(lambda: api.acme.trigger_schedule("nightly"), 409)  # overlap skip
    assert "still running" in detail
    assert api.acme.resume_schedule("nightly")["state"] == "active"
    assert [s["name"] for s in api.acme.list_schedules()] == ["nightly"]
    assert [i["id"] for i in api.acme.list_instances(schedule="nightly")] == [fired["instance_id"]]
    _refused(lambda: api.globex.get_schedule("nightly"), 404)
    _refused(lambda: api.globex.trigger_schedule("nightly"), 404)
    assert api.acme.delete_schedule("nightly")["name"] == "nightly"
    _refused(lambda: api.acme.get_schedule("nightly"), 404)
    assert api.acme.get_instance(fired["instance_id"])["schedule"] == "nightly"


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"cron": "0 * * * *", "every": "1m"}, 422, "give exactly one of cron and every"),
        ({}, 422, "give exactly one of cron and every"),
        ({"every": "1m", "timezone": "UTC"}, 422, "timezone: applies to cron schedules only"),
        ({"cron": "0 25 * * *"}, 422, "cron: '0 25 * * *' is not a cron expression"),
        ({"cron": "0 * * * *", "timezone": "Nowhere/City"}, 422, "unknown time zone"),
        ({"every": "soon"}, 422, "every: 'soon' is not a duration"),
        ({"every": "1m", "start": "2026-02-01", "end": "2026-01-01"}, 422, "end: must be after"),
        ({"every": "1m", "start": "next week"}, 422, "start: 'next week' is not an ISO 8601"),
        ({"every": "1m", "overlap": "queue"}, 422, "overlap"),
        ({"every": "1m", "image": "nope"}, 404, "image 'nope' not found in tenant 'acme'"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(
    api: Tenants, fields: dict[str, str], status: int, message: str
) -> None:
    body = {"name": "s", "image": "ingest", **fields}
    answer = api.http.post(
        "/v1/schedules",
        json=body,
        headers={"Authorization": api.acme._http.headers["authorization"]},
    )
    assert (answer.status_code, answer.headers["content-type"]) == (status, PROBLEM), answer.text
    assert message in answer.json()["detail"]
    assert api.acme.list_schedules() == []
