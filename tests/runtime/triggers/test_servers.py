"""Schedules on real ``runtara server`` processes: one instance per fire, two servers on
one PostgreSQL, pause and resume, and catching up after a server stop.

Real time must pass here (``--every 1s``); the tests wait on what the servers store,
never assert how long anything took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtara.client import Client
from runtara.runtime.triggers.timing import parse_instant
from tests.support.databases import postgres_schema_url
from tests.support.servers import WORKER, Server, wait_for

S = 1000


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(db_url, tmp_path / "data", server_id="s1").start()
    try:
        yield running
    finally:
        running.stop()


def cli(server: Server, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "runtara", *args, "--url", server.url, "--tenant", "t1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "json" in args else done.stdout


def ms(text: str) -> int:
    return parse_instant(text, "time")


def fires(client: Client, schedule: str) -> list[dict[str, Any]]:
    found = client.list_instances(schedule=schedule, limit=1000)
    return sorted(found, key=lambda i: ms(i["scheduled_at"]))


def assert_one_instance_per_fire(client: Client, started: list[dict[str, Any]]) -> None:
    fired = [(i["schedule"], ms(i["scheduled_at"])) for i in started]
    assert len(set(fired)) == len(fired)
    for instance in started:
        assert instance["id"] == f"{instance['schedule']}@{instance['scheduled_at']}"
        launches = client.list_events(instance["id"], event_type="launched")
        assert len(launches) == 1, (instance["id"], launches)


def register_worker(client: Client) -> None:
    client.register_image("worker", command=f"{sys.executable} {WORKER}")


def test_every_second_starts_one_instance_per_fire_and_pause_withholds_them(
    server: Server, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    with server.client() as client:
        register_worker(client)
        created = cli(
            server,
            "schedules",
            "create",
            "tick",
            "--image",
            "worker",
            "--every",
            "1s",
            "--overlap",
            "allow",
            "--input",
            json.dumps({"items": 1, "effects": str(effects)}),
            "--format",
            "json",
        )
        assert created["every"] == "1s" and len(created["next_fires"]) == 5
        wait_for(lambda: len(fires(client, "tick")) >= 4, what="4 fires of tick")
        paused = cli(server, "schedules", "pause", "tick", "--format", "json")
        assert paused["state"] == "paused"
        before = fires(client, "tick")
        paused_at = ms(paused["updated_at"])
        # Let two fire times pass while paused (the clock is what we wait for here).
        wait_for(lambda: time.time() * 1000 > paused_at + 2.5 * S, what="2 paused fire times")
        resumed = cli(server, "schedules", "resume", "tick", "--format", "json")
        resumed_at = ms(resumed["updated_at"])
        wait_for(lambda: len(fires(client, "tick")) >= len(before) + 2, what="fires after resume")
        cli(server, "schedules", "pause", "tick", "--format", "json")
        started = fires(client, "tick")
        times = [ms(i["scheduled_at"]) for i in started]
        # every second while active, nothing nominally due while paused
        active = [t for t in times if t <= paused_at], [t for t in times if t > resumed_at]
        assert len(active[0]) + len(active[1]) == len(times)
        for run in active:
            assert run == list(range(run[0], run[-1] + S, S))
        for instance in started:
            wait_for(
                lambda i=instance: client.get_instance(i["id"])["status"] == "completed",
                what=f"{instance['id']} to complete",
            )
        assert_one_instance_per_fire(client, started)
        # each instance ran its one step exactly once
        assert effects.read_text().split() == ["0"] * len(started)
        shown = cli(server, "schedules", "get", "tick", "--format", "json")
        assert shown["fires"] == len(started) and shown["last_instance_id"] == started[-1]["id"]
        listed = cli(server, "schedules", "list", "--format", "json")
        assert [s["name"] for s in listed] == ["tick"]
        fired = cli(server, "schedules", "trigger", "tick", "--format", "json")
        assert fired["outcome"] == "started"
        assert cli(server, "schedules", "delete", "tick", "--format", "json")["name"] == "tick"


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_start_each_fire_once(tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with postgres_schema_url() as url:
        first = Server(url, tmp_path / "a", server_id="a").start()
        second = Server(url, tmp_path / "b", server_id="b").start()
        try:
            with first.client() as client:
                register_worker(client)
                for name in ("p", "q"):
                    client.create_schedule(
                        name,
                        "worker",
                        every="1s",
                        overlap="allow",
                        input={"items": 1, "effects": str(effects)},
                    )
                wait_for(
                    lambda: min(len(fires(client, n)) for n in ("p", "q")) >= 6,
                    what="6 fires of each schedule",
                )
                for name in ("p", "q"):
                    client.pause_schedule(name)
                started = fires(client, "p") + fires(client, "q")
                for name in ("p", "q"):  # no fire lost between the two either
                    times = [ms(i["scheduled_at"]) for i in fires(client, name)]
                    assert times == list(range(times[0], times[-1] + S, S)), (name, times)
                for instance in started:
                    wait_for(
                        lambda i=instance: client.get_instance(i["id"])["status"] == "completed",
                        what=f"{instance['id']} to complete",
                    )
                assert_one_instance_per_fire(client, started)
                servers = {
                    client.list_events(i["id"], event_type="launched")[0]["payload"]["server"]
                    for i in started
                }
        finally:
            first.stop()
            second.stop()
    assert effects.read_text().split() == ["0"] * len(started)
    assert servers <= {"a", "b"}


def test_fires_missed_while_the_server_was_stopped_follow_catchup(
    db_url: str, tmp_path: Path
) -> None:
    server = Server(
        db_url, tmp_path / "data", server_id="s1", env={"RUNTARA_SCHEDULE_GRACE_SECONDS": "1"}
    ).start()
    try:
        with server.client() as client:
            register_worker(client)
            for catchup in ("all", "latest", "none"):
                client.create_schedule(
                    catchup,
                    "worker",
                    every="1s",
                    overlap="allow",
                    catchup=catchup,
                    input={"items": 0},
                )
            wait_for(
                lambda: min(len(fires(client, n)) for n in ("all", "latest", "none")) >= 2,
                what="2 fires of each schedule",
            )
        server.stop()
        stopped_at = time.time() * 1000
        time.sleep(4)  # the outage: fire times pass while no server runs
        restarting_at = time.time() * 1000
        server.start()
        with server.client() as client:
            wait_for(
                lambda: all(
                    ms(fires(client, n)[-1]["scheduled_at"]) > restarting_at + S
                    for n in ("all", "latest", "none")
                ),
                what="on-time fires after the restart",
            )
            seen = {
                n: [ms(i["scheduled_at"]) for i in fires(client, n)]
                for n in ("all", "latest", "none")
            }
            skipped = {n: client.get_schedule(n)["skipped"] for n in seen}
    finally:
        server.stop()
    last = max(t for t in seen["none"] if t < stopped_at)  # the last fire before the stop
    assert last == max(t for t in seen["latest"] if t < stopped_at)
    # all: every fire, the missed ones too, in consecutive seconds
    assert seen["all"] == list(range(seen["all"][0], seen["all"][-1] + S, S))
    assert skipped["all"] == 0
    # none: no fire of the outage; the next one started is on time
    after = [t for t in seen["none"] if t > last]
    assert after[0] > restarting_at - 2 * S and after == list(range(after[0], after[-1] + S, S))
    # latest: the same, plus exactly the one missed fire just before the first on-time one
    latest_after = [t for t in seen["latest"] if t > last]
    assert latest_after[0] == after[0] - S
    assert set(latest_after) - set(after) == {after[0] - S}
    assert skipped["none"] == skipped["latest"] + 1 >= 3
