"""``runtara schedules`` and ``runtara hooks``: flags, ``--format json`` and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime
from runtara.runtime.triggers.signing import sign


@pytest.fixture
def runtime(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRuntime]:
    monkeypatch.setenv("RUNTARA_SCHEDULER", "off")  # instances stay pending
    with EmbeddedRuntime(f"sqlite:///{tmp_path}/r.db") as running:
        with Client(running.url, tenant="t1") as client:
            client.register_image("job", command="python3 job.py")
        yield running


def run(
    runtime: EmbeddedRuntime, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args, "--url", runtime.url, "--tenant", "t1"],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


def test_schedules_cli(runtime: EmbeddedRuntime) -> None:
    made = run(
        runtime,
        "schedules",
        "create",
        "nightly",
        "--image",
        "job",
        "--cron",
        "30 2 * * *",
        "--timezone",
        "Europe/Berlin",
        "--input",
        '{"full": true}',
        "--overlap",
        "buffer-one",
        "--catchup",
        "all",
        "--start",
        "2030-01-01T00:00:00",
        "--end",
        "2030-02-01T00:00:00Z",
    )
    assert made.returncode == 0, made.stderr
    assert "At 02:30 every day (Europe/Berlin)" in made.stdout
    assert "2030-01-01T01:30:00.000Z  (2030-01-01T02:30:00+01:00)" in made.stdout
    shown = json.loads(run(runtime, "schedules", "get", "nightly", "--format", "json").stdout)
    assert (shown["overlap"], shown["catchup"], shown["input"]) == (
        "buffer-one",
        "all",
        {"full": True},
    )
    assert shown["start"] == "2029-12-31T23:00:00.000Z"  # read in the schedule's zone
    assert shown["next_fires"][:2] == ["2030-01-01T01:30:00.000Z", "2030-01-02T01:30:00.000Z"]
    assert len(shown["next_fires"]) == 5
    fired = json.loads(run(runtime, "schedules", "trigger", "nightly", "--format", "json").stdout)
    assert fired["outcome"] == "started"
    buffered = run(runtime, "schedules", "trigger", "nightly")
    assert buffered.returncode == 0 and "buffered" in buffered.stdout
    skipped = run(runtime, "schedules", "trigger", "nightly")
    assert skipped.returncode == 1 and "still running" in skipped.stderr
    paused = json.loads(run(runtime, "schedules", "pause", "nightly", "--format", "json").stdout)
    assert paused["state"] == "paused"
    listed = json.loads(run(runtime, "schedules", "list", "--format", "json").stdout)
    assert [(s["name"], s["state"]) for s in listed] == [("nightly", "paused")]
    assert (
        json.loads(run(runtime, "schedules", "resume", "nightly", "--format", "json").stdout)[
            "state"
        ]
        == "active"
    )
    assert (
        run(runtime, "schedules", "delete", "nightly").stdout.strip() == "deleted schedule nightly"
    )
    gone = run(runtime, "schedules", "get", "nightly")
    assert gone.returncode == 1 and "schedule 'nightly' not found" in gone.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--cron", "* * * * *", "--every", "1m"], 2, "give exactly one of --cron and --every"),
        ([], 2, "give exactly one of --cron and --every"),
        (["--every", "1m", "--timezone", "UTC"], 2, "--timezone applies to --cron only"),
        (["--every", "1m", "--overlap", "queue"], 2, "'queue' is not one of"),
        (["--every", "1m", "--input", "{bad"], 2, "--input: invalid JSON"),
        (["--cron", "0 0 31 2 *"], 1, "is not a cron expression"),
        (["--every", "0s"], 1, "shorter than the minimum of 1s"),
    ],
)
def test_schedules_create_refuses_bad_flags(
    runtime: EmbeddedRuntime, args: list[str], code: int, message: str
) -> None:
    done = run(runtime, "schedules", "create", "s", "--image", "job", *args)
    assert (done.returncode, done.stdout) == (code, ""), done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_hooks_cli(runtime: EmbeddedRuntime) -> None:
    made = run(
        runtime,
        "hooks",
        "create",
        "orders",
        "--image",
        "job",
        "--secret",
        "-",
        stdin="s3cret-from-stdin\n",
    )
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(f"{runtime.url}/v1/hooks/hk_")
    body = b'{"order": 7}'
    delivered = httpx.post(
        url, content=body, headers={"X-Runtara-Signature": sign("s3cret-from-stdin", body)}
    )
    assert delivered.status_code == 202
    shown = run(runtime, "hooks", "get", "orders", "--format", "json")
    hook = json.loads(shown.stdout)
    assert hook["url"] == url and hook["signed"] is True and "s3cret" not in shown.stdout
    assert [d["instance_id"] for d in hook["deliveries"]] == [delivered.json()["instance_id"]]
    listed = json.loads(run(runtime, "hooks", "list", "--format", "json").stdout)
    assert [h["name"] for h in listed] == ["orders"]
    rotated = run(runtime, "hooks", "rotate-secret", "orders")
    secret = rotated.stdout.strip()
    assert rotated.returncode == 0 and len(secret) >= 32 and "shown once" in rotated.stderr
    assert (
        httpx.post(
            url, content=body, headers={"X-Runtara-Signature": sign(secret, body)}
        ).status_code
        == 202
    )
    assert secret not in run(runtime, "hooks", "get", "orders", "--format", "json").stdout
    deleted = json.loads(run(runtime, "hooks", "delete", "orders", "--format", "json").stdout)
    assert deleted["name"] == "orders"
    assert httpx.post(url, content=body).status_code == 404
    missing = run(runtime, "hooks", "create", "x", "--image", "nope")
    assert missing.returncode == 1 and "image 'nope' not found" in missing.stderr
