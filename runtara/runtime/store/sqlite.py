"""SQLite backend: WAL, ``synchronous=FULL``, and group commit on one writer thread.

SQLite allows one writer at a time and every durable commit costs an fsync. So all
writes go through a single thread that takes every operation waiting in its queue,
runs each inside its own SAVEPOINT (a failing operation rolls back alone), commits
the batch with one fsync, and only then answers each caller. Under load many
checkpoints share one fsync; nothing is acknowledged before it is on disk.
Reads use per-thread connections and run concurrently with the writer (WAL).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from runtara.runtime.store.database import Database, Tx
from runtara.runtime.store.queued import Job, QueuedWrites

T = TypeVar("T")

#: Upper bound of operations committed together; keeps one batch's latency bounded.
MAX_BATCH = 512


def _identity(sql: str) -> str:
    return sql


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -> a path."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL (expected sqlite:///path): {url!r}")
    rest = url[len("sqlite:///") :].split("?", 1)[0]
    if not rest or rest == ":memory:":
        raise ValueError(
            f"a SQLite database needs a file path (WAL is not possible in memory): {url!r}"
        )
    return Path(rest)


def absolute_sqlite_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute against the current directory.

    Done once when settings are read: the server and the instances it starts in their
    own working folders must all mean the same file. Other URLs are returned as given.
    """
    if not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    rest, sep, query = url[len("sqlite:///") :].partition("?")
    if not rest or rest == ":memory:":
        return url  # refused with its reason when opened
    absolute = f"sqlite:///{Path(rest).absolute()}"
    return f"{absolute}{sep}{query}"


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteDatabase(QueuedWrites, Database):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = connect(self.path)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer = threading.Thread(
            target=self._write_loop, name="runtara-sqlite-writer", daemon=True
        )
        self._writer.start()

    # -- writes -------------------------------------------------------------------------

    def _in_writer(self) -> bool:
        return threading.current_thread() is self._writer

    def _write_loop(self) -> None:
        conn = self._writer_conn
        tx = Tx(conn, self.dialect, _identity)
        while True:
            batch = self._next_batch(MAX_BATCH)
            if batch is None:
                return
            self._run_batch(conn, tx, batch)

    def _run_batch(self, conn: sqlite3.Connection, tx: Tx, batch: list[Job]) -> None:
        # A batch of one needs no savepoint: its failure rolls back the whole transaction.
        isolate = len(batch) > 1
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                if isolate:
                    conn.execute("SAVEPOINT op")
                try:
                    result = job.fn(tx)
                except BaseException as exc:  # the op failed: undo only its own changes
                    if isolate:
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                    else:
                        conn.execute("ROLLBACK")
                    outcomes.append((None, exc))
                else:
                    if isolate:
                        conn.execute("RELEASE op")
                    outcomes.append((result, None))
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nothing of the batch is stored
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.done(None, exc)
            return
        for job, (result, error) in zip(batch, outcomes, strict=True):
            job.done(result, error)

    # -- reads --------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def read(self, fn: Callable[[Tx], T]) -> T:
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            return fn(Tx(conn, self.dialect, _identity))
        finally:
            conn.execute("ROLLBACK")

    async def aread(self, fn: Callable[[Tx], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, self.read, fn)

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._writer.join(timeout=30)
        self._writer_conn.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
