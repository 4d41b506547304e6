"""Nothing a stranger writes reaches a person's terminal as an escape sequence.

A workflow's log line holds what its document says (a tenant wrote it) and data (the
instance's input, as a webhook would deliver it); ``runtara run`` prints it on stderr
and ``runtara instances logs`` prints what the instance wrote. An ESC, BEL or newline in that data must show as
an escape (``\\x1b``), never recolour, retitle or clear the terminal or forge a line.
"""

from __future__ import annotations

import json
from pathlib import Path

from runtara.sdk.terminal import terminal_safe
from tests.support.polling import wait_for
from tests.support.run_processes import dev_server, runtara, write_json

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\rforged line\n[error] fake: \x9b31m"

WORKFLOW = {
    "name": "echo-name",
    "inputSchema": {"name": {"type": "string"}},
    "steps": {
        "say": {
            "stepType": "Log",
            "id": "say",
            "level": "info",
            "message": "hello " + HOSTILE,
            "context": {"name": {"valueType": "reference", "value": "data.name"}},
        },
        "done": {"stepType": "Finish", "id": "done"},
    },
    "entryPoint": "say",
    "executionPlan": [{"fromStep": "say", "toStep": "done"}],
}

RAW = ("\x1b", "\x07", "\r", "\x9b")


def _raw_controls(text: str) -> list[str]:
    return [c for c in RAW if c in text]


def test_terminal_safe_escapes_controls_and_keeps_printable_text() -> None:
    assert terminal_safe("é 🚀 ok") == "é 🚀 ok"
    assert terminal_safe("a\x1b[31mb\nc") == "a\\x1b[31mb\\x0ac"
    assert terminal_safe("a\nb\tc\x07", lines=True) == "a\nb\tc\\x07"
    assert terminal_safe("\u2028\ud800") == "\\u2028\\ud800"


def test_runtara_run_prints_a_hostile_log_message_escaped(tmp_path: Path) -> None:
    workflow = write_json(tmp_path / "echo.json", WORKFLOW).removeprefix("@")
    ran = runtara(tmp_path, "run", workflow, "--input", json.dumps({"name": HOSTILE}))
    assert ran.returncode == 0, ran.stderr
    assert _raw_controls(ran.stderr) == []
    said = [line for line in ran.stderr.splitlines() if "hello" in line]
    assert len(said) == 1, ran.stderr  # one line: the newline in the data forged none
    assert "\\x1b[2J\\x1b]0;pwned\\x07\\x0dforged line\\x0a[error] fake: \\x9b31m" in said[0]


def test_instances_logs_and_cli_errors_show_hostile_text_escaped(tmp_path: Path) -> None:
    workflow = write_json(tmp_path / "echo.json", WORKFLOW).removeprefix("@")
    with dev_server(tmp_path) as url:
        registered = runtara(
            tmp_path, "images", "register", "echo", "--workflow", workflow, url=url
        )
        assert registered.returncode == 0, registered.stderr
        started = runtara(
            tmp_path,
            "instances",
            "start",
            "echo",
            "--input",
            json.dumps({"name": HOSTILE}),
            "--format",
            "json",
            url=url,
        )
        assert started.returncode == 0, started.stderr
        instance_id = json.loads(started.stdout)["id"]

        def said() -> str:
            logs = runtara(tmp_path, "instances", "logs", instance_id, url=url)
            return logs.stdout + logs.stderr if "hello" in logs.stderr else ""

        shown = wait_for(said, 90, what="the instance's log line")
        assert _raw_controls(shown) == []
        assert "\\x1b]0;pwned\\x07" in shown

        as_json = runtara(tmp_path, "instances", "get", instance_id, "--format", "json", url=url)
        assert _raw_controls(as_json.stdout) == [], as_json.stdout
        assert json.loads(as_json.stdout)["input"] == {"name": HOSTILE}  # the same JSON

        missing = runtara(tmp_path, "instances", "get", f"no-such-{HOSTILE}", url=url)
        assert missing.returncode != 0
        assert _raw_controls(missing.stderr) == [], missing.stderr
