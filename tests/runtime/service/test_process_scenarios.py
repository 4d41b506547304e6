"""The environment end to end: real `runtara server` processes running real instance
processes (tests/support/programs/worker.py), killed and restarted for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtara.client import ApiError
from tests.support.servers import (
    PROGRAMS,
    WORKER,
    Server,
    effects,
    instance_pids,
    wait_for,
    wait_status,
)

COMMAND = f"{sys.executable} {WORKER}"


def register(server: Server, name: str = "worker", **options: object) -> dict:
    with server.client() as client:
        return client.register_image(name, command=COMMAND, **options)  # type: ignore[arg-type]


def test_start_runs_the_instance_to_completion_with_its_environment_and_logs(
    server: Server, tmp_path: Path
) -> None:
    register(server, memory="256M", cpus=0.5, timeout=60)
    out = tmp_path / "effects.txt"
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "instances",
            "start",
            "worker",
            "--tenant",
            "t1",
            "--input",
            json.dumps({"items": 3, "effects": str(out)}),
            "--id",
            "job-1",
            "--url",
            server.url,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(started.stdout)["id"] == "job-1"
    with server.client() as client:
        done = wait_status(client, "job-1", "completed", "failed")
        assert done["status"] == "completed", done
        assert done["output"] == {"items": 3}
        assert effects(out) == [0, 1, 2]
        process = wait_for(lambda: (p := client.process_info("job-1"))["server"] is None and p)
        assert process["peak_memory_bytes"] > 1_000_000
        assert process["cpu_time_ms"] >= 0
        assert process["limits"]["rlimit_as_bytes"] == 256 << 20
        assert process["limits"]["open_files"] == 1024
        lines = [(x["stream"], x["line"]) for x in client.read_logs("job-1")["lines"]]
    assert ("stdout", "started job-1") in lines
    assert ("stderr", "a line on stderr") in lines
    logs = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "instances",
            "logs",
            "job-1",
            "--tenant",
            "t1",
            "--url",
            server.url,
            "--follow",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "started job-1" in logs.stdout
    assert "a line on stderr" in logs.stderr
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "instances",
            "process",
            "job-1",
            "--tenant",
            "t1",
            "--url",
            server.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "runner: process" in shown.stdout and "peak memory:" in shown.stdout
    assert "cgroup_memory_bytes=268435456" in shown.stdout or "rlimit_as_bytes" in shown.stdout


def test_kill_9_of_the_instance_process_restarts_it_and_no_step_runs_twice(
    server: Server, tmp_path: Path
) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker", {"items": 40, "effects": str(out), "delay": 0.05}, instance_id="k9"
        )
        wait_for(lambda: len(effects(out)) >= 10, what="ten steps")
        (pid,) = instance_pids("k9", server.url)
        os.kill(pid, signal.SIGKILL)
        done = wait_status(client, "k9", "completed", "failed")
        assert done["status"] == "completed", done
        crashed = client.list_events("k9", event_type="crashed")
        launches = client.list_events("k9", event_type="launched")
    done_steps = effects(out)
    assert len(done_steps) == len(set(done_steps))  # no checkpointed step ran twice
    # the worker saves a step's checkpoint before its effect: at most the step in flight
    # when the process was killed lost its effect
    assert len(done_steps) >= 39 and set(done_steps) <= set(range(40))
    assert len(crashed) == 1 and "signal 9" in crashed[0]["payload"]["message"]
    assert len(launches) == 2
    # recovered: two launches, and the output is how it ended (not the crash's error)
    assert (done["attempts"], done["output"], done["error"]) == (2, {"items": 40}, None)


def test_a_launch_that_crashed_before_registering_counts_and_recovery_shows_the_output(
    server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed-once"
    first_launch_crashes = (
        f"import os, runpy, sys; marker = {str(marker)!r}; first = not os.path.exists(marker); "
        "open(marker, 'w').close(); "
        f"sys.exit(5) if first else runpy.run_path({str(WORKER)!r}, run_name='__main__')"
    )
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.register_image("flaky", command=[sys.executable, "-c", first_launch_crashes])
        client.start_instance("flaky", {"items": 2, "effects": str(out)}, instance_id="fl")
        done = wait_status(client, "fl", "completed", "failed")
    assert done["status"] == "completed", done
    assert (done["attempts"], done["output"], done["error"]) == (2, {"items": 2}, None)
    shown = subprocess.run(
        [sys.executable, "-m", "runtara", "instances", "get", "fl", "--tenant", "t1"],
        env={**os.environ, "RUNTARA_URL": server.url},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "attempts: 2" in shown
    assert 'output: {"items": 2}' in shown
    assert not any(line.startswith("error:") for line in shown)


def test_durable_sleep_holds_no_process_and_wakes_on_time(server: Server, tmp_path: Path) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker",
            {"items": 4, "effects": str(out), "sleep_at": 2, "sleep_s": 2},
            instance_id="nap",
        )
        asleep = wait_status(client, "nap", "sleeping")
        wait_for(
            lambda: not instance_pids("nap", server.url), timeout=15, what="the process to exit"
        )
        done = wait_status(client, "nap", "completed", "failed")
        launches = client.list_events("nap", event_type="launched")
    assert done["status"] == "completed"
    assert effects(out) == [0, 1, 2, 3]
    # Through the sleep, never a process: launched once before it, once at its end (how
    # soon after the wake time is measured in benchmarks/environment.py).
    assert len(launches) == 2
    assert client_time(launches[1]["created_at"]) >= client_time(asleep["wake_at"])


def client_time(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_durable_sleep_survives_a_server_killed_and_restarted(
    server: Server, tmp_path: Path
) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker",
            {"items": 3, "effects": str(out), "sleep_at": 1, "sleep_s": 2},
            instance_id="nap2",
        )
        wait_status(client, "nap2", "sleeping")
        wait_for(
            lambda: not instance_pids("nap2", server.url), timeout=15, what="the process to exit"
        )
    server.kill()
    server.start()
    with server.client() as client:
        done = wait_status(client, "nap2", "completed", "failed")
    assert done["status"] == "completed"
    assert effects(out) == [0, 1, 2]


def test_pause_suspends_without_a_process_and_resume_finishes_each_item_once(
    server: Server, tmp_path: Path
) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker", {"items": 1000, "effects": str(out), "delay": 0.002}, instance_id="loop"
        )
        wait_for(lambda: len(effects(out)) >= 100, what="a hundred items")
        client.pause_instance("loop")
        wait_status(client, "loop", "suspended")
        wait_for(
            lambda: not instance_pids("loop", server.url), timeout=15, what="the process to exit"
        )
        done_before = len(effects(out))
        assert 100 <= done_before < 1000
        server.wait_scheduler_passes()
        assert len(effects(out)) == done_before and instance_pids("loop", server.url) == []
        resumed = subprocess.run(
            [sys.executable, "-m", "runtara", "instances", "resume", "loop", "--tenant", "t1"],
            env={**os.environ, "RUNTARA_URL": server.url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        done = wait_status(client, "loop", "completed", "failed", timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    # the new status, not the suspended one the request found
    assert resumed.stdout.splitlines()[1] in ("status: running", "status: completed")
    assert done["status"] == "completed"
    assert effects(out) == list(range(1000))


def test_cancel_ends_the_instance_and_leaves_no_process(server: Server, tmp_path: Path) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker", {"items": 1000, "effects": str(out), "delay": 0.01}, instance_id="cx"
        )
        wait_for(lambda: effects(out), what="a first item")
        client.cancel_instance("cx")
        done = wait_status(client, "cx", "cancelled", "completed", "failed")
        assert done["status"] == "cancelled"
        wait_for(
            lambda: not instance_pids("cx", server.url), timeout=15, what="the process to exit"
        )
    assert len(effects(out)) < 1000


def test_a_process_ignoring_cancel_is_killed_after_the_grace_period(
    server: Server, tmp_path: Path
) -> None:
    with server.client() as client:
        client.register_image("stubborn", command=[sys.executable, "-c", STUBBORN])
        client.start_instance("stubborn", {}, instance_id="st")
        wait_status(client, "st", "running")
        client.cancel_instance("st")
        started = time.monotonic()
        done = wait_status(client, "st", "cancelled", "failed", timeout=20)
        assert done["status"] == "cancelled"
        assert time.monotonic() - started >= 0.9  # the grace period (1 s here) was given
        wait_for(
            lambda: not instance_pids("st", server.url), timeout=15, what="the process to be killed"
        )


STUBBORN = (
    "import time; from runtara.sdk import Runtara; rt = Runtara.from_env().register(); "
    "time.sleep(600)"
)


def test_crashes_restart_with_backoff_then_fail_with_the_last_error(server: Server) -> None:
    register(server)
    with server.client() as client:
        client.start_instance("worker", {"exit_code": 7}, instance_id="boom", max_attempts=3)
        done = wait_status(client, "boom", "failed", timeout=30)
        crashes = client.list_events("boom", event_type="crashed")
    assert done["error"]["exit_code"] == 7
    assert done["error"]["attempts"] == done["attempts"] == 3
    assert "gave up after 3" in done["error"]["message"]
    assert "a line on stderr" in done["error"]["stderr"]
    assert len(crashes) == 2
    # exponential: the second wait is twice the first (0.2 s, 0.4 s)
    gaps = [c["payload"]["restart_at"] for c in crashes]
    assert gaps[0] < gaps[1]


def test_timeout_kills_the_process_and_fails_with_the_reason(server: Server) -> None:
    with server.client() as client:
        client.register_image("slow", command=[sys.executable, "-c", STUBBORN], timeout=1)
        client.start_instance("slow", {}, instance_id="slow-1")
        done = wait_status(client, "slow-1", "failed", timeout=20)
        wait_for(
            lambda: not instance_pids("slow-1", server.url),
            timeout=15,
            what="the process to be killed",
        )
    assert done["error"]["reason"] == "timeout"
    assert "timed out after 1 s" in done["error"]["message"]


def test_heartbeat_silence_is_a_crash(tmp_path: Path, sqlite_url: str) -> None:
    server = Server(
        sqlite_url,
        tmp_path / "data",
        server_id="hb",
        env={"RUNTARA_HEARTBEAT_TIMEOUT_SECONDS": "1"},
    ).start()
    try:
        with server.client() as client:
            client.register_image("silent", command=[sys.executable, "-c", STUBBORN])
            client.start_instance("silent", {}, instance_id="quiet", max_attempts=2)
            done = wait_status(client, "quiet", "failed", timeout=30)
        assert "no heartbeat" in done["error"]["message"]
        assert done["error"]["attempts"] == 2
    finally:
        server.stop()


def test_a_running_instance_is_adopted_by_its_restarted_server(
    server: Server, tmp_path: Path
) -> None:
    register(server)
    out = tmp_path / "effects.txt"
    with server.client() as client:
        client.start_instance(
            "worker",
            {"items": 60, "effects": str(out), "delay": 0.05, "print_items": True},
            instance_id="adopt",
        )
        wait_for(lambda: len(effects(out)) >= 5, what="five items")
    (pid,) = instance_pids("adopt", server.url)
    server.kill()
    server.start()
    with server.client() as client:
        done = wait_status(client, "adopt", "completed", "failed", timeout=60)
        launches = client.list_events("adopt", event_type="launched")
    assert done["status"] == "completed"
    assert len(launches) == 1  # the same process went on: adopted, not started again
    assert effects(out) == list(range(60))
    with server.client() as client:  # its output was read on from where it had been stored
        wait_for(lambda: client.read_logs("adopt", limit=1)["ended"], what="the last lines")
        printed = [x["line"] for x in client.read_logs("adopt")["lines"]]
    assert [line for line in printed if line.startswith("item ")] == [
        f"item {i}" for i in range(60)
    ]
    wait_for(
        lambda: pid not in instance_pids("adopt", server.url),
        timeout=15,
        what="the process to exit",
    )


def test_an_image_cannot_be_deleted_while_an_instance_runs(server: Server) -> None:
    with server.client() as client:
        client.register_image("busy", command=[sys.executable, "-c", STUBBORN])
        client.start_instance("busy", {}, instance_id="busy-1")
        wait_status(client, "busy-1", "running")
        with pytest.raises(ApiError) as refused:
            client.delete_image("busy")
        assert refused.value.status == 409
        client.cancel_instance("busy-1")
        wait_status(client, "busy-1", "cancelled", timeout=20)
        client.delete_image("busy")
        with pytest.raises(ApiError) as gone:
            client.get_image("busy")
        assert gone.value.status == 404


def test_a_program_that_cannot_start_fails_at_once(server: Server) -> None:
    with server.client() as client:
        client.register_image("ghost", command="/no/such/program --flag")
        client.start_instance("ghost", {}, instance_id="g1")
        done = wait_status(client, "g1", "failed")
    assert "cannot start '/no/such/program'" in done["error"]["message"]


def test_a_signal_wakes_an_instance_that_waits_for_it_without_a_process(server: Server) -> None:
    with server.client() as client:
        client.register_image("approval", command=f"{sys.executable} {PROGRAMS / 'approval.py'}")
        client.start_instance("approval", {}, instance_id="ap")
        wait_status(client, "ap", "sleeping")
        wait_for(
            lambda: not instance_pids("ap", server.url), timeout=15, what="the process to exit"
        )
        # A signal to another checkpoint does not wake it (it used to relaunch it in a loop).
        client.send_signal("ap", "something-else", {"by": "mallory"})
        server.wait_scheduler_passes()
        assert instance_pids("ap", server.url) == []
        client.send_signal("ap", "approve", {"by": "ada"})
        # Woken by the signal: the wait has no deadline, wait_status gives up after a minute.
        done = wait_status(client, "ap", "completed", "failed")
        waits = client.list_events("ap", event_type="waiting")
    assert done["output"] == {"approved_by": "ada"}
    assert len(waits) == 1  # the rerun found the payload at once


def test_a_signal_wait_times_out_at_its_deadline_without_a_process(server: Server) -> None:
    with server.client() as client:
        client.register_image("approval", command=f"{sys.executable} {PROGRAMS / 'approval.py'}")
        client.start_instance("approval", {"timeout_s": 2}, instance_id="apt")
        wait_status(client, "apt", "sleeping")
        wait_for(
            lambda: not instance_pids("apt", server.url), timeout=15, what="the process to exit"
        )
        done = wait_status(client, "apt", "completed", "failed")
        waits = client.list_events("apt", event_type="waiting")
    assert done["output"] == {"approved_by": None, "timed_out": True}
    assert len(waits) == 1  # one wait, its deadline fixed at the first call


def test_an_image_that_cannot_be_launched_fails_after_its_attempts(
    server: Server, sqlite_url: str
) -> None:
    from runtara.runtime.store import images, open_store

    with open_store(sqlite_url) as store:  # a damaged image: its command line is gone
        store.run(
            images.create_image, "t1", "damaged", "process", "?", metadata={"kind": "command"}
        )
    with server.client() as client:
        client.start_instance("damaged", {}, instance_id="dmg", max_attempts=2)
        done = wait_status(client, "dmg", "failed")
    assert done["error"]["reason"] == "launch"
    assert "launch failed: KeyError" in done["error"]["message"]
    assert done["error"]["attempts"] == 2
    assert done["attempts"] == 2  # the instance's own count: both launches, none registered


def test_output_beyond_the_cap_is_cut_not_stored(tmp_path: Path, sqlite_url: str) -> None:
    server = Server(
        sqlite_url, tmp_path / "data", server_id="cap", env={"RUNTARA_MAX_LOG_LINES": "5"}
    ).start()
    chatty = "for i in range(50): print(f'line {i}')"
    try:
        with server.client() as client:
            client.register_image("chatty", command=[sys.executable, "-c", chatty])
            client.start_instance("chatty", {}, instance_id="ch", max_attempts=1)
            wait_status(client, "ch", "failed")  # it never reports: a crash
            wait_for(lambda: client.read_logs("ch", limit=1)["ended"], what="the last lines")
            printed = [x["line"] for x in client.read_logs("ch")["lines"]]
    finally:
        server.stop()
    assert printed == [f"line {i}" for i in range(5)] + ["[runtara: output cut after 5 lines]"]
