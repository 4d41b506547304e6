"""The docker runner against the real Docker engine: the same scenarios, with containers."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.servers import Server, wait_for, wait_status

pytestmark = pytest.mark.docker

#: Labels every container of this test process; teardown removes what is left.
SERVER_ID = f"d-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def base_image() -> str:
    from tests.support.docker_image import build_test_image

    return build_test_image()


@pytest.fixture
def docker_server(sqlite_url: str, tmp_path: Path, base_image: str) -> Iterator[Server]:
    server_id = SERVER_ID
    running = Server(sqlite_url, tmp_path / "data", server_id=server_id).start()
    with running.client() as client:
        client.register_image(
            "worker",
            command="python3 /app/worker.py",
            base_image=base_image,
            memory="256M",
            cpus=0.5,
        )
    try:
        yield running
    finally:
        running.stop()
        remove_containers(server_id)  # whatever a failed test left running


def containers(instance_id: str) -> list[str]:
    """Ids of the instance's containers, running or not (one list call: no race)."""
    labels = [f"dev.runtara.instance={instance_id}", f"dev.runtara.server={SERVER_ID}"]
    found = docker.from_env().api.containers(all=True, filters={"label": labels})
    return [c["Id"] for c in found]


def remove_containers(server_id: str) -> None:
    api = docker.from_env().api
    for found in api.containers(all=True, filters={"label": f"dev.runtara.server={server_id}"}):
        with contextlib.suppress(docker.errors.APIError):  # gone, or going already
            api.remove_container(found["Id"], force=True)


def steps(client: Any, instance_id: str) -> list[str]:
    """Checkpoint ids saved, in order (the container writes no files on the host)."""
    return [c["checkpoint_id"] for c in client.list_checkpoints(instance_id, limit=1000)]


def test_a_container_runs_locked_down_and_completes(docker_server: Server) -> None:
    with docker_server.client() as client:
        client.start_instance(
            "worker", {"items": 100, "effects": "/tmp/e", "delay": 0.05}, instance_id="c1"
        )
        (container_id,) = wait_for(lambda: containers("c1"), what="the container")
        container = docker.from_env().containers.get(container_id)
        host = container.attrs["HostConfig"]
        assert host["Memory"] == 256 << 20 and host["NanoCpus"] == 500_000_000
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"] and host["PidsLimit"] == 256
        assert container.labels["dev.runtara.tenant"] == "t1"
        done = wait_status(client, "c1", "completed", "failed", timeout=60)
        assert done["status"] == "completed", done
        wait_for(lambda: not containers("c1"), timeout=10, what="the container to be removed")
        lines = [x["line"] for x in client.read_logs("c1")["lines"]]
        process = client.process_info("c1")
    assert "started c1" in lines and "a line on stderr" in lines
    assert process["limits"]["cap_drop"] == "ALL"
    assert process["peak_memory_bytes"] and process["peak_memory_bytes"] > 1_000_000


def test_a_killed_container_is_restarted_and_no_step_runs_twice(docker_server: Server) -> None:
    with docker_server.client() as client:
        client.start_instance(
            "worker", {"items": 40, "effects": "/tmp/e", "delay": 0.05}, instance_id="c2"
        )
        wait_for(lambda: len(steps(client, "c2")) >= 10, what="ten steps")
        (container_id,) = containers("c2")
        docker.from_env().api.kill(container_id)  # SIGKILL
        done = wait_status(client, "c2", "completed", "failed", timeout=60)
        assert done["status"] == "completed", done
        assert len(client.list_events("c2", event_type="crashed")) == 1
        saved = steps(client, "c2")
    assert saved == [f"item-{i}" for i in range(40)]


