"""``runtara --help`` and every command's help, as a user reads them: the one exit-code
table (the same in the README), plain placeholders instead of Python type names, and a
description for every option and argument."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtara.cli import command
from runtara.cli.exits import TABLE, Exit, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"
#: What typer prints for Python types: <bool>, <str>, <list[Path]>, {file}.
PYTHON_TYPES = re.compile(r"<(bool|str|int|float|path|list|dict|tuple)\b|list\[|\{[A-Za-z_]+\}")


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = [path for path, _ in _commands(command())]


#: Renders every command's help in one process (one interpreter start, not fifty).
RENDER = """
import json, sys
from runtara.cli import command
for path in json.loads(sys.argv[1]):
    print("\\f" + " ".join(path), flush=True)
    try:
        command().main([*path, "--help"], prog_name="runtara", standalone_mode=False)
    except SystemExit:
        pass
    sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def helps() -> dict[tuple[str, ...], str]:
    done = subprocess.run(
        [sys.executable, "-c", RENDER, json.dumps(COMMANDS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    pages = done.stdout.split("\f")[1:]
    shown = {tuple(p.split("\n", 1)[0].split()): p.split("\n", 1)[1] for p in pages}
    assert set(shown) == set(COMMANDS)
    return shown


def test_readme_shows_the_exit_code_table() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8")


def test_root_help_shows_the_exit_code_table(helps: dict[tuple[str, ...], str]) -> None:
    shown = " ".join(helps[()].split())
    for code, meaning in TABLE:
        assert f"{int(code)} {' '.join(meaning.split())}" in shown


def test_every_exit_status_is_in_the_table() -> None:
    assert [code for code, _ in TABLE] == list(Exit)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "runtara")
def test_help_has_no_python_type_names(
    path: tuple[str, ...], helps: dict[tuple[str, ...], str]
) -> None:
    shown = helps[path]
    assert "Usage: runtara" in shown
    assert not PYTHON_TYPES.findall(shown), shown


def test_every_option_and_argument_is_described() -> None:
    undescribed = [
        f"runtara {' '.join(path)} {param.name}"
        for path, cmd in _commands(command())
        for param in cmd.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert undescribed == []
