"""A native build reports how far its C compilation is (``Count`` of C files): the
part of a build that takes minutes and during which Nuitka prints nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtara.compiler.native import MissingToolError, find_toolchain
from runtara.compiler.native.nuitka import _CFiles, nuitka_command, run_nuitka
from runtara.compiler.progress import BuildEvent, Count, ToolOutput
from tests.support.services import skip_missing


def test_c_files_are_counted_in_the_build_folder_and_one_below(tmp_path: Path) -> None:
    """``entrypoint.build`` (a launcher) and ``out/x.build`` (a module's --output-dir)."""
    launcher = tmp_path / "entrypoint.build" / "static_src"
    launcher.mkdir(parents=True)
    for name in ("a.c", "a.o", "b.c", "c.c", "notes.txt"):
        (launcher / name).write_text("")
    module = tmp_path / "out" / "workflow.build"
    module.mkdir(parents=True)
    for name in ("module.workflow.c", "module.workflow.os"):
        (module / name).write_text("")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "d.c").write_text("")  # not a build folder
    assert _CFiles(tmp_path, lambda _event: None).count() == (2, 4)


@pytest.mark.native
@pytest.mark.timeout(600)
def test_a_module_build_reports_its_c_files_until_all_are_compiled(tmp_path: Path) -> None:
    try:
        find_toolchain()
    except MissingToolError as exc:
        skip_missing("native toolchain", str(exc))
    source = tmp_path / "tiny.py"
    source.write_text("import json\n\n\ndef dump(value):\n    return json.dumps(value)\n")
    events: list[BuildEvent] = []
    run_nuitka(
        nuitka_command(["--mode=module", "--no-pyi-file", "--output-dir=out"], source, jobs=1),
        cache=tmp_path / "cache",
        cwd=tmp_path,
        progress=events.append,
    )
    counts = [event for event in events if isinstance(event, Count)]
    assert counts, [str(event) for event in events]
    assert all(event.unit == "C files" and 0 <= event.done <= event.total for event in counts)
    assert counts[-1].done == counts[-1].total > 0
    assert any(isinstance(event, ToolOutput) and "Nuitka" in event.text for event in events)
