"""Versioned SQL migrations, one directory per dialect, applied at start.

``migrations/<dialect>/NNNN_name.sql`` files run in order, each at most once, all
pending ones in a single transaction recorded in ``schema_migrations``. On PostgreSQL
an advisory lock keeps concurrently starting replicas from racing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from runtara.runtime.store.database import Database, Tx

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_ADVISORY_LOCK_ID = 0x52554E54  # "RUNT"


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


def available(dialect: str) -> list[Migration]:
    folder = resources.files("runtara.runtime.store.migrations").joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


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
