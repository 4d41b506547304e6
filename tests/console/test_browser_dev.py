"""The console in a real browser on ``runtara server --dev``: follow an instance from the
list, pause and resume it until it completes (live updates, no reload), send a signal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.console.support import SLEEPER, WAITER, management, register, shoot, start
from tests.support.polling import wait_status
from tests.support.run_processes import dev_server


def test_list_instance_pause_resume_completed(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "sleeper", SLEEPER)
        register(api, "waiter", WAITER)
        other = start(api, "sleeper", {"ms": 0})
        wait_status(api, other, "completed")
        instance_id = start(api, "waiter", None)  # sleeps, holding no process, until signalled
        wait_status(api, instance_id, "sleeping")

        page.goto(f"{url}/ui/")
        rows = page.locator("#rows tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#rows td.id").first).to_have_text(instance_id)  # full id, newest first
        shoot(page, "01-instances")

        page.get_by_role("link", name=instance_id).click()
        expect(page).to_have_url(re.compile(f"/ui/instances/{instance_id}$"))
        expect(page.get_by_test_id("instance-id")).to_have_text(instance_id)
        status = page.get_by_test_id("status")
        expect(status).to_have_text("sleeping")
        graph = page.get_by_test_id("graph")
        expect(graph.locator('g[data-step="approval"]')).to_have_attribute("data-state", "waiting")
        expect(graph.locator('g[data-step="done"]')).to_have_attribute("data-state", "pending")
        shoot(page, "02-instance-running")

        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("status")).to_contain_text("Pause requested")
        assert page.dialogs and instance_id in page.dialogs[-1]  # asked before acting
        # it stops at its next check; the page follows by itself (live updates)
        expect(status).to_have_text("suspended", timeout=60_000)
        expect(graph.locator('g[data-step="approval"]')).to_have_attribute("data-state", "waiting")
        shoot(page, "03-instance-suspended")

        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("status")).to_contain_text("Resumed")
        expect(status).to_have_text("sleeping", timeout=60_000)  # back to its signal wait
        sent = api.post(
            f"/v1/instances/{instance_id}/signals",
            json={"checkpoint_id": "approval", "payload": {"approved": True}},
        )
        assert sent.status_code == 202, sent.text
        expect(status).to_have_text("completed", timeout=60_000)
        expect(graph.locator('g[data-step="done"]')).to_have_attribute("data-state", "done")
        expect(page.get_by_test_id("output")).to_contain_text('"approved": true')
        waterfall = page.locator(".waterfall")
        # paused while sleeping in its signal wait: suspended at once, no request to relay
        for seen in ("suspended", "resume requested", "signal sent to approval"):
            expect(waterfall).to_contain_text(seen)
        shoot(page, "04-instance-completed")

        # filters: by status, and search by part of the id (any case)
        page.goto(f"{url}/ui/?status=completed&q={instance_id[4:12].upper()}")
        expect(page.locator("#rows td.id")).to_have_text([instance_id])
        page.goto(f"{url}/ui/?status=running")
        expect(page.locator("#rows")).to_contain_text("No instances match these filters")


def test_a_sleeping_instance_is_waiting_on_its_delay(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "sleeper", SLEEPER)
        instance_id = start(api, "sleeper", {"ms": 600_000})
        wait_status(api, instance_id, "sleeping")
        page.goto(f"{url}/ui/instances/{instance_id}")
        graph = page.get_by_test_id("graph")
        expect(graph.locator('g[data-step="greet"]')).to_have_attribute("data-state", "done")
        expect(graph.locator('g[data-step="nap"]')).to_have_attribute("data-state", "waiting")
        expect(graph.locator('g[data-step="done"]')).to_have_attribute("data-state", "pending")
        expect(page.locator(".waterfall")).to_contain_text("going to sleep")
        expect(page.locator(".waterfall li.k-sleep")).to_contain_text("durable sleep")
        shoot(page, "08-instance-sleeping")
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_test_id("status")).to_have_text("cancelled")
        assert page.dialogs and "cannot be undone" in page.dialogs[-1]


def test_send_a_signal_with_a_payload(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "waiter", WAITER)
        instance_id = start(api, "waiter", None)
        wait_status(api, instance_id, "sleeping")

        page.goto(f"{url}/ui/instances/{instance_id}")
        target = page.get_by_label("Checkpoint id")
        expect(target).to_have_value("approval")  # the WaitForSignal step, proposed
        payload = page.get_by_label("Payload (JSON)")
        payload.fill('{"approved": tru')
        expect(page.locator("[data-json-state]")).to_contain_text("not JSON")
        page.get_by_role("button", name="Send signal…").click()
        assert not page.dialogs  # a payload that is not JSON is never sent
        payload.fill('{"approved": true, "by": "ada"}')
        page.get_by_role("button", name="Format").click()
        expect(payload).to_have_value('{\n  "approved": true,\n  "by": "ada"\n}')
        shoot(page, "05-signal-form")
        page.get_by_role("button", name="Send signal…").click()
        expect(page.get_by_role("status")).to_contain_text("Signal sent")
        assert page.dialogs and "approval" in page.dialogs[-1]
        expect(page.get_by_test_id("status")).to_have_text("completed", timeout=60_000)
        output = page.get_by_test_id("output").inner_text()
        assert json.loads(output) == {"decision": {"approved": True, "by": "ada"}}
        expect(page.locator(".waterfall")).to_contain_text("signal sent to approval")
        shoot(page, "06-signal-completed")


def test_images_page_draws_each_workflow(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "sleeper", SLEEPER)
        register(api, "sleeper", SLEEPER)
        image_id = register(api, "waiter", WAITER)
        page.goto(f"{url}/ui/images")
        expect(page.locator("tbody tr")).to_have_count(3)
        page.get_by_role("link", name="waiter").click()
        expect(page).to_have_url(re.compile(f"/ui/images/{image_id}$"))
        svg = page.locator(".graph svg")
        expect(svg.locator("g.node")).to_have_count(2)
        expect(svg.locator('g[data-step="approval"] .sub')).to_have_text("Wait for the approval")
        shoot(page, "07-image")


def test_dev_console_opens_on_the_newest_instances_tenant(tmp_path: Path, page: Any) -> None:
    """The README's examples use tenants like ``tenant-1``: a new user sees them at once."""
    with dev_server(tmp_path) as url:
        api = management(url, "tenant-1")
        register(api, "sleeper", SLEEPER)
        instance_id = start(api, "sleeper", {"ms": 0})
        wait_status(api, instance_id, "completed")
        page.goto(f"{url}/ui/")
        expect(page.get_by_label("tenant", exact=True)).to_have_value("tenant-1")
        expect(page.locator("#rows td.id")).to_have_text([instance_id])
        page.get_by_label("tenant", exact=True).fill("default")
        page.get_by_role("button", name="Switch").click()
        expect(page.locator("#rows")).to_contain_text("No instances yet")
