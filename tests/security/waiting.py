"""Waiting on something observable: an instance's status through the management API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.polling import wait_for


def wait_status(
    client: httpx.Client, instance_id: str, *statuses: str, timeout: float = 90
) -> dict[str, Any]:
    """The instance once its status is one of ``statuses`` (AssertionError after ``timeout``)."""

    def reached() -> dict[str, Any] | None:
        found = client.get(f"/v1/instances/{instance_id}")
        if found.status_code == 200 and found.json()["status"] in statuses:
            instance: dict[str, Any] = found.json()
            return instance
        return None

    return wait_for(reached, timeout, what=f"{instance_id} to become {' or '.join(statuses)}")
