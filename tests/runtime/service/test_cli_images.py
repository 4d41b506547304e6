"""`runtara images ...` and `runtara instances start` against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.servers import Server, wait_status

EXAMPLES = Path(__file__).parents[3] / "examples"


def runtara(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args, "--tenant", "t1", "--url", server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_images_register_list_get_and_delete(server: Server) -> None:
    first = runtara(server, "images", "register", "job", "--command", "true", "--format", "json")
    second = runtara(
        server,
        "images",
        "register",
        "job",
        "--command",
        "true",
        "--memory",
        "64M",
        "--format",
        "json",
    )
    assert first.returncode == 0, first.stderr
    assert (json.loads(first.stdout)["version"], json.loads(second.stdout)["version"]) == (1, 2)
    listed = json.loads(runtara(server, "images", "list", "--format", "json").stdout)
    assert [(i["name"], i["version"]) for i in listed] == [("job", 2), ("job", 1)]
    latest = json.loads(runtara(server, "images", "get", "job", "--format", "json").stdout)
    assert latest["version"] == 2 and latest["limits"]["memory_bytes"] == 64 << 20
    assert runtara(server, "images", "delete", "job:1").returncode == 0
    missing = runtara(server, "images", "get", "job:1")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_bad_registrations_are_refused_with_a_clear_message(server: Server, tmp_path: Path) -> None:
    both = runtara(server, "images", "register", "x", "--command", "true", "--oci", "img:1")
    assert both.returncode == 2 and "exactly one of --command" in both.stderr
    memory = runtara(server, "images", "register", "x", "--command", "true", "--memory", "lots")
    assert memory.returncode == 1 and "memory 'lots'" in memory.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "steps": ')
    bad_json = runtara(server, "images", "register", "x", "--workflow", str(broken))
    assert bad_json.returncode == 2 and f"{broken}:1:" in bad_json.stderr
    (tmp_path / "empty.json").write_text('{"name": "x"}')
    invalid = runtara(server, "images", "register", "x", "--workflow", str(tmp_path / "empty.json"))
    # checked locally first, worded and located exactly as `runtara validate` does
    assert invalid.returncode == 1 and "empty.json:1:1: S001" in invalid.stderr
    unknown = runtara(server, "images", "register", "x", "--oci", "no-such-image:404")
    assert unknown.returncode == 1 and "no-such-image:404" in unknown.stderr
    assert "Traceback" not in "".join(r.stderr for r in (both, memory, bad_json, invalid, unknown))
    start = runtara(server, "instances", "start", "nothing-here", "--input", "{}")
    assert start.returncode == 1 and "image 'nothing-here' not found" in start.stderr
    bad_input = runtara(server, "instances", "start", "x", "--input", "{oops")
    assert bad_input.returncode == 2 and "--input: invalid JSON" in bad_input.stderr


def test_a_json_workflow_image_runs_as_an_instance(server: Server) -> None:
    registered = runtara(
        server, "images", "register", "hello", "--workflow", str(EXAMPLES / "hello.json")
    )
    assert registered.returncode == 0, registered.stderr
    started = runtara(
        server,
        "instances",
        "start",
        "hello",
        "--input",
        '{"name": "ada", "language": "fr"}',
        "--format",
        "json",
    )
    assert started.returncode == 0, started.stderr
    instance_id = json.loads(started.stdout)["id"]
    with server.client() as client:
        done = wait_status(client, instance_id, "completed", "failed")
    assert done["status"] == "completed", done
    assert done["output"]["message"] == "Bonjour, Ada!"
