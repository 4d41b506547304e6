"""Tenants, API keys and connections through the CLI and client, on a secured server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtara.client import ApiError, Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.store import instances, open_store
from runtara.sdk import Runtara

ADMIN = "admin-key-for-tests"


@pytest.fixture
def runtime(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRuntime]:
    monkeypatch.setenv("RUNTARA_ADMIN_KEY", ADMIN)
    with EmbeddedRuntime(db_url, dev=False, secret_key="at-rest") as running:
        yield running


def cli(runtime: EmbeddedRuntime, *args: str, key: str = ADMIN) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args, "--url", runtime.url, "--api-key", key],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_admin_creates_tenants_and_keys_that_act_for_one_tenant(runtime: EmbeddedRuntime) -> None:
    assert cli(runtime, "tenants", "create", "acme").returncode == 0
    assert cli(runtime, "tenants", "create", "globex").returncode == 0
    made = cli(runtime, "tenants", "keys", "create", "acme", "--name", "ci")
    acme_key = made.stdout.strip()
    assert made.returncode == 0 and acme_key.startswith("rk_") and "not shown again" in made.stderr
    listed = json.loads(cli(runtime, "tenants", "keys", "list", "acme", "--format", "json").stdout)
    assert [k["name"] for k in listed] == ["ci"] and acme_key not in json.dumps(listed)

    with Client(runtime.url, acme_key) as acme:
        assert acme.list_instances() == []
        with pytest.raises(ApiError) as refused:
            acme.create_tenant("sneaky")
        assert refused.value.status == 403
    denied = cli(runtime, "tenants", "list", key=acme_key)
    assert denied.returncode == 1 and "admin key" in denied.stderr

    assert cli(runtime, "tenants", "keys", "revoke", "acme", listed[0]["id"]).returncode == 0
    with Client(runtime.url, acme_key) as revoked, pytest.raises(ApiError) as gone:
        revoked.list_instances()
    assert gone.value.status == 401


def test_connections_are_checked_stored_sealed_and_handed_only_to_own_instances(
    runtime: EmbeddedRuntime, tmp_path: Path
) -> None:
    with Client(runtime.url, ADMIN) as admin:
        admin.create_tenant("acme")
        admin.create_tenant("globex")
        acme_key = admin.create_api_key("acme")["key"]
        globex_key = admin.create_api_key("globex")["key"]
    secret_file = tmp_path / "crm.json"
    secret_file.write_text(json.dumps({"token": "tok-abcdef", "base_url": "https://crm.example"}))

    made = cli(
        runtime,
        "connections",
        "create",
        "crm",
        "-t",
        "http_bearer",
        "-p",
        f"@{secret_file}",
        key=acme_key,
    )
    assert made.returncode == 0, made.stderr
    shown = cli(runtime, "connections", "get", "crm", "--format", "json", key=acme_key).stdout
    assert json.loads(shown)["integration_id"] == "http_bearer" and "tok-abcdef" not in shown
    missing = cli(
        runtime, "connections", "create", "bad", "-t", "http_bearer", "-p", "{}", key=acme_key
    )
    assert missing.returncode == 1 and "parameter 'token' is required" in missing.stderr
    unknown = cli(runtime, "connections", "create", "bad", "-t", "ftp", "-p", "{}", key=acme_key)
    assert "unknown integration_id 'ftp'" in unknown.stderr
    assert cli(runtime, "connections", "get", "crm", key=globex_key).returncode == 1

    with open_store(runtime.settings.database_url) as store:
        token = store.run(instances.create_instance, "acme", "job-1").token
        other = store.run(instances.create_instance, "globex", "job-2").token
    rt = Runtara("job-1", "acme", url=runtime.url, token=token).register()
    fetched = rt.connection("crm")
    assert fetched["parameters"]["token"] == "tok-abcdef" and fetched["secrets"] == ["token"]
    stranger = Runtara("job-2", "globex", url=runtime.url, token=other).register()
    with pytest.raises(Exception, match="not found"):
        stranger.connection("crm")

    rotated = cli(
        runtime, "connections", "update", "crm", "-p", '{"token": "tok-rotated"}', key=acme_key
    )
    assert rotated.returncode == 0
    assert rt.connection("crm")["parameters"] == {"token": "tok-rotated"}
    assert cli(runtime, "connections", "delete", "crm", key=acme_key).returncode == 0
    assert (
        json.loads(cli(runtime, "connections", "list", "--format", "json", key=acme_key).stdout)
        == []
    )


def test_instances_cli_reads_url_tenant_and_key_from_the_environment(
    runtime: EmbeddedRuntime,
) -> None:
    with Client(runtime.url, ADMIN) as admin:
        admin.create_tenant("acme")
        admin.create_tenant("globex")
        keys = {t: admin.create_api_key(t)["key"] for t in ("acme", "globex")}
    with open_store(runtime.settings.database_url) as store:
        store.run(instances.create_instance, "acme", "job-a")

    inherited = {
        k: v for k, v in os.environ.items() if k not in ("RUNTARA_API_KEY", "RUNTARA_TENANT")
    }

    def get(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtara", "instances", "get", "job-a", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**inherited, "RUNTARA_URL": runtime.url, **env},
        )

    mine = get({"RUNTARA_API_KEY": keys["acme"]})
    assert mine.returncode == 0 and json.loads(mine.stdout)["id"] == "job-a"
    anonymous = get({})
    assert anonymous.returncode == 1
    assert anonymous.stderr.endswith("(pass --api-key or set RUNTARA_API_KEY)\n")
    theirs = get({"RUNTARA_API_KEY": keys["globex"]})
    assert theirs.returncode == 1
    assert theirs.stderr == "error: instance 'job-a' not found in tenant 'globex'\n"
    as_admin = get({"RUNTARA_API_KEY": ADMIN, "RUNTARA_TENANT": "acme"})
    assert json.loads(as_admin.stdout)["status"] == "pending"
    assert get({"RUNTARA_API_KEY": ADMIN, "RUNTARA_TENANT": "globex"}).returncode == 1
