"""PostgreSQL backend: psycopg 3 with a connection pool, and group commit of writes.

Reads run one transaction per operation on a pooled connection. Writes go through a
queue served by a few writer threads: each takes every operation waiting (up to
``MAX_BATCH``), runs them in one transaction and commits once, then answers all of
them -- one commit (one WAL flush, one round trip) per batch of concurrent
checkpoints instead of one each. If an operation of a batch fails, the transaction
is rolled back and each operation of that batch runs again in a transaction of its
own, so a failing one fails alone (PostgreSQL has no cheap per-statement undo; a
savepoint per operation would cost two round trips each). Blocking reads run on a
thread pool sized like the connection pool, so async callers never block the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from runtara.runtime.errors import InvalidInput
from runtara.runtime.store.database import Database, Tx
from runtara.runtime.store.queued import Job, QueuedWrites

T = TypeVar("T")

#: Upper bound of write operations committed together.
MAX_BATCH = 256
#: Writer threads: one batch executes while another one's commit is flushed.
WRITERS = 4


@functools.lru_cache(maxsize=1024)
def _translate(sql: str) -> str:
    """Store SQL uses ``?`` placeholders; psycopg wants ``%s`` (and literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def conninfo(url: str) -> str:
    """Accept ``postgresql://``, ``postgres://`` and SQLAlchemy-style ``postgresql+psycopg://``."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class PostgresDatabase(QueuedWrites, Database):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 16, connect_timeout: int = 10) -> None:
        # One direct connection first: a wrong password or a down server is reported
        # with its real reason at once, instead of a pool timeout 30 s later.
        psycopg.connect(conninfo(url), connect_timeout=connect_timeout).close()
        self._pool = ConnectionPool(
            conninfo(url),
            min_size=2,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "autocommit": False},
            open=False,
            name="runtara",
        )
        self._pool.open(wait=True, timeout=30)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=pool_size, thread_name_prefix="runtara-pg"
        )
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = False
        self._writers = [
            threading.Thread(target=self._write_loop, name=f"runtara-pg-writer-{n}", daemon=True)
            for n in range(WRITERS)
        ]
        for writer in self._writers:
            writer.start()

    def _run(self, fn: Callable[[Tx], T]) -> T:
        try:
            with self._pool.connection() as conn:  # commits on success, rolls back on error
                return fn(Tx(conn, self.dialect, _translate))
        except psycopg.DataError as exc:
            raise _unstorable(exc) from None

    # -- writes: group commit ------------------------------------------------------------

    def _in_writer(self) -> bool:
        return threading.current_thread() in self._writers

    def _write_loop(self) -> None:
        while True:
            batch = self._next_batch(MAX_BATCH)
            if batch is None:
                return
            if len(batch) == 1:
                self._run_alone(batch[0])
            else:
                self._run_batch(batch)

    def _run_alone(self, job: Job) -> None:
        try:
            result = self._run(job.fn)
        except BaseException as exc:
            job.done(None, exc)
        else:
            job.done(result, None)

    def _run_batch(self, batch: list[Job]) -> None:
        results: list[Any] = []
        try:
            with self._pool.connection() as conn:  # one transaction, committed on exit
                tx = Tx(conn, self.dialect, _translate)
                for job in batch:
                    results.append(job.fn(tx))
        except BaseException:
            # Something failed (an operation, or the commit): nothing of the batch is
            # stored. Run each again on its own, so only a failing one fails.
            for job in batch:
                self._run_alone(job)
            return
        for job, result in zip(batch, results, strict=True):
            job.done(result, None)

    # -- reads ---------------------------------------------------------------------------

    def read(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn)

    async def aread(self, fn: Callable[[Tx], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for _ in self._writers:
                self._jobs.put(None)
            for writer in self._writers:
                writer.join(timeout=30)
        self._executor.shutdown(wait=True)
        self._pool.close()


def _unstorable(exc: psycopg.DataError) -> InvalidInput:
    """SQLSTATE class 22: a value PostgreSQL cannot store (e.g. a NUL character in
    text). It came from the request, so it is the caller's error (422)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidInput(f"a value cannot be stored: {reason}")