def test_a_durable_sleep_holds_no_container_and_survives_a_server_restart(
    docker_server: Server,
) -> None:
    with docker_server.client() as client:
        client.start_instance(
            "worker",
            {"items": 3, "effects": "/tmp/e", "sleep_at": 1, "sleep_s": 3},
            instance_id="c3",
        )
        wait_status(client, "c3", "sleeping", timeout=30)
        wait_for(lambda: not containers("c3"), timeout=10, what="the container to go")
    docker_server.kill()  # and the server dies during the sleep
    assert containers("c3") == []
    docker_server.start()
    with docker_server.client() as client:
        done = wait_status(client, "c3", "completed", "failed", timeout=30)
        saved = steps(client, "c3")
    assert done["status"] == "completed"
    assert saved == ["item-0", "nap", "item-1", "item-2"]


def test_pause_resume_and_cancel_with_containers(docker_server: Server) -> None:
    with docker_server.client() as client:
        client.start_instance(
            "worker", {"items": 300, "effects": "/tmp/e", "delay": 0.005}, instance_id="c4"
        )
        wait_for(lambda: len(steps(client, "c4")) >= 20, timeout=30, what="twenty steps")
        client.pause_instance("c4")
        wait_status(client, "c4", "suspended", timeout=30)
        wait_for(lambda: not containers("c4"), timeout=10, what="the container to go")
        client.resume_instance("c4")
        assert wait_status(client, "c4", "completed", "failed", timeout=60)["status"] == "completed"
        assert steps(client, "c4") == [f"item-{i}" for i in range(300)]

        client.start_instance(
            "worker", {"items": 1000, "effects": "/tmp/e", "delay": 0.01}, instance_id="c5"
        )
        wait_for(lambda: steps(client, "c5"), timeout=30, what="a first step")
        client.cancel_instance("c5")
        assert (
            wait_status(client, "c5", "cancelled", "completed", timeout=30)["status"] == "cancelled"
        )
        wait_for(lambda: not containers("c5"), timeout=15, what="no container left")


def test_an_oci_image_archive_runs_with_its_entry_point(
    docker_server: Server, base_image: str, tmp_path: Path
) -> None:
    engine = docker.from_env()
    tag = f"runtara-test-entry:{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {base_image}\nENTRYPOINT ["python3", "/app/worker.py"]\n'
    engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:
        for chunk in engine.images.get(tag).save(named=True):
            out.write(chunk)
    engine.images.remove(tag)  # the server must load it from the archive
    try:
        with docker_server.client() as client:
            image = client.register_image("packaged", oci=str(archive))
            assert (image["kind"], image["runner"]) == ("oci", "docker")
            assert image["digest"].startswith("sha256:")
            client.start_instance("packaged", {"items": 2, "effects": "/tmp/e"}, instance_id="oci")
            done = wait_status(client, "oci", "completed", "failed", timeout=60)
        assert done["status"] == "completed", done
        wait_for(lambda: not containers("oci"), timeout=15, what="the container to be removed")
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.images.remove(tag, force=True)


def test_a_container_overrunning_its_timeout_is_killed(
    docker_server: Server, base_image: str
) -> None:
    with docker_server.client() as client:
        client.register_image(
            "slow", command="python3 /app/worker.py", base_image=base_image, timeout=2
        )
        client.start_instance(
            "slow", {"items": 100, "effects": "/tmp/e", "delay": 1}, instance_id="to"
        )
        done = wait_status(client, "to", "failed", timeout=30)
        wait_for(lambda: not containers("to"), timeout=15, what="the container to go")
    assert done["error"]["reason"] == "timeout"


def test_a_restarted_server_adopts_its_running_container(docker_server: Server) -> None:
    with docker_server.client() as client:
        client.start_instance(
            "worker",
            {"items": 60, "effects": "/tmp/e", "delay": 0.05, "print_items": True},
            instance_id="ad",
        )
        wait_for(lambda: len(steps(client, "ad")) >= 5, timeout=30, what="five steps")
    docker_server.kill()
    docker_server.start()
    with docker_server.client() as client:
        done = wait_status(client, "ad", "completed", "failed", timeout=60)
        assert done["status"] == "completed", done
        assert len(client.list_events("ad", event_type="launched")) == 1  # the same container
        assert steps(client, "ad") == [f"item-{i}" for i in range(60)]
        wait_for(lambda: client.read_logs("ad", limit=1)["ended"], what="the last lines")
        printed = [x["line"] for x in client.read_logs("ad")["lines"]]
    assert [line for line in printed if line.startswith("item ")] == [
        f"item {i}" for i in range(60)
    ]  # read on from where the former server stored its last line: none lost, none twice
    wait_for(lambda: not containers("ad"), timeout=15, what="the container to be removed")


