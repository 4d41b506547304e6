"""Shared by the console tests: workflows, a management client, waiting, screenshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots land here (git-ignored; CI keeps the folder as an artifact).
SCREENSHOTS = ROOT / "tests" / ".artifacts" / "screenshots"
CHROMIUM = os.environ.get("RUNTARA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def reference(path: str, kind: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"valueType": "reference", "value": path}
    if kind:
        out["type"] = kind
    return out


#: Sleeps durably (data.ms), then finishes: long enough to pause, short enough to wait for.
SLEEPER: dict[str, Any] = {
    "name": "sleeper",
    "entryPoint": "greet",
    "steps": {
        "greet": {
            "stepType": "Log",
            "id": "greet",
            "name": "Say hello",
            "message": "going to sleep",
        },
        "nap": {
            "stepType": "Delay",
            "id": "nap",
            "name": "Nap",
            "durationMs": reference("data.ms", "integer"),
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {"slept": reference("steps.nap.outputs.durationMs")},
        },
    },
    "executionPlan": [
        {"fromStep": "greet", "toStep": "nap"},
        {"fromStep": "nap", "toStep": "done"},
    ],
}

#: Waits for a signal to its step ``approval`` and finishes with the payload.
WAITER: dict[str, Any] = {
    "name": "waiter",
    "entryPoint": "approval",
    "steps": {
        "approval": {
            "stepType": "WaitForSignal",
            "id": "approval",
            "name": "Wait for the approval",
            "pollIntervalMs": 100,
        },
        "done": {
            "stepType": "Finish",
            "id": "done",
            "inputMapping": {"decision": reference("steps.approval.outputs")},
        },
    },
    "executionPlan": [{"fromStep": "approval", "toStep": "done"}],
}


def management(url: str, tenant: str = "default", key: str | None = None) -> httpx.Client:
    headers = {"X-Runtara-Tenant": tenant}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def register(api: httpx.Client, name: str, workflow: dict[str, Any]) -> str:
    answer = api.post("/v1/images", json={"name": name, "workflow": workflow})
    assert answer.status_code == 201, answer.text
    image_id: str = answer.json()["id"]
    return image_id


def start(api: httpx.Client, image: str, data: Any, instance_id: str | None = None) -> str:
    body: dict[str, Any] = {"image": image, "input": data}
    if instance_id:
        body["id"] = instance_id
    answer = api.post("/v1/instances", json=body)
    assert answer.status_code == 201, answer.text
    started: str = answer.json()["id"]
    return started


def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
