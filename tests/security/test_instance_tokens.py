"""Issue 11 item 5: an instance token stops working at every relaunch and at a terminal
status, the connection secrets fetch included (real server, real process runner)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.security.conftest import Secured
from tests.support.polling import wait_for, wait_status

SECRET = "tenant-connection-secret"

#: First launch: note its token, exit without reporting (the runner relaunches it).
#: Second launch: note its token, wait for the test's go-ahead, complete.
TWO_LAUNCHES = """
import os, sys, time
from pathlib import Path
from runtara.sdk import Runtara
rt = Runtara.from_env().register()
folder = Path(rt.input["folder"])
token = os.environ["RUNTARA_INSTANCE_TOKEN"]
if not (folder / "token-1").exists():
    (folder / "token-1").write_text(token)
    sys.exit(3)
(folder / "token-2").write_text(token)
while not (folder / "go").exists():
    time.sleep(0.02)
rt.completed({"done": True})
"""


def fetch_connection(url: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{url}/v1/instance/acme/t1/connections/api",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def wait_file(path: Path) -> str:
    wait_for(lambda: path.exists() and path.read_text(), 90, what=f"{path} to be written")
    return path.read_text()


def test_a_token_dies_at_relaunch_and_at_the_end(secured: Secured, tmp_path: Path) -> None:
    with secured.admin() as admin:
        admin.post("/v1/tenants", json={"id": "acme"})
        made = admin.post(
            "/v1/connections",
            json={"id": "api", "integration_id": "http_bearer", "parameters": {"token": SECRET}},
        )
        assert made.status_code == 201, made.text
        image = admin.post(
            "/v1/images",
            json={"name": "twice", "command": [sys.executable, "-c", TWO_LAUNCHES]},
        )
        assert image.status_code == 201, image.text
        started = admin.post(
            "/v1/instances",
            json={"image": "twice", "id": "t1", "input": {"folder": str(tmp_path)}},
        )
        assert started.status_code == 201, started.text

        first = wait_file(tmp_path / "token-1")
        second = wait_file(tmp_path / "token-2")
        assert first != second
        # While the second launch runs: its token works, the first one's does not.
        live = fetch_connection(secured.url, second)
        assert live.status_code == 200 and live.json()["parameters"]["token"] == SECRET
        stale = fetch_connection(secured.url, first)
        assert stale.status_code == 401 and SECRET not in stale.text

        (tmp_path / "go").write_text("go")
        assert wait_status(admin, "t1", "completed", "failed")["status"] == "completed"

    ended = fetch_connection(secured.url, second)
    assert ended.status_code == 401 and SECRET not in ended.text
    assert ended.json()["instance_status"] == "completed"
    for path in ("/heartbeat", "/checkpoints/late"):
        refused = httpx.post(
            f"{secured.url}/v1/instance/acme/t1{path}",
            headers={"Authorization": f"Bearer {second}"},
            content=b"{}",
            timeout=30,
        )
        assert refused.status_code == 401, (path, refused.text)
    assert fetch_connection(secured.url, "not-a-token").json().get("instance_status") is None
