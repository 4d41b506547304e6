"""Issue 11 item 7 (memory): a workflow's memoryTier is the memory its instances get,
under `runtara run`, the process runner and the docker runner."""

from __future__ import annotations

import http.server
import io
import json
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.runtime.runners.base import LaunchSpec
from runtara.runtime.runners.resources import Limits
from runtara.runtime.runners.tiers import MIN_MEMORY_BYTES, tier_bytes
from tests.security.conftest import Secured

BODY_BYTES = 12 << 20  # fits a 16 MiB checkpoint; not a 64 MiB address space


@pytest.fixture(scope="module")
def big_response() -> Iterator[str]:
    """A local server answering 12 MiB of text."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(BODY_BYTES))
            self.end_headers()
            self.wfile.write(b"x" * BODY_BYTES)

        def log_message(self, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big"
    server.shutdown()
    server.server_close()


def workflow(url: str, tier: str | None) -> dict[str, object]:
    graph = {
        "name": "fetch",
        "steps": {
            "get": {
                "stepType": "Agent",
                "id": "get",
                "agentId": "http",
                "capabilityId": "http-request",
                "inputMapping": {
                    "url": {"valueType": "immediate", "value": url},
                    "response_type": {"valueType": "immediate", "value": "text"},
                    "max_response_bytes": {"valueType": "immediate", "value": 16 << 20},
                },
            },
            "done": {
                "stepType": "Finish",
                "id": "done",
                "inputMapping": {
                    "status": {"valueType": "reference", "value": "steps.get.outputs.status_code"}
                },
            },
        },
        "entryPoint": "get",
        "executionPlan": [{"fromStep": "get", "toStep": "done"}],
    }
    if tier is None:
        return graph
    return {"executionGraph": graph, "memoryTier": tier}


def run(tmp_path: Path, document: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(document))
    env = {k: v for k, v in os.environ.items() if k != "RUNTARA_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "runtara", "run", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_runtara_run_enforces_the_memory_tier(tmp_path: Path, big_response: str) -> None:
    small = run(tmp_path, workflow(big_response, "M"))
    assert small.returncode == 1, small.stderr
    assert "MemoryError" in small.stderr and "Traceback" not in small.stderr
    roomy = run(tmp_path, workflow(big_response, "L"))
    assert roomy.returncode == 0, roomy.stderr
    assert json.loads(roomy.stdout) == {"status": 200}


def test_tiers_are_floored_where_an_interpreter_cannot_start() -> None:
    assert tier_bytes("S") == MIN_MEMORY_BYTES == tier_bytes("M")
    assert tier_bytes("XL") == 256 << 20


@pytest.mark.parametrize(
    ("tier", "memory", "expected"),
    [("M", None, 64 << 20), (None, None, 256 << 20), ("XL", "100M", 100 << 20)],
)
def test_a_workflow_image_gets_its_tier_as_its_memory(
    secured: Secured, tier: str | None, memory: str | None, expected: int
) -> None:
    body: dict[str, object] = {"name": "flow", "workflow": workflow("http://127.0.0.1:9/", tier)}
    if memory:
        body["memory"] = memory
    with secured.tenant() as tenant:
        image = tenant.post("/v1/images", json=body)
    assert image.status_code == 201, image.text
    assert image.json()["limits"]["memory_bytes"] == expected


def test_an_image_may_not_ask_for_more_than_its_tier(secured: Secured) -> None:
    body = {"name": "flow", "workflow": workflow("http://127.0.0.1:9/", "L"), "memory": "1G"}
    with secured.tenant() as tenant:
        refused = tenant.post("/v1/images", json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "memory"
    assert "memoryTier L" in refused.json()["detail"]


def test_the_process_runner_enforces_the_tier(secured: Secured, big_response: str) -> None:
    with secured.tenant() as tenant:
        for tier in ("M", "XL"):
            made = tenant.post(
                "/v1/images",
                json={"name": f"fetch-{tier}", "workflow": workflow(big_response, tier)},
            )
            assert made.status_code == 201, made.text
            started = tenant.post(
                "/v1/instances",
                json={"image": f"fetch-{tier}", "id": f"i-{tier}", "input": {}, "max_attempts": 1},
            )
            assert started.status_code == 201, started.text
        from tests.support.polling import wait_status

        small = wait_status(tenant, "i-M", "completed", "failed")
        roomy = wait_status(tenant, "i-XL", "completed", "failed")
    assert small["status"] == "failed" and "MemoryError" in json.dumps(small["error"])
    assert roomy["status"] == "completed", roomy["error"]


@pytest.mark.docker
def test_an_oci_image_gets_its_label_tier_and_the_container_its_limit(secured: Secured) -> None:
    import docker

    from runtara.runtime.runners.docker import DockerRunner
    from tests.support.docker_image import build_test_image

    base = build_test_image()
    client = docker.from_env()
    dockerfile = f'FROM {base}\nLABEL dev.runtara.memory-tier="L"\n'.encode()
    built, _ = client.images.build(
        fileobj=io.BytesIO(dockerfile), tag="runtara-tier-test:l", rm=True
    )
    try:
        with secured.admin() as admin:
            admin.post("/v1/tenants", json={"id": "acme"})
            image = admin.post("/v1/images", json={"name": "boxed", "oci": "runtara-tier-test:l"})
        assert image.status_code == 201, image.text
        limits = Limits.from_dict(image.json()["limits"])
        assert limits.memory_bytes == 128 << 20
        spec = LaunchSpec("acme", "i", None, {}, limits=limits, image="runtara-tier-test:l")
        options = DockerRunner().run_options(spec)
        assert options["mem_limit"] == options["memswap_limit"] == 128 << 20
    finally:
        client.images.remove(built.id, force=True)


def test_a_native_binary_s_own_code_is_not_counted_against_its_tier(tmp_path: Path) -> None:
    """A compiled workflow maps its whole executable (interpreter and modules as code);
    the address-space limit adds that size, so it has the room the interpreted one has.
    Nothing else gets the allowance."""
    from runtara.runtime.runners.tiers import NATIVE_BINARY, program_allowance

    binary = tmp_path / NATIVE_BINARY
    binary.write_bytes(b"\0" * 12345)
    other = tmp_path / "python3"
    other.write_bytes(b"\0" * 12345)
    assert program_allowance(str(binary)) == 12345
    assert program_allowance(str(other)) == 0
    assert program_allowance(str(tmp_path / "missing" / NATIVE_BINARY)) == 0
