"""Issue 11 items 4 and 6: a lone surrogate, NaN or Infinity, or JSON nested too deep is
refused at the door (422 naming the JSON path) wherever a value is stored; one bad row
stored before never fails a listing; lists answer summaries of a bounded page size."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.store import events, instances, open_store
from tests.support.databases import DIALECTS, database_url

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


@pytest.fixture(params=DIALECTS)
def dev(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    with (
        database_url(request.param, tmp_path) as url,
        EmbeddedRuntime(url) as runtime,
        httpx.Client(base_url=runtime.url, headers={"x-runtara-tenant": "t"}, timeout=60) as http,
    ):
        yield http, url


def refused_at(answer: httpx.Response, location: str) -> str:
    """The 422 problem's detail, once it names ``location``."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    locations = [e["location"] for e in answer.json().get("errors", [])]
    assert location in locations or location in answer.json()["detail"], answer.json()
    return str(answer.json()["detail"])


#: Raw JSON text: json.dumps would never write these.
HOSTILE = {
    "surrogate": '"\\ud800"',
    "low surrogate": '"ok \\udfff"',
    "nan": "NaN",
    "infinity": "Infinity",
    "minus infinity": "-Infinity",
}


@pytest.mark.parametrize("bad", list(HOSTILE.values()), ids=list(HOSTILE))
def test_outputs_errors_events_and_signals_refuse_unstorable_values(
    dev: tuple[httpx.Client, str], bad: str
) -> None:
    http, _ = dev
    http.post("/v1/instance/t/i/register")
    base = "/v1/instance/t/i"
    output = http.post(
        f"{base}/completed", content=f'{{"output": {{"rows": [1, {bad}]}}}}', headers=JSON
    )
    refused_at(output, "output.rows[1]")
    error = http.post(f"{base}/failed", content=f'{{"error": {{"why": {bad}}}}}', headers=JSON)
    refused_at(error, "error.why")
    event = http.post(
        f"{base}/events", content=f'{{"events": [{{"payload": {{"k": {bad}}}}}]}}', headers=JSON
    )
    refused_at(event, "events.0.payload.k")
    signal = http.post(
        "/v1/instances/i/signals",
        content=f'{{"checkpoint_id": "wait", "payload": {{"odd key": [{bad}]}}}}',
        headers=JSON,
    )
    refused_at(signal, 'payload["odd key"][0]')
    assert http.get("/v1/instances/i").json()["status"] == "running"  # nothing half-written


@pytest.mark.parametrize("bad", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_json_checkpoint_refuses_unstorable_values_on_the_fast_path(
    dev: tuple[httpx.Client, str], bad: str
) -> None:
    http, _ = dev
    http.post("/v1/instance/t/i/register")
    saved = http.post(
        "/v1/instance/t/i/checkpoints/step-1", content=f'{{"items": [{bad}]}}', headers=JSON
    )
    assert "$.items[0]" in refused_at(saved, "$.items[0]")
    assert http.get("/v1/instances/i/checkpoints").json()["checkpoints"] == []
    # The same bytes as opaque data are the instance's business.
    raw = http.post(
        "/v1/instance/t/i/checkpoints/step-1",
        content=f'{{"items": [{bad}]}}',
        headers={"content-type": "application/octet-stream"},
    )
    assert raw.status_code == 200 and raw.json()["found"] is False


def test_a_json_checkpoint_must_be_json(dev: tuple[httpx.Client, str]) -> None:
    http, _ = dev
    http.post("/v1/instance/t/i/register")
    for body in (b"\xff\xfe", b"{oops", b"[" * 5000 + b"]" * 5000):
        answer = http.post("/v1/instance/t/i/checkpoints/k", content=body, headers=JSON)
        assert answer.status_code == 422, (body[:10], answer.text)


def test_json_nested_deeper_than_the_parser_goes_is_a_422(dev: tuple[httpx.Client, str]) -> None:
    http, _ = dev
    http.post("/v1/instance/t/i/register")
    deep = "[" * 5000 + "]" * 5000
    answer = http.post("/v1/instance/t/i/completed", content=f'{{"output": {deep}}}', headers=JSON)
    assert "nested more than" in refused_at(answer, "body")
    invalid_utf8 = http.post(
        "/v1/instance/t/i/completed", content=b'{"output": "\xff"}', headers=JSON
    )
    refused_at(invalid_utf8, "body")


def test_a_bad_row_stored_before_never_fails_a_listing(dev: tuple[httpx.Client, str]) -> None:
    http, url = dev
    with open_store(url) as store:
        store.run(instances.create_instance, "t", "good", input={"n": 1})
        # What an older server let in (the store takes it; the door now refuses it).
        store.run(
            instances.create_instance, "t", "bad", input={"name": "x\ud800", "n": float("nan")}
        )
    listed = http.get("/v1/instances")
    assert listed.status_code == 200, listed.text
    assert {i["id"] for i in listed.json()["instances"]} == {"good", "bad"}
    shown = http.get("/v1/instances/bad")
    assert shown.status_code == 200
    assert shown.json()["input"] == {"name": "x\ufffd", "n": None}
    assert http.get("/v1/instances/good").json()["input"] == {"n": 1}


def test_an_event_stored_before_with_a_bad_payload_does_not_fail_its_page(
    dev: tuple[httpx.Client, str],
) -> None:
    http, url = dev
    with open_store(url) as store:
        store.run(instances.create_instance, "t", "i")
        store.db.write(lambda tx: events.record(tx, "t", "i", "custom", payload={"v": "\udc00"}))
    page = http.get("/v1/instances/i/events")
    assert page.status_code == 200, page.text
    assert {"v": "\ufffd"} in [e["payload"] for e in page.json()["events"]]


def test_lists_answer_summaries_and_say_their_page_size(dev: tuple[httpx.Client, str]) -> None:
    http, url = dev
    big = {"blob": "x" * (2 * 1024 * 1024)}
    with open_store(url) as store:
        for n in range(3):
            store.run(instances.create_instance, "t", f"big-{n}", input=big)
    page = http.get("/v1/instances", params={"limit": 50})
    assert page.status_code == 200
    assert len(page.content) < 10_000, "a page of summaries stays small"
    for summary in page.json()["instances"]:
        assert not {"input", "output", "error"} & set(summary)
    assert http.get("/v1/instances/big-0").json()["input"] == big
    too_many = http.get("/v1/instances", params={"limit": 1001})
    assert too_many.status_code == 422 and "limit" in too_many.json()["detail"]
    documented = http.get("/openapi.json").json()["paths"]["/v1/instances"]["get"]["parameters"]
    limit = next(p for p in documented if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000 and "1000" in limit["description"]
    assert json.dumps(limit)
