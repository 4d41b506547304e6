"""Runtara's own corpus: every document gets Runtara's verdict, every execution case its end.

The corpus (``../shared/runtara-corpus`` beside the repository; see its README) holds
documents written for Runtara 8.7.3 with the verdict of Runtara's validator on each, and
execution cases from Runtara's test suite. It is read where it lies, never copied in.
A document that names child workflows gets them as ``--child`` files named by their
``childWorkflowId`` (symbolic links in a temporary directory).

Where this project decides otherwise on purpose (DSL.md, "Runtara's corpus wins") or a
recorded verdict is wrong, ``EXCEPTIONS`` says what is expected instead and why. The
AiAgent documents are here too; their runs against a model server are in
``tests/sdk/flow/test_ai_agent.py`` (the manifest records no execution case for them).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runtara.cli import app
from runtara.dsl.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "runtara-corpus"
MANIFEST = CORPUS / "manifest.json"

#: Runtara's E052 / E054 are warnings here (DSL.md): a quick workflow needs no schema.
AS_WARNINGS = {"E052": "W052", "E054": "W054"}


@dataclass(frozen=True)
class Expected:
    """What ``runtara validate`` must answer for one document."""

    exit_code: int
    codes: frozenset[str]
    """Codes that must be among the diagnostics."""
    reason: str = ""
    """Why this differs from Runtara's recorded verdict (empty when it does not)."""


#: Documents whose verdict here differs from the recorded one, with the reason.
EXCEPTIONS: dict[str, Expected] = {
    # Runtara 8.7.3 removed the Connection step, so its parser refuses these documents;
    # DSL.md keeps accepting it ("documents written for older versions keep working"),
    # and each document then gets the verdict its own description names.
    "documents/validation/error_security_leak.json": Expected(
        1, frozenset({"E040"}), "Connection step kept here (DSL.md); Runtara 8.7.3 removed it"
    ),
    "documents/validation/error_security_leak_to_finish.json": Expected(
        1, frozenset({"E041"}), "Connection step kept here (DSL.md); Runtara 8.7.3 removed it"
    ),
    "documents/validation/warning_unused_connection.json": Expected(
        1,
        frozenset({"W040", "E030", "E021"}),
        "Connection step kept here (DSL.md); Runtara 8.7.3 removed it. The file also uses "
        "the stale ids 'bearer' (E030) and transform 'map' (E021), as Runtara's own "
        "validation examples do",
    ),
    # Runtara's E051 here is its check of a data field the inputSchema does not declare,
    # which is W054 in this project; our E051 is an unknown child workflow.
    "documents/validation/error_undefined_data_reference.json": Expected(
        1,
        frozenset({"E021", "W054"}),
        "Runtara's E051 (data field not in the inputSchema) is W054 here",
    ),
}


def _manifest() -> dict[str, Any] | None:
    if not MANIFEST.is_file():
        return None
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


MANIFEST_DATA = _manifest()
ABSENT = pytest.mark.skipif(MANIFEST_DATA is None, reason=f"the Runtara corpus is not at {CORPUS}")


def is_ai_agent(document: str) -> bool:
    """Whether a corpus document holds an AiAgent step."""
    return '"AiAgent"' in (CORPUS / document).read_text(encoding="utf-8")


def _documents() -> list[dict[str, Any]]:
    if MANIFEST_DATA is None:
        return []
    return list(MANIFEST_DATA["documents"])


def _runs() -> list[dict[str, Any]]:
    if MANIFEST_DATA is None:
        return []
    return list(MANIFEST_DATA["runs"])


def expected_verdict(entry: dict[str, Any]) -> Expected:
    """Runtara's verdict as this project gives it: exit status and codes."""
    if entry["document"] in EXCEPTIONS:
        return EXCEPTIONS[entry["document"]]
    verdict = entry["runtara_verdict"]
    if verdict == "valid":
        return Expected(0, frozenset())
    if verdict == "parse_error":
        return Expected(2, frozenset())
    codes = set(entry.get("runtara_error_codes", []))
    hard = codes - set(AS_WARNINGS)
    warned = frozenset(AS_WARNINGS[c] for c in codes & set(AS_WARNINGS))
    if not hard:
        return Expected(0, warned)
    # A code Runtara has and this project lacks (E026, E126) only asks for the refusal.
    return Expected(1, frozenset(hard & set(CODES)) | warned)


def children_dir(entry: dict[str, Any], tmp_path: Path) -> list[str]:
    """``--child DIR`` with each child workflow linked under its ``childWorkflowId``."""
    children = entry.get("children") or {}
    if not children:
        return []
    directory = tmp_path / "children"
    directory.mkdir()
    for child_id, document in children.items():
        (directory / f"{child_id}.json").symlink_to(CORPUS / document)
    return ["--child", str(directory)]


def _id(entry: dict[str, Any]) -> str:
    return str(entry["document"]).removeprefix("documents/")


def _codes(output: str) -> set[str]:
    """The codes in ``runtara validate --format json`` output."""
    report = json.loads(output)
    return {d["code"] for f in report["files"] for d in f["diagnostics"]}


@ABSENT
def test_the_corpus_is_here() -> None:
    """Without this, the parametrized tests below would silently be none (CI: a failure)."""
    assert _documents() and _runs()


@ABSENT
def test_the_ai_agent_documents_are_checked() -> None:
    """The 13 AiAgent documents of Runtara 8.7.3 are among the verdicts above."""
    assert len([d for d in _documents() if is_ai_agent(d["document"])]) == 13


@ABSENT
@pytest.mark.parametrize("entry", _documents(), ids=_id)
def test_verdict(entry: dict[str, Any], tmp_path: Path) -> None:
    expected = expected_verdict(entry)
    document = str(CORPUS / entry["document"])
    args = ["validate", "--format", "json", document, *children_dir(entry, tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == expected.exit_code, (
        f"Runtara says {entry['runtara_verdict']} {entry.get('runtara_error_codes', '')}"
        f"{' (here: ' + expected.reason + ')' if expected.reason else ''}; got:\n"
        f"{result.stdout}"
    )
    if expected.exit_code != 2:
        missing = expected.codes - _codes(result.stdout)
        assert not missing, f"missing {sorted(missing)} in:\n{result.stdout}"


def runtara_run(
    entry: dict[str, Any], tmp_path: Path, instance_id: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "RUNTARA_SKIP_NATIVE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "run",
            str(CORPUS / entry["document"]),
            "--input",
            json.dumps(entry["input"]),
            "--id",
            instance_id,
            *children_dir(entry, tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=environment,
    )


def durable_sleeps(store: Path, instance_id: str) -> list[str]:
    """The durable sleeps the runtime fixed for the instance (their checkpoint ids)."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE instance_id = ? AND content_type = ?",
            (instance_id, "application/vnd.runtara.sleep+json"),
        ).fetchall()
    return [row[0] for row in rows]


@ABSENT
@pytest.mark.parametrize("entry", _runs(), ids=lambda r: f"{_id(r)}-{r['runtara_outcome']}")
def test_execution_case(entry: dict[str, Any], tmp_path: Path) -> None:
    outcome = entry["runtara_outcome"]
    done = runtara_run(entry, tmp_path, "corpus-case")
    if outcome == "Fails":
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        return
    assert done.returncode == 0, done.stdout + done.stderr
    output = json.loads(done.stdout)
    assert isinstance(output, dict), done.stdout
    if outcome == "Sleeps":
        assert durable_sleeps(tmp_path / ".data" / "runtara.db", "corpus-case"), (
            "the instance completed without a durable sleep in the store"
        )
