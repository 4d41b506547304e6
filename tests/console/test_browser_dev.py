"""The console in a real browser on ``runtara server --dev``: follow an instance from the
list, pause and resume it until it completes (live updates, no reload), send a signal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.console.support import SLEEPER, WAITER, management, register, shoot, start, wait_status
from tests.flow.processes import dev_server


def test_list_instance_pause_resume_completed(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "sleeper", SLEEPER)
        other = start(api, "sleeper", {"ms": 0})
        instance_id = start(api, "sleeper", {"ms": 2500})
        wait_status(api, other, "completed")

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
        expect(graph.locator('g[data-step="greet"]')).to_have_attribute("data-state", "done")
        expect(graph.locator('g[data-step="nap"]')).to_have_attribute("data-state", "waiting")
        expect(graph.locator('g[data-step="done"]')).to_have_attribute("data-state", "pending")
        shoot(page, "02-instance-sleeping")

        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("status")).to_contain_text("Pause requested")
        expect(status).to_have_text("suspended")
        assert page.dialogs and instance_id in page.dialogs[-1]  # asked before acting
        shoot(page, "03-instance-suspended")

        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("status")).to_contain_text("Resumed")
        # the page follows the instance by itself (live updates) until it completes
        expect(status).to_have_text("completed", timeout=60_000)
        expect(graph.locator('g[data-step="done"]')).to_have_attribute("data-state", "done")
        expect(page.get_by_test_id("output")).to_contain_text('"slept": 2500')
        expect(page.locator(".waterfall")).to_contain_text("suspended")
        expect(page.locator(".waterfall")).to_contain_text("resume requested")
        expect(page.locator(".waterfall")).to_contain_text("going to sleep")
        shoot(page, "04-instance-completed")

        events = [
            e["event_type"] for e in api.get(f"/v1/instances/{instance_id}/events").json()["events"]
        ]
        assert "pause_requested" in events or "suspended" in events
        assert "resume_requested" in events

        # filters: by status, and search by part of the id
        page.goto(f"{url}/ui/?status=completed&q={instance_id[4:12].upper()}")
        expect(page.locator("#rows td.id")).to_have_text([instance_id])


def test_send_a_signal_with_a_payload(tmp_path: Path, page: Any) -> None:
    with dev_server(tmp_path) as url:
        api = management(url)
        register(api, "waiter", WAITER)
        instance_id = start(api, "waiter", None)
        wait_status(api, instance_id, "running")

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
