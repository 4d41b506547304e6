"""The HTTP service over real sockets: problem documents, auth, idempotency, tenancy."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.store import instances, open_store, tenants

PROBLEM = "application/problem+json"


@pytest.fixture
def dev(db_url: str) -> Iterator[httpx.Client]:
    with EmbeddedRuntime(db_url) as runtime, httpx.Client(base_url=runtime.url) as http:
        yield http


def test_health_and_openapi(dev: httpx.Client) -> None:
    assert dev.get("/health").json()["status"] == "ok"
    paths = dev.get("/openapi.json").json()["paths"]
    assert "/v1/instance/{tenant_id}/{instance_id}/checkpoints/{key}" in paths
    assert "/v1/instances/{instance_id}/pause" in paths


def test_errors_are_problem_documents(dev: httpx.Client) -> None:
    missing = dev.get("/v1/instances/nope")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert missing.json()["detail"] == "instance 'nope' not found in tenant 'default'"
    invalid = dev.post("/v1/instance/t/i/sleep", json={"key": "s", "duration_ms": -1})
    assert invalid.status_code == 422 and invalid.headers["content-type"] == PROBLEM
    assert invalid.json()["errors"][0]["location"] == "duration_ms"
    malformed = dev.post(
        "/v1/instance/t/i/sleep", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422 and malformed.headers["content-type"] == PROBLEM
    assert malformed.json()["detail"] == (
        "body: malformed JSON at character 1: Expecting property name enclosed in double quotes"
    )
    dev.post("/v1/instance/t/i/register")
    dev.post("/v1/instance/t/i/completed", json={"output": 1})
    again = dev.post("/v1/instance/t/i/completed", json={"output": 2})
    assert again.status_code == 409 and "completed" in again.json()["detail"]
    bad_id = dev.post("/v1/tenants", json={"id": "bad id"})
    assert bad_id.json()["detail"] == (
        "id: must start with a letter or digit and contain only letters, digits, '.', '_' and '-'"
    )
    unknown_route = dev.get("/v2/nothing")
    assert unknown_route.status_code == 404 and unknown_route.headers["content-type"] == PROBLEM


def test_a_repeated_request_is_answered_as_saved(dev: httpx.Client) -> None:
    dev.post("/v1/instance/t/i/register")
    url = "/v1/instance/t/i/checkpoints/order%2F1"
    first = dev.post(url, content=b"a", headers={"idempotency-key": "req-1"})
    repeat = dev.post(url, content=b"a", headers={"idempotency-key": "req-1"})
    other = dev.post(url, content=b"b", headers={"idempotency-key": "req-2"})
    assert [first.json()["found"], repeat.json()["found"], other.json()["found"]] == [
        False,
        False,
        True,
    ]
    assert (
        dev.get("/v1/instances/i/checkpoints/order%2F1", headers={"x-runtara-tenant": "t"}).content
        == b"a"
    )


def test_concurrent_duplicate_checkpoints_over_http_store_one(dev: httpx.Client) -> None:
    dev.post("/v1/instance/t/i/register")
    answers: list[bool] = []

    def save(n: int) -> None:
        with httpx.Client(base_url=str(dev.base_url)) as own:
            answers.append(
                own.post("/v1/instance/t/i/checkpoints/same", content=str(n).encode()).json()[
                    "found"
                ]
            )

    threads = [threading.Thread(target=save, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [False] + [True] * 11
    listed = dev.get("/v1/instances/i/checkpoints", headers={"x-runtara-tenant": "t"}).json()
    assert len(listed["checkpoints"]) == 1


def test_outside_dev_mode_tokens_and_keys_are_required(db_url: str) -> None:
    with open_store(db_url) as store:
        created = store.run(instances.create_instance, "acme", "job-1", input={"n": 1})
        sibling = store.run(instances.create_instance, "acme", "job-2")
        key_a = store.run(tenants.create_api_key, "acme").key
        store.run(tenants.create_tenant, "other")
        key_b = store.run(tenants.create_api_key, "other").key
    with EmbeddedRuntime(db_url, dev=False) as runtime, httpx.Client(base_url=runtime.url) as http:
        assert http.post("/v1/instance/acme/job-1/register").status_code == 401
        assert http.post("/v1/instance/acme/self/register").status_code == 404
        wrong = http.post(
            "/v1/instance/acme/job-1/register", headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        borrowed = http.post(
            "/v1/instance/acme/job-1/register", headers={"authorization": f"Bearer {sibling.token}"}
        )
        assert borrowed.status_code == 401  # a valid token, but of another instance
        ok = http.post(
            "/v1/instance/acme/job-1/register", headers={"authorization": f"Bearer {created.token}"}
        )
        assert ok.json()["input"] == {"n": 1}

        assert http.get("/v1/instances/job-1").status_code == 401
        mine = http.get("/v1/instances/job-1", headers={"authorization": f"Bearer {key_a}"})
        assert mine.json()["status"] == "running"
        theirs = http.get("/v1/instances/job-1", headers={"authorization": f"Bearer {key_b}"})
        assert theirs.status_code == 404
        assert (
            http.post(
                "/v1/instances/job-1/cancel", headers={"authorization": f"Bearer {key_b}"}
            ).status_code
            == 404
        )
        spoof = http.get(
            "/v1/instances/job-1",
            headers={"authorization": f"Bearer {key_b}", "x-runtara-tenant": "acme"},
        )
        assert spoof.status_code == 403


def test_metrics_count_checkpoints_and_instances(dev: httpx.Client) -> None:
    dev.post("/v1/instance/t/i/register")
    dev.post("/v1/instance/t/i/checkpoints/a", content=b"1")
    dev.post("/v1/instance/t/i/checkpoints/a", content=b"1")
    dev.post("/v1/instance/t/i/checkpoints/b", content=b"2")
    text = dev.get("/metrics").text
    assert 'runtara_checkpoints_total{outcome="saved"} 2.0' in text
    assert 'runtara_checkpoints_total{outcome="found"} 1.0' in text
    assert 'runtara_instances{status="running"} 1.0' in text
    assert 'runtara_instances{status="completed"} 0.0' in text


def test_values_no_database_can_store_are_refused_alike(dev: httpx.Client) -> None:
    """NUL characters and out-of-range numbers get a 422 on SQLite and PostgreSQL alike."""
    dev.post("/v1/instance/t/i/register")
    refused = [
        dev.post("/v1/instance/t/i/checkpoints/a%00b", content=b"x"),
        dev.post("/v1/instance/t/i/events", json={"events": [{"subtype": "a\u0000b"}]}),
        dev.post("/v1/instance/t/i/sleep", json={"key": "s", "duration_ms": 10**30}),
        dev.post(
            "/v1/instances/i/signals",
            json={"checkpoint_id": "\u0000"},
            headers={"x-runtara-tenant": "t"},
        ),
        dev.get(
            "/v1/instances/i/events", params={"after": 10**30}, headers={"x-runtara-tenant": "t"}
        ),
    ]
    assert [(r.status_code, r.headers["content-type"]) for r in refused] == [(422, PROBLEM)] * 5
    too_long = dev.post("/v1/instance/t/i/checkpoints/" + "k" * 1001, content=b"x")
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == "a checkpoint key has at most 1000 characters"
    assert dev.post("/v1/instance/t/i/checkpoints/" + "k" * 1000, content=b"x").status_code == 200


def test_times_beyond_the_year_9999_are_refused_not_stored(dev: httpx.Client) -> None:
    """Every stored time is shown as an ISO date; one past 9999 would break the listings."""
    dev.post("/v1/instance/t/i/register")
    late = {"events": [{"subtype": "late", "timestamp_ms": 253_402_300_800_000}]}
    assert dev.post("/v1/instance/t/i/events", json=late).status_code == 422
    endless = {"key": "s", "duration_ms": 1001 * 365 * 24 * 3600 * 1000}
    assert dev.post("/v1/instance/t/i/sleep", json=endless).status_code == 422
    last = {"events": [{"subtype": "last", "timestamp_ms": 253_402_300_799_999}]}
    assert dev.post("/v1/instance/t/i/events", json=last).status_code < 300
    listed = dev.get("/v1/instances/i/events", headers={"x-runtara-tenant": "t"})
    assert listed.status_code == 200
    assert listed.json()["events"][-1]["created_at"] == "9999-12-31T23:59:59.999Z"
    assert dev.post("/v1/instance/t/i/checkpoints/fine", content=b"x").json()["found"] is False


def test_json_nested_deeper_than_the_api_can_show_is_refused(dev: httpx.Client) -> None:
    """A stored value must come back: pydantic cannot serialize beyond about 255 levels."""
    dev.post("/v1/instance/t/i/register")
    headers = {"content-type": "application/json", "x-runtara-tenant": "t"}
    deep = "[" * 201 + "]" * 201
    refused = [
        dev.post(
            "/v1/instance/t/i/events",
            content=f'{{"events": [{{"payload": {deep}}}]}}',
            headers=headers,
        ),
        dev.post(
            "/v1/instances/i/signals",
            content=f'{{"checkpoint_id": "s", "payload": {deep}}}',
            headers=headers,
        ),
        dev.post("/v1/instance/t/i/failed", content=f'{{"error": {deep}}}', headers=headers),
        dev.post("/v1/instance/t/i/completed", content=f'{{"output": {deep}}}', headers=headers),
        dev.post("/v1/instances", content=f'{{"image": "any", "input": {deep}}}', headers=headers),
    ]
    for answer in refused:
        assert answer.status_code == 422 and "nested more than 200 levels" in answer.text
    fine = "[" * 200 + "]" * 200
    assert dev.post(
        "/v1/instance/t/i/completed", content=f'{{"output": {fine}}}', headers=headers
    ).is_success
    assert dev.get("/v1/instances/i", headers={"x-runtara-tenant": "t"}).status_code == 200


def test_an_oversized_chunked_body_is_a_413_on_every_endpoint(dev: httpx.Client) -> None:
    """Without Content-Length the size is only known while reading: still a 413."""
    dev.post("/v1/instance/t/i/register")

    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b"x" * (1024 * 1024)

    for path in ("/v1/instance/t/i/checkpoints/a", "/v1/instance/t/i/events"):
        answer = dev.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert (answer.status_code, answer.headers["content-type"]) == (413, PROBLEM)
        assert "exceeds the limit of 16777216 bytes" in answer.json()["detail"]


def test_a_checkpoint_whose_sender_dies_mid_body_is_not_saved(dev: httpx.Client) -> None:
    """An instance killed while sending a checkpoint must not leave a truncated state
    that its rerun would take as "already done" (seen as an empty state after kill -9)."""
    dev.post("/v1/instance/t/i/register")
    url = httpx.URL(str(dev.base_url))
    body = b'{"order": 42, "padding": "' + b"x" * 4000 + b'"}'
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(
            b"POST /v1/instance/t/i/checkpoints/half HTTP/1.1\r\n"
            + f"Host: {url.host}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:100]
        )
        time.sleep(0.2)  # the server now waits for the rest of the body
    time.sleep(0.5)  # ... and sees the connection close instead
    assert dev.get("/v1/instance/t/i/checkpoints/half").json()["found"] is False
    saved = dev.post(
        "/v1/instance/t/i/checkpoints/half",
        content=body,
        headers={"content-type": "application/json"},
    ).json()
    assert saved["found"] is False
    again = dev.post("/v1/instance/t/i/checkpoints/half", content=b"{}").json()
    assert again["found"] is True
    assert json.loads(base64.b64decode(again["state"]))["order"] == 42
