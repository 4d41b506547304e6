"""Waiting on something observable: an instance's status through the management API."""

from __future__ import annotations

import time
from typing import Any

import httpx


def wait_status(
    client: httpx.Client, instance_id: str, *statuses: str, timeout: float = 90
) -> dict[str, Any]:
    """The instance once its status is one of ``statuses`` (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.get(f"/v1/instances/{instance_id}")
        if found.status_code == 200 and found.json()["status"] in statuses:
            instance: dict[str, Any] = found.json()
            return instance
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{instance_id} did not become {' or '.join(statuses)}: {found.text}"
            )
        time.sleep(0.05)
