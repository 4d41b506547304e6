"""The console's protections, over plain HTTP: CSRF on every action, the login form's
own token, no open redirect, security headers, and bad form input answered cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.console.support import SLEEPER, management, register, start
from tests.support.polling import wait_status
from tests.support.run_processes import dev_server

ADMIN_KEY = "admin-key-for-console-tests"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_every_action_needs_the_session_token_and_this_origin(tmp_path: Path) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "sleeper", SLEEPER)
        instance_id = start(api, "sleeper", {"ms": 60_000})
        wait_status(api, instance_id, "sleeping")
        browser = httpx.Client(base_url=url, follow_redirects=False)
        page = browser.get(f"/ui/instances/{instance_id}")
        assert page.status_code == 200
        headers = page.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        token = _csrf(page.text)
        action = f"/ui/act/instances/{instance_id}"

        for form, extra in (
            ({"action": "pause"}, {}),  # no token
            ({"action": "pause", "csrf": "forged"}, {}),  # a wrong one
            ({"action": "pause", "csrf": token}, {"Origin": "http://evil.example"}),
        ):
            refused = browser.post(action, data=form, headers=extra)
            assert refused.status_code == 403, refused.text
            assert "CSRF" in refused.text
        assert api.get(f"/v1/instances/{instance_id}").json()["status"] == "sleeping"

        # a token of another session is no good either
        other = httpx.Client(base_url=url).get(f"/ui/instances/{instance_id}")
        refused = browser.post(action, data={"action": "pause", "csrf": _csrf(other.text)})
        assert refused.status_code == 403

        done = browser.post(
            action, data={"action": "pause", "csrf": token}, headers={"Origin": url}
        )
        assert done.status_code == 303
        assert api.get(f"/v1/instances/{instance_id}").json()["status"] == "suspended"

        # bad input: a clear message on the page, nothing changed
        bad = browser.post(
            action,
            data={"action": "signal", "csrf": token, "checkpoint_id": "x", "payload": "{nope"},
        )
        assert bad.status_code == 422
        assert "the payload is not JSON" in bad.text
        unknown = browser.post(action, data={"action": "explode", "csrf": token})
        assert unknown.status_code == 422 and "unknown action" in unknown.text
        conflict = browser.post(action, data={"action": "pause", "csrf": token})
        assert conflict.status_code == 303  # pausing a suspended instance again changes nothing
        missing = browser.post("/ui/act/instances/nope", data={"action": "cancel", "csrf": token})
        assert missing.status_code == 404


def test_login_form_token_and_no_open_redirect(tmp_path: Path) -> None:
    with dev_server(tmp_path, dev=False, RUNTARA_ADMIN_KEY=ADMIN_KEY) as url:
        browser = httpx.Client(base_url=url, follow_redirects=False)
        assert browser.get("/ui/").status_code == 303
        assert browser.get("/ui/rows", headers={"X-Console-Live": "1"}).status_code == 401
        form = browser.get("/ui/login?next=//evil.example/steal")
        token = _csrf(form.text)
        fields = {"api_key": ADMIN_KEY, "tenant": "default", "next": "//evil.example/x"}
        assert browser.post("/ui/login", data=fields).status_code == 403  # no token
        httpx.post(
            f"{url}/v1/tenants",
            json={"id": "default"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        signed_in = browser.post("/ui/login", data={**fields, "csrf": token})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/ui/"  # never another site
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert browser.get("/ui/").status_code == 200
        # a forged or tampered session cookie is no session
        tampered = httpx.Client(base_url=url, follow_redirects=False)
        value = browser.cookies["runtara_console"]
        tampered.cookies.set("runtara_console", value[:-2] + "xx", path="/ui")
        assert tampered.get("/ui/").status_code == 303
