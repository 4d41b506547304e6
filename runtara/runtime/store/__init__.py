"""The durable store: one API over SQLite (embedded default) and PostgreSQL.

Operations live in modules by subject (``instances``, ``checkpoints``, ``signals``,
``events``, ``tenants``, ``connections``, ``images``, ``logs``) as :class:`Op` values;
a :class:`Store` runs each in one transaction::

    store = open_store("sqlite:///.data/runtara.db")
    instance = store.run(instances.get_instance, "tenant-1", "order-batch-001")
    result = await store.arun(checkpoints.save_checkpoint, caller, "order-42", b"...")
"""

from __future__ import annotations

from typing import ParamSpec, TypeVar

from runtara.runtime.errors import StoreUnavailable
from runtara.runtime.store.database import Database, Op, Tx
from runtara.runtime.store.migrate import migrate
from runtara.runtime.store.secrets import SecretBox

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite:///.data/runtara.db"


class Store:
    """Runs store operations on a database; ``secrets`` seals connection parameters."""

    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self.db = db
        self.secrets = secrets

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def run(self, op: Op[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def call(tx: Tx) -> T:
            return op.fn(tx, *args, **kwargs)

        return self.db.write(call) if op.writes else self.db.read(call)

    async def arun(self, op: Op[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def call(tx: Tx) -> T:
            return op.fn(tx, *args, **kwargs)

        return await (self.db.awrite(call) if op.writes else self.db.aread(call))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_database(url: str) -> Database:
    """``sqlite:///path`` or ``postgresql://...`` -> a Database (schema not touched)."""
    if url.startswith("sqlite:"):
        from runtara.runtime.store.sqlite import SqliteDatabase

        return SqliteDatabase(url)
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        from runtara.runtime.store.postgres import PostgresDatabase

        return PostgresDatabase(url)
    raise StoreUnavailable(
        f"unsupported database URL {redact_url(url)!r}: use sqlite:///path or postgresql://..."
    )


def open_store(url: str = DEFAULT_DATABASE_URL, *, secret_key: str | None = None) -> Store:
    """Open the database, apply pending migrations, and return a ready Store.

    Raises ``StoreUnavailable`` naming the database (without its password) and the cause.
    """
    try:
        db = open_database(url)
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(f"cannot open {redact_url(url)}: {_reason(exc)}") from exc
    try:
        migrate(db)
    except BaseException as exc:
        db.close()
        if isinstance(exc, Exception):
            raise StoreUnavailable(f"cannot migrate {redact_url(url)}: {_reason(exc)}") from exc
        raise
    return Store(db, SecretBox(secret_key))


def redact_url(url: str) -> str:
    """The URL without a password (``user:***@``)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
