"""Two real `runtara server` processes on one PostgreSQL database share the work."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.databases import postgres_schema_url
from tests.support.servers import WORKER, Server, effects, wait_status

INSTANCES = 16


@pytest.mark.postgres
def test_two_servers_take_each_start_and_wake_up_exactly_once(tmp_path: Path) -> None:
    with postgres_schema_url() as url:
        first = Server(url, tmp_path / "a", server_id="a").start()
        second = Server(url, tmp_path / "b", server_id="b").start()
        try:
            with first.client() as client:
                client.register_image("worker", command=f"{sys.executable} {WORKER}")
                for n in range(INSTANCES):
                    client.start_instance(
                        "worker",
                        {
                            "items": 3,
                            "effects": str(tmp_path / f"effects-{n}.txt"),
                            "sleep_at": 1,
                            "sleep_s": 1,
                        },
                        instance_id=f"i{n}",
                    )
            servers: Counter[str] = Counter()
            with second.client() as client:
                for n in range(INSTANCES):
                    done = wait_status(client, f"i{n}", "completed", "failed", timeout=60)
                    assert done["status"] == "completed", done
                    launches = client.list_events(f"i{n}", event_type="launched")
                    # one start and one wake-up, each taken by exactly one server
                    assert len(launches) == 2
                    servers.update(e["payload"]["server"] for e in launches)
                    assert effects(tmp_path / f"effects-{n}.txt") == [0, 1, 2]
        finally:
            first.stop()
            second.stop()
    assert sum(servers.values()) == 2 * INSTANCES
    assert set(servers) == {"a", "b"}, servers  # both took part
