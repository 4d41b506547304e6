"""What both dialects share: a transaction handle, typed operations, and the Database API.

SQL in the store is written once with ``?`` placeholders and portable statements
(``INSERT ... ON CONFLICT``, ``RETURNING``, conditional ``UPDATE``); the PostgreSQL
backend rewrites ``?`` to ``%s``. Store code never commits: an operation is a function
of a :class:`Tx`, and the :class:`Database` runs it in exactly one transaction.

Why plain drivers rather than SQLAlchemy: the checkpoint hot path is a handful of
statements per request, and SQLite durability at high rates needs group commit (one
writer thread committing many operations per fsync), which wants direct control of
the connection and its transactions. The SQL is small enough to keep portable by hand.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

Row = Mapping[str, Any]
Params = Sequence[Any]


class Tx:
    """One open transaction on one connection; handed to operations, committed by the Database."""

    __slots__ = ("_conn", "_translate", "dialect")

    def __init__(self, conn: Any, dialect: str, translate: Callable[[str], str]) -> None:
        self._conn = conn
        self._translate = translate
        self.dialect = dialect

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        cur = self._conn.execute(self._translate(sql), params)
        return int(cur.rowcount)

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._conn.execute(self._translate(sql), params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self._conn.execute(self._translate(sql), params).fetchall()
        return rows

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return None if row is None else next(iter(dict(row).values()))


@dataclass(frozen=True, slots=True)
class Op(Generic[P, T]):
    """A store operation: a function of a transaction, marked as reading or writing.

    Calling it with a ``Tx`` runs it inside that transaction, so operations compose.
    """

    fn: Callable[Concatenate[Tx, P], T]
    writes: bool

    def __call__(self, tx: Tx, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.fn(tx, *args, **kwargs)

    @property
    def name(self) -> str:
        return self.fn.__name__


def write_op(fn: Callable[Concatenate[Tx, P], T]) -> Op[P, T]:
    """Declare an operation that changes data (SQLite: runs on the group-commit writer)."""
    return Op(fn, writes=True)


def read_op(fn: Callable[Concatenate[Tx, P], T]) -> Op[P, T]:
    """Declare a read-only operation (runs on a reader connection, concurrently)."""
    return Op(fn, writes=False)


class Database(abc.ABC):
    """A connection source that runs each operation in exactly one transaction."""

    dialect: str

    @abc.abstractmethod
    def write(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in a write transaction; return once it is durably committed."""

    @abc.abstractmethod
    async def awrite(self, fn: Callable[[Tx], T]) -> T:
        """Like :meth:`write`, without blocking the event loop."""

    @abc.abstractmethod
    def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in a read-only transaction."""

    @abc.abstractmethod
    async def aread(self, fn: Callable[[Tx], T]) -> T:
        """Like :meth:`read`, without blocking the event loop."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and threads (idempotent)."""


def now_ms() -> int:
    """Store clock: Unix epoch milliseconds (the one time unit of every table)."""
    return time.time_ns() // 1_000_000
