"""Native end to end: a compiled workflow under the real runtime and process runner.

One workflow calls a local HTTP server, sleeps durably (the process exits; the
scheduler starts it again) and then calls the server once per item in a Split. The
native binary must give the interpreted output, survive a durable sleep, and resume
after kill -9 without repeating a checkpointed call. Under the docker runner run that
workflow's image, a Python program's (``runtara compile orders.py``) and the SFTP
example's, which downloads from a real sshd with the tenant's stored connection.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runtara.compiler.native.workflow import read_build
from tests.support.native_builds import NativeCompiler
from tests.support.servers import Server, instance_pids, wait_for, wait_status
from tests.support.services import skip_missing

ROOT = Path(__file__).resolve().parents[3]


def _mapping(kind: str, value: Any) -> dict[str, Any]:
    return {"valueType": kind, "value": value}


WORKFLOW = {
    "name": "native-e2e",
    "inputSchema": {
        "base_url": {"type": "string", "required": True},
        "count": {"type": "integer", "required": True},
    },
    "entryPoint": "fetch",
    "steps": {
        "fetch": {
            "stepType": "Agent",
            "id": "fetch",
            "agentId": "http",
            "capabilityId": "http-request",
            "inputMapping": {
                "method": _mapping("immediate", "GET"),
                "url": _mapping("template", "{{ data.base_url }}/items?count={{ data.count }}"),
            },
        },
        "pause": {
            "stepType": "Delay",
            "id": "pause",
            "durationMs": _mapping("immediate", 1500),
            "durable": True,
        },
        "each": {
            "stepType": "Split",
            "id": "each",
            "config": {
                "value": _mapping("reference", "steps.fetch.outputs.body.items"),
                "parallelism": 1,
                "variables": {"base_url": _mapping("reference", "data.base_url")},
            },
            "subgraph": {
                "entryPoint": "call",
                "steps": {
                    "call": {
                        "stepType": "Agent",
                        "id": "call",
                        "agentId": "http",
                        "capabilityId": "http-request",
                        "inputMapping": {
                            "method": _mapping("immediate", "POST"),
                            "url": _mapping(
                                "template", "{{ variables.base_url }}/items/{{ data.id }}"
                            ),
                        },
                    },
                    "ok": {
                        "stepType": "Finish",
                        "id": "ok",
                        "inputMapping": {
                            "id": _mapping("reference", "data.id"),
                            "echo": _mapping("reference", "steps.call.outputs.body.echo"),
                        },
                    },
                },
                "executionPlan": [{"fromStep": "call", "toStep": "ok"}],
            },
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {
                "source": _mapping("reference", "steps.fetch.outputs.body.source"),
                "results": _mapping("reference", "steps.each.outputs"),
            },
        },
    },
    "executionPlan": [
        {"fromStep": "fetch", "toStep": "pause"},
        {"fromStep": "pause", "toStep": "each"},
        {"fromStep": "each", "toStep": "done"},
    ],
}


class ItemsApi:
    """A local HTTP API: ``GET /items`` lists items, ``POST /items/N`` is the side effect
    (slow enough to be killed in the middle of a Split), counted per item."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.posts: Counter[int] = Counter()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                count = int(self.path.partition("count=")[2] or 0)
                self._json({"source": "items-api", "items": [{"id": n} for n in range(count)]})

            def do_POST(self) -> None:
                item = int(self.path.rsplit("/", 1)[1])
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.posts[item] += 1
                time.sleep(api.delay)
                self._json({"echo": item})

            def _json(self, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ItemsApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _runtara(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.fixture(scope="module")
def compiled(native_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("e2e")
    source = directory / "native-e2e.json"
    source.write_text(json.dumps(WORKFLOW))
    result = _runtara(
        "compile", str(source), "-o", str(directory / "out"), cwd=directory,
        env={"RUNTARA_CACHE_DIR": str(native_cache)},
    )  # fmt: skip
    if "Nuitka is not installed" in result.stderr or "no C compiler" in result.stderr:
        skip_missing("native toolchain", result.stderr.strip())
    assert result.returncode == 0, result.stderr
    return directory / "out"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        f"sqlite:///{tmp_path / 'runtara.db'}",
        tmp_path / "data",
        server_id="native",
        env={"PYTHONPATH": str(ROOT)},
    ).start()
    try:
        yield running
    finally:
        running.stop()


def _register_native(server: Server, compiled: Path) -> None:
    binary = compiled / read_build(compiled).binary
    with server.client() as client:
        client.register_image("native-e2e", command=str(binary))


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_native_run_with_durable_sleep_gives_the_interpreted_output(
    compiled: Path, server: Server, tmp_path: Path
) -> None:
    _register_native(server, compiled)
    with ItemsApi(delay=0) as api:
        data = {"base_url": api.url, "count": 5}
        with server.client() as client:
            client.start_instance("native-e2e", data, instance_id="durable-1")
            done = wait_status(client, "durable-1", "completed", "failed", timeout=120)
            assert done["status"] == "completed", done
            launches = client.list_events("durable-1", event_type="launched")
        native_posts = dict(api.posts)
        api.posts.clear()
        workflow = tmp_path / "native-e2e.json"
        workflow.write_text(json.dumps(WORKFLOW))
        interpreted = _runtara("run", str(workflow), "--input", json.dumps(data), cwd=tmp_path)
    assert interpreted.returncode == 0, interpreted.stderr
    assert done["output"] == json.loads(interpreted.stdout)
    assert done["output"]["source"] == "items-api"
    assert native_posts == {n: 1 for n in range(5)}
    assert len(launches) >= 2, "the durable delay did not end the process"


@pytest.mark.native
@pytest.mark.timeout(1200)
def test_kill_9_of_the_native_binary_resumes_without_repeating_calls(
    compiled: Path, server: Server
) -> None:
    _register_native(server, compiled)
    count = 30
    with ItemsApi(delay=0.1) as api, server.client() as client:
        client.start_instance("native-e2e", {"base_url": api.url, "count": count}, instance_id="k9")
        wait_for(lambda: len(api.posts) >= 8, timeout=60, what="eight calls")
        (pid,) = instance_pids("k9")
        os.kill(pid, signal.SIGKILL)
        done = wait_status(client, "k9", "completed", "failed", timeout=120)
        assert done["status"] == "completed", done
        crashed = client.list_events("k9", event_type="crashed")
    assert crashed, "the runner did not notice the kill"
    assert set(api.posts) == set(range(count))
    repeated = [item for item, calls in api.posts.items() if calls > 1]
    # only the call in flight when the process died may run again (its checkpoint was
    # not written yet); a checkpointed call never does
    assert len(repeated) <= 1 and max(api.posts.values()) <= 2
    assert [r["echo"] for r in done["output"]["results"]] == list(range(count))


@pytest.mark.native
@pytest.mark.docker
@pytest.mark.timeout(1200)
def test_the_compiled_image_runs_under_the_docker_runner(
    compiled: Path, server: Server, tmp_path: Path
) -> None:
    """``images register NAME --oci DIR/image.tar`` + ``instances start``: same output."""
    docker = pytest.importorskip("docker")
    build = read_build(compiled)
    with server.client() as client:
        client.register_image("native-e2e-oci", oci=str(compiled / build.image))
    try:
        with ItemsApi(delay=0) as api, server.client() as client:
            data = {"base_url": api.url, "count": 3}
            client.start_instance("native-e2e-oci", data, instance_id="oci-1")
            done = wait_status(client, "oci-1", "completed", "failed", timeout=120)
            assert done["status"] == "completed", done
            workflow = tmp_path / "native-e2e.json"
            workflow.write_text(json.dumps(WORKFLOW))
            interpreted = _runtara("run", str(workflow), "--input", json.dumps(data), cwd=tmp_path)
        assert interpreted.returncode == 0, interpreted.stderr
        assert done["output"] == json.loads(interpreted.stdout)
    finally:
        docker.from_env().images.remove(build.image_config_digest, force=True)


ORDERS = ROOT / "tests" / "support" / "programs" / "orders.py"


@pytest.mark.native
@pytest.mark.docker
@pytest.mark.timeout(1500)
def test_a_python_workflow_compiles_and_runs_under_both_runners(
    native_compiler: NativeCompiler, server: Server
) -> None:
    """``runtara compile orders.py`` (a program against ``runtara.sdk``): its binary under
    the process runner and its image under the docker runner give the output of the
    program itself under Python, each through a durable sleep that ends the process."""
    docker = pytest.importorskip("docker")
    compiled = native_compiler(ORDERS)
    build = read_build(compiled)
    assert (build.workflow, build.tag, build.source) == ("orders", "orders:latest", "orders.py")
    data = {"count": 6, "sleep_s": 0.5}
    outputs = {}
    try:
        with server.client() as client:
            client.register_image("orders-python", command=[sys.executable, str(ORDERS)])
            client.register_image("orders-native", command=str(compiled / build.binary))
            client.register_image("orders-oci", oci=str(compiled / build.image))
            for image in ("orders-python", "orders-native", "orders-oci"):
                client.start_instance(image, data, instance_id=image)
            for image in ("orders-python", "orders-native", "orders-oci"):
                done = wait_status(client, image, "completed", "failed", timeout=180)
                assert done["status"] == "completed", (image, done)
                outputs[image] = done["output"]
                launches = client.list_events(image, event_type="launched")
                assert len(launches) >= 2, f"{image}: the durable sleep did not end the process"
    finally:
        _remove_image(docker, build.image_config_digest)
    assert outputs["orders-python"] == {"orders": 6, "cents": 2100}
    assert outputs["orders-native"] == outputs["orders-python"]
    assert outputs["orders-oci"] == outputs["orders-python"]


CSV = (
    "E-mail;First name;Last name;Company\nADA@Example.com;Ada;Lovelace;Engines\nbad;Bob;Bad;None\n"
)


@pytest.mark.native
@pytest.mark.docker
@pytest.mark.sshd
@pytest.mark.timeout(1500)
def test_the_sftp_workflow_image_runs_under_the_docker_runner(
    native_compiler: NativeCompiler, server: Server, tmp_path: Path
) -> None:
    """``examples/csv_batch.json`` compiled (paramiko in the image) downloads from a real
    sshd with the tenant's stored connection, inside a container of the docker runner."""
    docker = pytest.importorskip("docker")
    from tests.support import sshd

    reason = sshd.available()
    if reason:
        skip_missing("sshd", reason)
    compiled = native_compiler(ROOT / "examples" / "csv_batch.json")
    build = read_build(compiled)
    (tmp_path / "sshd").mkdir()
    crm = Crm()
    try:
        with sshd.running_sshd(tmp_path / "sshd") as sftp, crm, server.client() as client:
            contacts = sftp.root / "contacts.csv"
            contacts.write_text(CSV)
            user = pwd.getpwnam(sftp.username)
            os.chown(contacts, user.pw_uid, user.pw_gid)
            parameters: Any = sftp.connection()["parameters"]
            client.create_connection("partner-sftp", "sftp", parameters)
            client.create_connection(
                "crm-api", "http_bearer", {"token": Crm.TOKEN, "base_url": crm.url}
            )
            client.register_image("csv-batch-oci", oci=str(compiled / build.image))
            data = {"api_base_url": crm.url, "remote_path": str(contacts)}
            client.start_instance("csv-batch-oci", data, instance_id="csv-1")
            done = wait_status(client, "csv-1", "completed", "failed", timeout=180)
    finally:
        _remove_image(docker, build.image_config_digest)
    assert done["status"] == "completed", done
    assert (done["output"]["imported"], done["output"]["failed"]) == (1, 1)
    assert crm.created == [
        {
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Engines",
            "source_row": 0,
        }
    ]


class Crm:
    """The CRM of ``csv_batch``: ``POST /contacts`` with the bearer token; an e-mail
    without ``@`` is refused (422), the others are recorded."""

    TOKEN = "crm-t0ken"

    def __init__(self) -> None:
        self.created: list[Any] = []
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if self.path != "/contacts" or (
                    self.headers.get("Authorization") != f"Bearer {Crm.TOKEN}"
                ):
                    self._json(404 if self.path != "/contacts" else 401, {"error": "no"})
                elif "@" not in str(body.get("email")):
                    self._json(422, {"error": "invalid email"})
                else:
                    crm.created.append(body)
                    self._json(201, {"id": f"c{len(crm.created)}"})

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Crm:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _remove_image(docker: Any, image_id: str) -> None:
    """Remove the image the docker runner loaded (none if the test failed before), once
    its last container is gone: an instance is ``completed`` before its process exits,
    and the runner removes the container after that."""
    client = docker.from_env()

    def removed() -> bool:
        try:
            client.images.remove(image_id, force=True)
        except docker.errors.ImageNotFound:
            return True
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # still used by a container on its way out
                return False
            raise
        return True

    wait_for(removed, 60, what=f"the image {image_id[:19]} to be removable")
