"""OpenTelemetry export: with OTEL_EXPORTER_OTLP_ENDPOINT set, ``runtara server`` sends
one trace per instance over OTLP/HTTP (a root span, a span per step, Split item and
sleep; retries and errors recorded), decoded here by a real receiver; secrets from
the input and the checkpoint states never appear in what is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from runtara.runtime.tracing import enabled_by_env, trace_ids
from tests.console.support import management, reference, register, start
from tests.support.polling import wait_status
from tests.support.run_processes import dev_server

SECRET = "s3cr3t-token-never-exported"

WORKFLOW: dict[str, Any] = {
    "name": "traced",
    "entryPoint": "hello",
    "steps": {
        "hello": {"stepType": "Log", "id": "hello", "message": "starting"},
        "each": {
            "stepType": "Split",
            "id": "each",
            "config": {"value": reference("data.items"), "sequential": True},
            "subgraph": {
                "entryPoint": "note",
                "steps": {
                    "note": {"stepType": "Log", "id": "note", "message": "one item"},
                    "kept": {
                        "stepType": "Finish",
                        "id": "kept",
                        "inputMapping": {"item": reference("data")},
                    },
                },
                "executionPlan": [{"fromStep": "note", "toStep": "kept"}],
            },
        },
        "nap": {
            "stepType": "Delay",
            "id": "nap",
            "durationMs": {"valueType": "immediate", "value": 50},
        },
        "call": {
            "stepType": "Agent",
            "id": "call",
            "agentId": "http",
            "capabilityId": "http-request",
            "maxRetries": 2,
            "retryDelay": 10,
            "inputMapping": {
                "url": {"valueType": "immediate", "value": "http://127.0.0.1:9/unreachable"}
            },
        },
        "recover": {"stepType": "Log", "id": "recover", "level": "warn", "message": "call failed"},
        "broken": {
            "stepType": "Error",
            "id": "broken",
            "category": "permanent",
            "code": "BROKEN",
            "message": "the workflow gave up",
        },
    },
    "executionPlan": [
        {"fromStep": "hello", "toStep": "each"},
        {"fromStep": "each", "toStep": "nap"},
        {"fromStep": "nap", "toStep": "call"},
        {"fromStep": "call", "toStep": "recover", "label": "onError"},
        {"fromStep": "recover", "toStep": "broken"},
    ],
}


class Receiver:
    """A real OTLP/HTTP trace receiver: decodes each export request's protobuf."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.raw = bytearray()
        self.paths: list[str] = []
        self.changed = threading.Condition()

    def spans(self) -> list[tuple[Any, Any]]:
        """(resource, span) of every span received."""
        with self.changed:
            return [
                (rs.resource, span)
                for request in self.requests
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def wait_for(self, test: Any, timeout: float = 60) -> list[tuple[Any, Any]]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not test(self.spans()):
                left = deadline - time.monotonic()
                assert left > 0, [s.name for _, s in self.spans()]
                self.changed.wait(left)
            return self.spans()


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            with receiver.changed:
                receiver.paths.append(self.path)
                receiver.raw.extend(body)
                receiver.requests.append(request)
                receiver.changed.notify_all()
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", receiver
    finally:
        server.shutdown()
        server.server_close()


def _attributes(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_one_trace_per_instance_with_a_span_per_step(tmp_path: Path) -> None:
    with (
        otlp_receiver() as (endpoint, receiver),
        dev_server(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
        ) as url,
    ):
        api = management(url)
        register(api, "traced", WORKFLOW)
        items = [{"n": 1, "token": SECRET}, {"n": 2, "token": SECRET}, {"n": 3, "token": SECRET}]
        instance_id = start(api, "traced", {"items": items, "api_token": SECRET})
        wait_status(api, instance_id, "failed")
        spans = receiver.wait_for(
            lambda found: any(s.name.startswith("instance ") for _, s in found)
        )

    assert set(receiver.paths) == {"/v1/traces"}
    resource = spans[0][0]
    assert {kv.key: kv.value.string_value for kv in resource.attributes}[
        "service.name"
    ] == "runtara"
    trace_id, root_id = trace_ids("default", instance_id)
    mine = [s for _, s in spans if s.trace_id == trace_id.to_bytes(16, "big")]
    assert len(mine) == len(spans)  # one trace: this instance's
    roots = [s for s in mine if not s.parent_span_id]
    assert len(roots) == 1
    root = roots[0]
    assert root.span_id == root_id.to_bytes(8, "big")
    assert root.name == "instance traced:1"
    assert _attributes(root)["runtara.instance.status"] == "failed"
    assert root.status.code == root.status.STATUS_CODE_ERROR
    assert "the workflow gave up" in root.status.message
    assert [e.name for e in root.events] == ["exception"]

    children = [s for s in mine if s.parent_span_id == root.span_id]
    assert len(children) == len(mine) - 1  # every other span hangs under the instance
    by_key = {_attributes(s)["runtara.checkpoint.key"]: s for s in children}
    hello = by_key["hello"]
    assert hello.name == "step hello"
    assert _attributes(hello) | {"runtara.checkpoint.size": 0} == {
        "runtara.tenant.id": "default",
        "runtara.instance.id": instance_id,
        "runtara.checkpoint.key": "hello",
        "runtara.checkpoint.size": 0,
        "runtara.step.id": "hello",
        "runtara.step.type": "Log",
        "runtara.step.attempt": 1,
    }
    for n in range(3):  # each Split item, and the step inside it, keyed by position
        item = _attributes(by_key[f"each/split[{n}]"])
        assert item["runtara.item.index"] == n and item["runtara.step.id"] == "each"
        assert item["runtara.step.type"] == "split item"
        inner = by_key[f"each/split[{n}]/note"]
        assert inner.name == "step note" and _attributes(inner)["runtara.step.type"] == "Log"
    assert _attributes(by_key["each"])["runtara.step.type"] == "Split"
    assert by_key["nap/sleep"].name == "sleep nap/sleep"
    # the failing call: its retries are events of its span, its failure an error
    call = by_key["call"]
    assert _attributes(call)["runtara.step.attempt"] == 3
    assert [e.name for e in call.events] == ["retry", "retry", "exception"]
    assert call.status.code == call.status.STATUS_CODE_ERROR
    assert by_key["recover"].status.code == call.status.STATUS_CODE_UNSET
    for span in mine:
        assert span.start_time_unix_nano <= span.end_time_unix_nano
        assert root.start_time_unix_nano <= span.start_time_unix_nano
    assert SECRET.encode() not in bytes(receiver.raw)


def test_off_unless_the_standard_variables_ask() -> None:
    assert not enabled_by_env({})
    assert enabled_by_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert enabled_by_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert not enabled_by_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_SDK_DISABLED": "true"}
    )
    assert not enabled_by_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_EXPORTER": "none"}
    )
