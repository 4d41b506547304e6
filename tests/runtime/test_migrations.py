"""The migrations layout: one shared file where the dialects agree, one per dialect where
they differ, never both; every dialect sees the same versions, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtara.runtime.store.migrate import DIALECTS, available


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    for dialect in DIALECTS:
        (root / dialect).mkdir(exist_ok=True)
    return root


def test_the_shipped_migrations_have_the_same_versions_in_every_dialect() -> None:
    versions = {d: [(m.version, m.name) for m in available(d)] for d in DIALECTS}
    assert versions["sqlite"] == versions["postgresql"]
    assert [v for v, _ in versions["sqlite"]] == sorted({v for v, _ in versions["sqlite"]})


def test_a_shared_migration_runs_on_every_dialect_and_a_dialect_file_only_on_its_own(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "0002_add.sql": "ALTER TABLE t ADD COLUMN c TEXT;",
            "sqlite/0001_initial.sql": "CREATE TABLE t (b BLOB);",
            "postgresql/0001_initial.sql": "CREATE TABLE t (b BYTEA);",
        },
    )
    sqlite = available("sqlite", root)
    postgresql = available("postgresql", root)
    assert [(m.version, m.sql) for m in sqlite] == [
        (1, "CREATE TABLE t (b BLOB);"),
        (2, "ALTER TABLE t ADD COLUMN c TEXT;"),
    ]
    assert [m.sql for m in postgresql] == [
        "CREATE TABLE t (b BYTEA);",
        "ALTER TABLE t ADD COLUMN c TEXT;",
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"0003_x.sql": "", "sqlite/0003_x.sql": "", "postgresql/0003_x.sql": ""},
            "0003 is both shared",
        ),
        ({"sqlite/0004_y.sql": ""}, "0004 is dialect-specific but missing in postgresql/"),
        ({"0005_a.sql": "", "0005_b.sql": ""}, "two migrations numbered 0005"),
    ],
)
def test_a_tree_that_breaks_the_rule_is_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        available("sqlite", _tree(tmp_path, files))
