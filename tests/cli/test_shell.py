"""The CLI shell: help, version, and the command groups later issues fill in."""

from __future__ import annotations

import subprocess
import sys

from runtara import __version__


def runtara(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    result = runtara("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"runtara {__version__}"


def test_help_lists_every_command_group() -> None:
    result = runtara("--help")
    assert result.returncode == 0
    for command in (
        "validate",
        "schema",
        "codegen",
        "run",
        "compile",
        "push",
        "server",
        "instances",
        "images",
        "agents",
        "connections",
        "tenants",
    ):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    result = runtara("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr
