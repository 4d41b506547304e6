"""Versioned SQL migrations, applied at start; one file per change, shared by the dialects
wherever the SQL is the same.

A migration is ``NNNN_name.sql``, either

* in ``migrations/`` itself: portable SQL, run on SQLite and PostgreSQL alike (the
  usual case: write it this way when you can), or
* in every ``migrations/<dialect>/`` under the same name: one file per dialect, for
  SQL that differs (types such as ``BLOB``/``BYTEA``, identity columns).

Never both, and never in only some dialects: ``available`` refuses such a tree, and
tests/runtime/test_migrations.py checks the shipped one. To add a migration, take the
next free number, write the file, and run the store tests on both dialects.

Pending migrations run in order, each at most once, all in a single transaction
recorded in ``schema_migrations``. On PostgreSQL an advisory lock keeps concurrently
starting replicas from racing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from runtara.runtime.store.database import Database, Tx

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_ADVISORY_LOCK_ID = 0x52554E54  # "RUNT"
#: The dialects with a folder of their own under ``migrations/``.
DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split on ``;`` at line ends; comments are dropped. (No procedural SQL here.)"""
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [stmt.strip() for stmt in re.split(r";\s*$", body, flags=re.M) if stmt.strip()]


def available(dialect: str, root: Traversable | None = None) -> list[Migration]:
    """The migrations of ``dialect`` in version order: shared files plus its own.

    A tree that breaks the layout rule is a bug in runtara: ``RuntimeError``."""
    root = root or resources.files("runtara.runtime.store.migrations")
    shared = _files(root)
    own = {name: _files(root.joinpath(name)) for name in DIALECTS}
    for version, entry in shared.items():
        clash = [name for name, files in own.items() if version in files]
        if clash:
            raise RuntimeError(
                f"migration {version:04d} is both shared ({entry.name}) and in {', '.join(clash)}/"
            )
    for version in set().union(*own.values()):
        missing = [name for name, files in own.items() if version not in files]
        if missing:
            raise RuntimeError(
                f"migration {version:04d} is dialect-specific but missing in {', '.join(missing)}/"
            )
    chosen = {**shared, **own[dialect]}
    return [
        Migration(version, _FILE.match(entry.name)[2], entry.read_text(encoding="utf-8"))  # type: ignore[index]
        for version, entry in sorted(chosen.items())
    ]


def _files(folder: Traversable) -> dict[int, Traversable]:
    found: dict[int, Traversable] = {}
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            version = int(match[1])
            if version in found:
                raise RuntimeError(
                    f"two migrations numbered {version:04d} in {folder.name}/: "
                    f"{found[version].name}, {entry.name}"
                )
            found[version] = entry
    return found


def _apply(tx: Tx) -> list[int]:
    if tx.dialect == "postgresql":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK_ID,))
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
    )
    done = {row["version"] for row in tx.all("SELECT version FROM schema_migrations")}
    applied = []
    for migration in available(tx.dialect):
        if migration.version in done:
            continue
        for statement in migration.statements():
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, int(time.time() * 1000)),
        )
        applied.append(migration.version)
    return applied


def migrate(db: Database) -> list[int]:
    """Bring the schema up to date; return the versions applied now."""
    return db.write(_apply)
