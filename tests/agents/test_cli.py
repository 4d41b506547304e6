"""``runtara agents list|show``."""

from __future__ import annotations

import json
import subprocess
import sys

from runtara.agents.catalog import catalog


def runtara(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtara", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_list_json_has_every_agent_and_typed_inputs() -> None:
    result = runtara("agents", "list", "--format", "json")

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert [a["id"] for a in listing] == list(catalog().agents)
    http = next(a for a in listing if a["id"] == "http")
    assert http["secure"] is True
    request = http["capabilities"][0]
    assert request["id"] == "http-request"
    assert {"name": "url", "type": "string", "required": True}.items() <= request["inputs"][
        1
    ].items()
    assert request["acceptsConnection"] is True


def test_list_text_is_a_table_of_capabilities() -> None:
    result = runtara("agents", "list")

    assert result.returncode == 0
    assert "sftp-upload-file" in result.stdout
    assert "country-name-to-iso-code" in result.stdout


def test_show_capability_json() -> None:
    result = runtara("agents", "show", "csv:from-csv", "--format", "json")

    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert shown["agentId"] == "csv" and shown["id"] == "from-csv"
    assert [i["name"] for i in shown["inputs"]][:3] == ["data", "encoding", "delimiter"]


def test_show_agent_text() -> None:
    result = runtara("agents", "show", "xml")

    assert result.returncode == 0
    assert "xml:from-xml" in result.stdout and "xml:to-xml" in result.stdout


def test_show_unknown_capability_suggests_and_fails() -> None:
    result = runtara("agents", "show", "utils:calculat")

    assert result.returncode == 1
    assert "Did you mean 'calculate'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_types_are_shown_with_their_secret_parameters() -> None:
    shown = runtara("agents", "show", "http_basic", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    spec = json.loads(shown.stdout)
    assert spec["id"] == "http_basic" and spec["agents"] == ["http"]
    secret = {p["name"] for p in spec["parameters"] if p.get("secret")}
    assert secret == {"password"}
    listing = runtara("agents", "list")
    assert "http_bearer" in listing.stdout and "token* (secret)" in listing.stdout
    # "sftp" names an agent and a connection type: the agent wins, listing its connection.
    sftp = runtara("agents", "show", "sftp")
    assert "sftp:sftp-upload-file" in sftp.stdout and "host_key" in sftp.stdout


def test_unknown_names_get_a_case_insensitive_suggestion_in_one_line() -> None:
    result = runtara("agents", "show", "HTTP_BEARER")
    assert result.returncode == 1
    assert "Did you mean 'http_bearer'?" in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
