"""The console's schedules and webhooks pages over plain HTTP: a schedule's next fires
and its instances, a hook's URL and deliveries, never its secret, one tenant only."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.console.support import SLEEPER, management, register
from tests.support.servers import Server

SECRET = "console-hook-secret-123"


def test_schedules_and_hooks_pages(tmp_path: Path) -> None:
    server = Server(
        f"sqlite:///{tmp_path / 'r.db'}",
        tmp_path / "data",
        server_id="c1",
        env={"RUNTARA_SCHEDULER": "off"},
    )
    url = server.url
    try:
        server.start()
        api = management(url)  # the tenant a --dev console shows first
        register(api, "sleeper", SLEEPER)
        made = api.post(
            "/v1/schedules",
            json={
                "name": "nightly",
                "image": "sleeper",
                "cron": "30 2 * * *",
                "timezone": "Europe/Berlin",
                "input": {"ms": 10},
            },
        )
        assert made.status_code == 201, made.text
        fired = api.post("/v1/schedules/nightly/trigger").json()
        hook = api.post(
            "/v1/hooks", json={"name": "orders", "image": "sleeper", "secret": SECRET}
        ).json()
        plain = api.post("/v1/hooks", json={"name": "plain", "image": "sleeper"}).json()
        delivered = httpx.post(
            url + plain["path"], json={"ms": 5}, headers={"Idempotency-Key": "evt-<b>1</b>"}
        ).json()
        console = httpx.Client(base_url=url, follow_redirects=True)
        listed = console.get("/ui/schedules")
        assert listed.status_code == 200 and "nightly" in listed.text
        assert "At 02:30 every day (Europe/Berlin)" in listed.text
        one = console.get("/ui/schedules/nightly").text
        local_times = re.findall(r"\d{4}-\d\d-\d\dT02:30:00\+0[12]:00", one)
        assert len(local_times) == 5  # the next 5 fires, in the schedule's zone
        assert fired["instance_id"] in one  # the instance it started
        instance = console.get(f"/ui/instances/{fired['instance_id']}").text
        assert 'href="/ui/schedules/nightly"' in instance

        hooks_page = console.get("/ui/hooks").text
        assert hook["path"] in hooks_page and plain["path"] in hooks_page
        detail = console.get("/ui/hooks/plain").text
        assert delivered["instance_id"] in detail
        assert "evt-&lt;b&gt;1&lt;/b&gt;" in detail  # shown as text, escaped
        signed = console.get("/ui/hooks/orders").text
        assert "yes (X-Runtara-Signature)" in signed
        for text in (hooks_page, detail, signed):
            assert SECRET not in text
        assert console.get("/ui/schedules/nope").status_code == 404
        assert console.get("/ui/hooks/nope").status_code == 404

        # another tenant sees none of it
        page = console.get("/ui/")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        console.post("/ui/tenant", data={"tenant": "globex", "csrf": token.group(1)})
        assert "nightly" not in console.get("/ui/schedules").text
        assert console.get("/ui/hooks/orders").status_code == 404
    finally:
        server.stop()
