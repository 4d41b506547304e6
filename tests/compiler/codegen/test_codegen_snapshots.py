"""The module generated for every example is pinned (one ``.py`` snapshot per example)
and is clean under the project's own ``ruff check``.

After an intended change to codegen: ``pytest tests/compiler/test_codegen_snapshots.py
--snapshot-update`` and review the diff like any other code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from runtara.compiler.codegen import generate
from runtara.compiler.codegen.documents import read_workflow

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


class PythonSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "py"


@pytest.fixture
def snapshot_py(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(PythonSnapshot)


def _generated(example: Path) -> str:
    return generate(read_workflow(example), source=str(example.relative_to(ROOT)))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_generated_module_is_pinned(example: Path, snapshot_py: SnapshotAssertion) -> None:
    assert _generated(example) == snapshot_py


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_generated_module_passes_ruff(example: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--stdin-filename",
            "generated.py",
            "-",
        ],
        input=_generated(example),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 6