def test_a_container_on_a_bridge_network_reaches_the_runtime_through_the_gateway(
    sqlite_url: str, tmp_path: Path, base_image: str
) -> None:
    port_env = {"RUNTARA_DOCKER_NETWORK": "bridge"}
    server = Server(
        sqlite_url, tmp_path / "data", server_id=SERVER_ID, env=port_env, host="0.0.0.0"
    )
    server.env["RUNTARA_INSTANCE_URL"] = f"http://{bridge_gateway()}:{server.port}"
    server.start()
    try:
        with server.client() as client:
            client.register_image(
                "bridged", command="python3 /app/worker.py", base_image=base_image
            )
            client.start_instance(
                "bridged", {"items": 40, "effects": "/tmp/e", "delay": 0.05}, instance_id="br"
            )
            (container_id,) = wait_for(lambda: containers("br"), what="the container")
            network = docker.from_env().api.inspect_container(container_id)["HostConfig"]
            assert network["NetworkMode"] == "bridge"
            done = wait_status(client, "br", "completed", "failed", timeout=60)
        assert done["status"] == "completed", done
    finally:
        server.stop()
        remove_containers(SERVER_ID)


def bridge_gateway() -> str:
    """The host's address on the default bridge (the first of its subnet, when not named)."""
    (config,) = docker.from_env().networks.get("bridge").attrs["IPAM"]["Config"]
    return str(config.get("Gateway") or ipaddress.ip_network(config["Subnet"])[1])


def test_an_image_registered_by_reference_is_pulled_with_the_tenants_registry_login(
    docker_server: Server, base_image: str, tmp_path: Path
) -> None:
    """``--oci host/name:tag`` from a registry that wants a login: the tenant stores it
    as an ``oci_registry`` connection (encrypted like any other), the server uses it for
    the pull, and no instance can read it back."""
    from runtara.client import ApiError
    from tests.support.registry_server import PASSWORD, USERNAME, htpasswd_file, run_registry

    engine = docker.from_env()
    auth = f"  htpasswd:\n    realm: runtara-test\n    path: {htpasswd_file(tmp_path)}\n"
    with run_registry(tmp_path, auth=auth) as registry:
        reference = f"{registry.host}/runtara-test/entry:{uuid.uuid4().hex[:8]}"
        dockerfile = f'FROM {base_image}\nENTRYPOINT ["python3", "/app/worker.py"]\n'
        engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=reference, rm=True)
        login = {"username": USERNAME, "password": PASSWORD}
        for line in engine.images.push(reference, auth_config=login, stream=True, decode=True):
            assert "error" not in line, line
        engine.images.remove(reference)  # the server must pull it
        try:
            with docker_server.client() as client:
                with pytest.raises(ApiError) as refused:
                    client.register_image("pulled", oci=reference)
                assert refused.value.status == 422
                client.create_connection(
                    "registry-login",
                    "oci_registry",
                    {"registry": registry.host, **login},
                )
                image = client.register_image("pulled", oci=reference)
                assert (image["kind"], image["runner"]) == ("oci", "docker")
                client.start_instance("pulled", {"items": 2, "effects": "/tmp/e"}, instance_id="rl")
                done = wait_status(client, "rl", "completed", "failed", timeout=60)
                assert done["status"] == "completed", done
                shown = client.get_connection("registry-login")
                assert PASSWORD not in str(shown)
        finally:
            with contextlib.suppress(docker.errors.ImageNotFound):
                engine.images.remove(reference, force=True)
