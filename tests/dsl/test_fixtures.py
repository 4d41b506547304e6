"""One invalid document per diagnostic code: each reports its code at the marked line.

A fixture's file name starts with the code it demonstrates; its ``description`` ends with
``expect line with: <text>``, and the code must be reported on the first other line
containing that text. The full diagnostics are pinned by syrupy snapshots
(``pytest --snapshot-update`` after an intended change).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from runtara.dsl import CODES
from runtara.dsl.validation import find_child_workflows, validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*.json"))
VALID = sorted((FIXTURES / "valid").glob("*.json"))
_DESCRIPTION = re.compile(r'"description": ("(?:[^"\\]|\\.)*")')
_MARKER = "expect line with: "


def marked_line(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    match = _DESCRIPTION.search(text)
    assert match, f"{path.name} has no description with '{_MARKER}'"
    token = json.loads(match.group(1)).split(_MARKER, 1)[1]
    for number, line in enumerate(text.splitlines(), start=1):
        if token in line and _MARKER not in line:
            return number
    raise AssertionError(f"{path.name}: no line contains {token!r}")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_fixture_reports_its_code_at_the_marked_line(
    path: Path, snapshot: SnapshotAssertion
) -> None:
    children = find_child_workflows([FIXTURES / "invalid", FIXTURES / "children"])
    result = validate(path, children=set(children), child_files=children)
    code = path.name.split("_", 1)[0]
    line = marked_line(path)
    found = [(d.code, d.line) for d in result.diagnostics]
    assert (code, line) in found, f"expected {code} at line {line}, got {found}"
    assert result.ok is code.startswith("W")  # warnings alone leave a document valid
    assert [d.format(path.name) for d in result.diagnostics] == snapshot


def test_every_code_has_a_fixture() -> None:
    covered = {path.name.split("_", 1)[0] for path in INVALID}
    assert set(CODES) - covered == set()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_runtara_documents_validate(path: Path) -> None:
    children = find_child_workflows([FIXTURES / "valid"])
    result = validate(path, children=set(children), child_files=children)
    # Runtara's E052/E054 (data without a declared schema) are warnings here (DSL.md).
    assert [d.format(path.name) for d in result.diagnostics if d.code not in ("W052", "W054")] == []
