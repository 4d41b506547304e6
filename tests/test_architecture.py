"""docs/architecture.md maps every folder: a new package or test folder must say its job
there (the import rules it draws are import-linter contracts, checked by lint-imports)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
SKIP = {"__pycache__", "__snapshots__"}


def _folders() -> list[str]:
    found = []
    for top in ("runtara", "tests"):
        for folder in sorted((ROOT / top).rglob("*")):
            if not folder.is_dir() or SKIP & set(folder.parts) or folder.name.startswith("."):
                continue
            direct_child = folder.parent.name == top
            if direct_child or any(folder.glob("*.py")):
                found.append(f"{folder.relative_to(ROOT).as_posix()}/")
    return found


def test_every_package_and_test_folder_is_in_the_architecture_doc() -> None:
    folders = _folders()
    assert "runtara/runtime/store/" in folders and "tests/support/" in folders
    assert [f for f in folders if f"`{f}`" not in DOC] == []
