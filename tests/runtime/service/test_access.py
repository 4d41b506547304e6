"""Who may register what: host programs need trust; tenants never see each other's images."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.client import ApiError
from tests.support.servers import WORKER, Server, environment, wait_status

ADMIN_KEY = "admin-key-for-tests"


@pytest.fixture
def shared_server(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(
        sqlite_url,
        tmp_path / "data",
        server_id="shared",
        env={"RUNTARA_ADMIN_KEY": ADMIN_KEY, "RUNTARA_SECRET_KEY": "k"},
        dev=False,
    ).start()
    try:
        yield running
    finally:
        running.stop()


def keys(server: Server, *tenants: str) -> list[str]:
    with server.client(api_key=ADMIN_KEY) as admin:
        found = []
        for tenant in tenants:
            admin.create_tenant(tenant)
            found.append(admin.create_api_key(tenant)["key"])
        return found


def test_a_tenant_key_cannot_run_programs_on_the_server_but_the_admin_can(
    shared_server: Server,
) -> None:
    (key,) = keys(shared_server, "acme")
    with shared_server.client(api_key=key) as tenant:
        with pytest.raises(ApiError) as refused:
            tenant.register_image("evil", command="rm -rf /")
        assert refused.value.status == 403 and "server's machine" in refused.value.detail
        with pytest.raises(ApiError) as archive:
            tenant.register_image("peek", oci="/etc/passwd")
        assert archive.value.status == 403
        contained = tenant.register_image("boxed", command="python3 job.py", base_image="img:1")
        assert contained["runner"] == "docker"
    with shared_server.client(tenant="acme", api_key=ADMIN_KEY) as admin:
        admin.register_image("worker", command=f"{sys.executable} {WORKER}")
    with shared_server.client(api_key=key) as tenant:
        tenant.start_instance("worker", {"items": 1, "effects": "/dev/null"}, instance_id="w")
        assert wait_status(tenant, "w", "completed", "failed")["status"] == "completed"


def test_tenants_never_see_each_others_images_or_logs(shared_server: Server) -> None:
    first, second = keys(shared_server, "a", "b")
    with shared_server.client(api_key=first) as a:
        a.register_image("mine", command="true", base_image="img:1")
    with shared_server.client(api_key=second) as b:
        assert b.list_images() == []
        for call in (lambda: b.get_image("mine"), lambda: b.start_instance("mine", {})):
            with pytest.raises(ApiError) as hidden:
                call()
            assert hidden.value.status == 404


def test_the_admin_key_without_a_tenant_says_a_tenant_is_needed(shared_server: Server) -> None:
    """Not an empty list: the admin key manages tenants, and acts inside one when named."""
    keys(shared_server, "named")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtara", *args, "--url", shared_server.url],
            env={**environment(), "RUNTARA_API_KEY": ADMIN_KEY},
            capture_output=True,
            text=True,
            timeout=60,
        )

    unnamed = cli("instances", "list")
    assert unnamed.returncode == 1
    assert "the admin key acts for one tenant at a time: name it with --tenant" in unnamed.stderr
    assert unnamed.stdout == "" and "Traceback" not in unnamed.stderr
    named = cli("instances", "list", "--tenant", "named", "--format", "json")
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout) == []
    tenants = cli("tenants", "list", "--format", "json")
    assert tenants.returncode == 0, tenants.stderr
    assert "named" in {tenant["id"] for tenant in json.loads(tenants.stdout)}
