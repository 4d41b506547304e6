"""Signing in to the console of a server that wants API keys: a tenant sees only its
own instances and images; the session cookie is HttpOnly and SameSite=Strict."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.console.support import SLEEPER, management, register, shoot, start
from tests.support.polling import wait_status
from tests.support.run_processes import dev_server

ADMIN_KEY = "admin-key-for-console-tests"


def _tenant_with_key(url: str, tenant: str) -> str:
    admin = management(url, tenant, ADMIN_KEY)
    assert admin.post("/v1/tenants", json={"id": tenant}).status_code == 201
    created = admin.post(f"/v1/tenants/{tenant}/api-keys", json={"name": "console"})
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def test_login_and_a_tenant_sees_only_its_own(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path, dev=False, RUNTARA_ADMIN_KEY=ADMIN_KEY) as url:
        acme_key = _tenant_with_key(url, "acme")
        globex_key = _tenant_with_key(url, "globex")
        acme, globex = management(url, "acme", acme_key), management(url, "globex", globex_key)
        register(acme, "acme-flow", SLEEPER)
        register(globex, "globex-flow", SLEEPER)
        mine = start(acme, "acme-flow", {"ms": 0}, "acme-order-1")
        theirs = start(globex, "globex-flow", {"ms": 0}, "globex-order-1")
        wait_status(acme, mine, "completed")
        wait_status(globex, theirs, "completed")

        # no session: every page leads to the login form, and back after it
        page.goto(f"{url}/ui/instances/{mine}")
        expect(page).to_have_url(re.compile(r"/ui/login\?next="))
        page.get_by_label("API key").fill("rk_not-a-key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Unknown or revoked API key.")
        shoot(page, "10-login-refused")
        page.get_by_label("API key").fill(acme_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(f"/ui/instances/{mine}$"))
        expect(page.get_by_test_id("status")).to_have_text("completed")
        expect(page.get_by_test_id("tenant")).to_have_text("acme")

        cookie = next(c for c in page.context.cookies() if c["name"] == "runtara_console")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert acme_key not in cookie["value"]  # the session holds no key

        page.goto(f"{url}/ui/")
        expect(page.locator("#rows td.id")).to_have_text([mine])
        shoot(page, "11-tenant-instances")
        page.goto(f"{url}/ui/images")
        expect(page.locator("tbody")).to_contain_text("acme-flow")
        expect(page.locator("tbody")).not_to_contain_text("globex-flow")
        # another tenant's instance is not found, exactly like a missing one
        answer = page.goto(f"{url}/ui/instances/{theirs}")
        assert answer is not None and answer.status == 404
        expect(page.get_by_role("alert")).to_contain_text("not found")
        answer = page.goto(f"{url}/ui/live/instances/{theirs}")
        assert answer is not None and answer.status == 404
        # a tenant key cannot switch tenants
        expect(page.locator(".tenant-switch")).to_have_count(0)

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/ui/login"))
        page.goto(f"{url}/ui/")
        expect(page).to_have_url(re.compile(r"/ui/login"))

        # the admin key names the tenant to view, and may switch
        page.get_by_label("API key").fill(ADMIN_KEY)
        page.get_by_label("Tenant").fill("globex")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#rows td.id")).to_have_text([theirs])
        page.get_by_label("tenant", exact=True).fill("acme")
        page.get_by_role("button", name="Switch").click()
        expect(page.locator("#rows td.id")).to_have_text([mine])


def test_revoking_the_key_ends_its_sessions(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path, dev=False, RUNTARA_ADMIN_KEY=ADMIN_KEY) as url:
        key = _tenant_with_key(url, "acme")
        page.goto(f"{url}/ui/login")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("tenant")).to_have_text("acme")
        admin = management(url, "acme", ADMIN_KEY)
        key_id = admin.get("/v1/tenants/acme/api-keys").json()[0]["id"]
        assert admin.delete(f"/v1/tenants/acme/api-keys/{key_id}").status_code == 204
        page.goto(f"{url}/ui/")
        expect(page).to_have_url(re.compile(r"/ui/login"))
