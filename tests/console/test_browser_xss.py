"""Everything an instance (or a workflow document) says is shown as text: ids, step
names and types, checkpoint keys, events, logs, retries, inputs, outputs and errors
full of ``<script>`` and attribute-breaking strings; nothing runs, nothing is parsed
as markup, and the Content-Security-Policy never even has to step in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import expect

from tests.console.support import management, register, shoot, start
from tests.support.polling import wait_status
from tests.support.run_processes import dev_server

ATTACKS = [
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=2">',
    "'><svg onload=window.__xss=3>",
    "</textarea></pre><script>window.__xss=4</script>",
    "javascript:window.__xss=5",
    "{{7*7}}<b id=injected>bold</b>",
]
EVIL_ID = '"><img src=x onerror="window.__xss=9">'

XSS_WORKFLOW: dict[str, Any] = {
    "name": ATTACKS[0],
    "entryPoint": "say",
    "steps": {
        "say": {
            "stepType": "Log",
            "id": "say",
            "name": ATTACKS[1],
            "message": ATTACKS[2],
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "name": ATTACKS[3],
            "inputMapping": {ATTACKS[5]: {"valueType": "reference", "value": "data.x"}},
        },
    },
    "executionPlan": [{"fromStep": "say", "toStep": "done", "label": "next"}],
}


def _self_registered(url: str) -> None:
    """An instance that registers itself (dev mode) and reports hostile text everywhere."""
    base = f"{url}/v1/instance/default/{quote(EVIL_ID, safe='')}"
    client = httpx.Client(timeout=30)
    assert client.post(f"{base}/register", json={}).status_code == 200
    for n, attack in enumerate(ATTACKS):
        record = {"stepId": attack, "stepName": attack, "stepType": attack, "outputs": attack}
        saved = client.post(
            f"{base}/checkpoints/{quote(attack + str(n), safe='')}",
            content=json.dumps(record),
            headers={"content-type": "application/json"},
        )
        assert saved.status_code == 200, saved.text
        events = [
            {"subtype": attack, "payload": {"message": attack, attack: attack}},
            {
                "subtype": "workflow_log",
                "payload": {"step_id": attack, "level": attack, "message": attack},
            },
        ]
        assert client.post(f"{base}/events", json={"events": events}).status_code == 200
        retry = {"key": attack, "attempt": 2, "error": attack}
        assert client.post(f"{base}/retries", json=retry).status_code == 200
    done = client.post(f"{base}/completed", json={"output": {a: a for a in ATTACKS}})
    assert done.status_code == 200, done.text


def _check(page: Any, csp_reports: list[str]) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
    assert page.locator("img[src=x], #injected, main svg[onload]").count() == 0
    assert csp_reports == [], csp_reports  # no injected script was even attempted


def test_hostile_text_everywhere_is_shown_never_run(tmp_path: Path, page: Any) -> None:
    csp_reports: list[str] = []
    page.on(
        "console", lambda m: csp_reports.append(m.text) if "Content Security" in m.text else None
    )
    with dev_server(tmp_path) as url:
        api = management(url)
        image_id = register(api, "hostile", XSS_WORKFLOW)
        ran = start(api, "hostile", {"x": ATTACKS[4], "note": ATTACKS[0]})
        wait_status(api, ran, "completed")
        _self_registered(url)

        page.goto(f"{url}/ui/")
        expect(page.locator("#rows td.id").first).to_have_text(EVIL_ID)
        _check(page, csp_reports)
        page.goto(f"{url}/ui/?q={quote(EVIL_ID)}")
        expect(page.get_by_role("searchbox")).to_have_value(EVIL_ID)
        expect(page.locator("#rows td.id")).to_have_text([EVIL_ID])
        _check(page, csp_reports)

        page.get_by_role("link", name=EVIL_ID).click()
        expect(page.get_by_test_id("instance-id")).to_have_text(EVIL_ID)
        main = page.locator("main")
        for attack in ATTACKS:
            expect(main).to_contain_text(attack)
        # one node per reported step (a "/" in a key nests, as loop keys do)
        assert page.get_by_test_id("graph").locator("g.node").count() >= len(ATTACKS)
        expect(page.get_by_test_id("graph")).to_contain_text(ATTACKS[1])
        _check(page, csp_reports)
        shoot(page, "20-xss-instance")

        page.goto(f"{url}/ui/instances/{ran}")
        expect(page.get_by_test_id("graph")).to_contain_text(ATTACKS[1])
        expect(page.get_by_test_id("output")).to_contain_text(ATTACKS[5])
        expect(page.get_by_test_id("input")).to_contain_text(ATTACKS[0])
        expect(main).to_contain_text(ATTACKS[2])  # the log message
        _check(page, csp_reports)

        page.goto(f"{url}/ui/images/{image_id}")
        expect(page.locator(".graph")).to_contain_text(ATTACKS[3])
        _check(page, csp_reports)
        shoot(page, "21-xss-image")
