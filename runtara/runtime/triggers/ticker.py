"""The loop inside each server that fires due schedules (one per server, on its event loop).

It sleeps until the earliest next fire (or a poll interval, so schedules created on
another server are seen), then fires what is due in one transaction per batch and
nudges the instance scheduler to launch the new instances at once. The clock is
injectable: the schedule logic never reads the time itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from runtara.runtime.store import Store
from runtara.runtime.store.database import now_ms
from runtara.runtime.triggers import hooks, schedules

log = logging.getLogger("runtara.triggers")

#: Schedules taken per transaction, and fires per schedule per transaction.
BATCH = 100
#: Transactions firing at once on PostgreSQL: ``SKIP LOCKED`` gives each its own
#: schedules, so a burst (1,000 due in one second) is spread over connections. SQLite
#: has one writer: one at a time.
PARALLEL = {"postgresql": 4}
#: Expired Idempotency-Keys are forgotten this often.
PRUNE_EVERY_MS = 60_000


class Ticker:
    def __init__(
        self,
        store: Store,
        *,
        poll_s: float,
        grace_s: float,
        on_fired: Callable[[], None] = lambda: None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self.grace_ms = round(grace_s * 1000)
        self.on_fired = on_fired
        self.clock = clock
        self._nudge = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._next_prune = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._main(), name="triggers")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def nudge(self) -> None:
        """Look again now (a schedule was created or resumed on this server)."""
        self._nudge.set()

    async def _main(self) -> None:
        while not self._stopping:
            try:
                pause = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store may be briefly unavailable: keep going
                log.exception("schedule tick failed")
                pause = self.poll_s
            self._nudge.clear()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._nudge.wait(), pause)

    async def tick(self) -> float:
        """Fire what is due now; answers how long to wait before looking again."""
        now = self.clock()
        if now >= self._next_prune:
            await self.store.arun(hooks.prune_deliveries, now=now)
            self._next_prune = now + PRUNE_EVERY_MS
        due_in = await self.store.arun(schedules.due_in_ms, now=now)
        if due_in is None:
            return self.poll_s
        if due_in > 0:
            return min(self.poll_s, due_in / 1000)
        now = self.clock()
        batches = await asyncio.gather(
            *(
                self.store.arun(
                    schedules.fire_due,
                    now=now,
                    grace_ms=self.grace_ms,
                    limit=BATCH,
                    max_fires=BATCH,
                )
                for _ in range(PARALLEL.get(self.store.dialect, 1))
            )
        )
        fired = [fire for batch in batches for fire in batch]
        if any(fire.outcome == "started" for fire in fired):
            self.on_fired()
        for fire in fired:
            if fire.outcome == "failed":
                log.warning("schedule %s/%s: %s", fire.tenant_id, fire.schedule, fire.error)
        # nothing taken: another server holds those schedules for a moment
        return 0.0 if fired else min(self.poll_s, 0.05)
