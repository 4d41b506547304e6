"""PostgreSQL backend: psycopg 3 with a connection pool, one transaction per operation.

PostgreSQL already groups concurrent commits into shared WAL flushes, so each
operation simply commits on its own pooled connection. Blocking calls run on a
thread pool sized like the connection pool, so async callers never block the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from runtara.runtime.errors import InvalidInput
from runtara.runtime.store.database import Database, Tx

T = TypeVar("T")


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


class PostgresDatabase(Database):
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

    def _run(self, fn: Callable[[Tx], T]) -> T:
        try:
            with self._pool.connection() as conn:  # commits on success, rolls back on error
                return fn(Tx(conn, self.dialect, _translate))
        except psycopg.DataError as exc:
            # SQLSTATE class 22: a value PostgreSQL cannot store (e.g. a NUL character
            # in text). It came from the request, so it is the caller's error (422).
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInput(f"a value cannot be stored: {reason}") from None

    def write(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn)

    def read(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn)

    async def awrite(self, fn: Callable[[Tx], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    async def aread(self, fn: Callable[[Tx], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._pool.close()
