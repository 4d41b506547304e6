"""Issue 11 item 1: a tenant key never runs a program on the server's machine, and no
instance ever sees the server's own environment."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from runtara.runtime.runners.environment import ALLOWED
from tests.security.conftest import ADMIN_KEY, CANARY, SECRET_KEY, Secured
from tests.support.polling import wait_status

WORKFLOW = {
    "name": "noop",
    "steps": {"done": {"stepType": "Finish", "id": "done", "inputMapping": {}}},
    "entryPoint": "done",
}

#: (fields, the field the 403 names): what a tenant key may not register.
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"command": "id"}, "command"),
    ({"command": ["sh", "-c", "env"], "runner": "process"}, "runner"),
    # the process runner ignores base_image: this once ran on the host
    ({"command": "id", "runner": "process", "base_image": "alpine:3"}, "base_image"),
    ({"oci": "/etc/passwd"}, "oci"),
    ({"oci": "./image.tar"}, "oci"),
    ({"oci": "registry.local:5000/team/job:1", "runner": "process"}, "runner"),
    ({"oci": "registry.local:5000/team/job:1", "base_image": "alpine:3"}, "base_image"),
    ({"workflow": WORKFLOW, "runner": "docker"}, "runner"),
    ({"workflow": WORKFLOW, "workdir": "/"}, "workdir"),
    ({"workflow": WORKFLOW, "base_image": "alpine:3"}, "base_image"),
]


@pytest.mark.parametrize(("fields", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_a_tenant_key_may_not_register_what_runs_on_the_host(
    secured: Secured, fields: dict[str, Any], field: str
) -> None:
    with secured.tenant() as tenant:
        refused = tenant.post("/v1/images", json={"name": "evil", **fields})
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["field"] == field
        assert refused.json()["detail"].startswith(f"{field}: ")
        assert tenant.get("/v1/images").json()["images"] == []


def test_a_tenant_key_may_register_workflows_and_container_images(secured: Secured) -> None:
    with secured.tenant() as tenant:
        workflow = tenant.post("/v1/images", json={"name": "flow", "workflow": WORKFLOW})
        assert workflow.status_code == 201, workflow.text
        assert workflow.json()["kind"] == "workflow"
        boxed = tenant.post(
            "/v1/images", json={"name": "boxed", "command": "job", "base_image": "img:1"}
        )
        assert boxed.status_code == 201 and boxed.json()["runner"] == "docker"


def test_the_admin_may_register_host_commands_but_not_ignored_fields(secured: Secured) -> None:
    with secured.admin() as admin:
        assert admin.post("/v1/tenants", json={"id": "acme"}).status_code in (201, 409)
        host = admin.post("/v1/images", json={"name": "job", "command": "true"})
        assert host.status_code == 201 and host.json()["runner"] == "process"
        ignored = admin.post(
            "/v1/images",
            json={"name": "job", "command": "true", "runner": "process", "base_image": "a:1"},
        )
        assert ignored.status_code == 422 and ignored.json()["field"] == "base_image"


#: Prints nothing; reports the names and values of its environment as its output.
SHOW_ENVIRONMENT = (
    "import os; from runtara.sdk import Runtara; "
    "rt = Runtara.from_env().register(); rt.completed(dict(os.environ))"
)


def test_an_instance_gets_only_the_allowed_environment(secured: Secured) -> None:
    with secured.admin() as admin:
        admin.post("/v1/tenants", json={"id": "acme"})
        image = admin.post(
            "/v1/images",
            json={"name": "env", "command": [sys.executable, "-c", SHOW_ENVIRONMENT]},
        )
        assert image.status_code == 201, image.text
        started = admin.post("/v1/instances", json={"image": "env", "id": "e1", "input": {}})
        assert started.status_code in (200, 201), started.text
        done = wait_status(admin, "e1", "completed", "failed")
    assert done["status"] == "completed", done
    seen: dict[str, str] = done["output"]
    assert set(seen) <= ALLOWED, sorted(set(seen) - ALLOWED)
    assert {"RUNTARA_URL", "RUNTARA_INSTANCE_TOKEN", "PATH"} <= set(seen)
    shown = json.dumps(seen)
    for secret in (
        ADMIN_KEY,
        SECRET_KEY,
        "the server's own secret",
        secured.runtime.settings.database_url,
    ):
        assert secret not in shown
    assert CANARY not in seen


def test_a_tenant_workflow_image_runs(secured: Secured) -> None:
    """The kind a tenant may register does run (the rule refuses nothing it allows)."""
    with secured.tenant() as tenant:
        assert (
            tenant.post("/v1/images", json={"name": "flow", "workflow": WORKFLOW}).status_code
            == 201
        )
        started = tenant.post("/v1/instances", json={"image": "flow", "id": "f1", "input": {}})
        assert started.status_code in (200, 201), started.text
        assert wait_status(tenant, "f1", "completed", "failed")["status"] == "completed"
