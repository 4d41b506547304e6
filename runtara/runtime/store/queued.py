"""Writes handed to the database's writer threads, for both dialects.

A store operation that writes becomes a job on one queue; the backend's writer
thread(s) run the waiting jobs in batches and commit each batch once (group commit:
one fsync for many writers). This module is the caller's side, the same for SQLite
(one writer thread) and PostgreSQL (a few): submit a job, wait for its result from a
thread or from the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from runtara.runtime.store.database import Tx

T = TypeVar("T")


@dataclass(slots=True)
class Job:
    fn: Callable[[Tx], Any]
    done: Callable[[Any, BaseException | None], None]


class QueuedWrites:
    """``write``/``awrite`` over a queue of ``Job`` (the backend's writers consume it)."""

    _jobs: queue.SimpleQueue[Job | None]
    _closed: bool

    def _in_writer(self) -> bool:
        """Whether the calling thread is one of the writers (a nested write would wait
        on itself)."""
        raise NotImplementedError

    def write(self, fn: Callable[[Tx], T]) -> T:
        if self._in_writer():
            raise RuntimeError("nested write from inside a write operation; compose Ops instead")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def done(result: Any, error: BaseException | None) -> None:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        self._submit(Job(fn, done))
        return future.result()

    async def awrite(self, fn: Callable[[Tx], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.cancelled():
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        def done(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, result, error)

        self._submit(Job(fn, done))
        return await future

    def _next_batch(self, most: int) -> list[Job] | None:
        """For a writer thread: the next job (waiting for it) with up to ``most - 1``
        more already waiting, or None once the database closes."""
        first = self._jobs.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < most:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._jobs.put(None)  # finish this batch, then stop (the next writer too)
                break
            batch.append(job)
        return batch

    def _submit(self, job: Job) -> None:
        if self._closed:
            raise RuntimeError("database is closed")
        self._jobs.put(job)
