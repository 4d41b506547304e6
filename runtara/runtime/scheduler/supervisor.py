"""The scheduler inside the server: starts due instances and watches their processes.

One loop per server, on the server's event loop:

* claim due work (see ``store.scheduling``): new instances, sleepers whose wake time
  passed, resumed ones, crashed ones whose backoff passed, orphans of a vanished server;
* launch each through its image's runner (or adopt the process still alive from this
  server's former life), store its output, and when it ends let ``record_exit`` decide:
  asleep, suspended, done, restarted after a backoff, or failed for good;
* renew the leases of live processes; kill a process that overran its timeout, fell
  silent (no heartbeat) or ignored a cancel past the grace; let go of one whose lease
  another server took (it adopted the process, or launched a new one whose fresh token
  locks the old one out).

Nothing is kept only in memory: a server killed at any point leaves leases that expire
(or that it takes back at restart, when its id is stable), and the work is claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from runtara.runtime.errors import NotFound
from runtara.runtime.runners.base import Exited, Launched, LaunchError, LaunchSpec, Runner
from runtara.runtime.runners.resources import Limits
from runtara.runtime.scheduler.config import SchedulerConfig
from runtara.runtime.scheduler.specs import instance_environment, launch_spec
from runtara.runtime.status import TERMINAL, Status
from runtara.runtime.store import Store, images, instances, scheduling
from runtara.runtime.store.database import now_ms
from runtara.runtime.store.scheduling import Backoff, ProcessExit, Work

#: Instances claimed in one pass: the next pass waits for this one's launches to be
#: begun, so a burst of due instances is taken in few passes (one claim transaction
#: takes about a millisecond per hundred rows).
CLAIM_BATCH = 256
log = logging.getLogger("runtara.scheduler")

#: Live processes are checked (heartbeat, timeout, cancel) this often.
WATCH_EVERY_S = 0.5
#: Output is moved from the runner to the store this often.
LOGS_EVERY_S = 0.25
#: After the grace period SIGTERM, then this long later SIGKILL.
KILL_AFTER_TERM_S = 2.0
#: The last lines of stderr kept in a crash's error.
STDERR_TAIL_LINES = 20

Key = tuple[str, str]


@dataclass
class Live:
    """A process this server runs, and why it may have to be stopped."""

    work: Work
    handle: Launched
    started: float
    deadline: float | None
    timeout_s: float | None
    kill_reason: str | None = None
    kill_message: str | None = None
    stop_asked_at: float | None = None
    stderr_tail: list[str] = field(default_factory=list)
    stored_lines: int = 0
    #: The task following it (cancelled when another server takes the lease over).
    task: asyncio.Task[None] | None = None


class Scheduler:
    def __init__(
        self,
        store: Store,
        config: SchedulerConfig,
        runners: dict[str, Runner],
        instance_url: str,
    ) -> None:
        self.store = store
        self.config = config
        self.runners = runners
        self.instance_url = config.instance_url or instance_url
        self.owner = config.server_id or socket.gethostname()
        self.data_dir = config.data_dir or Path(".data")
        self.host = socket.gethostname()
        self.live: dict[Key, Live] = {}
        self._starting: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._nudge = asyncio.Event()
        self._stopping = False
        #: Claim passes completed: shows the scheduler is alive (``/metrics``), and lets
        #: a test wait for a few passes instead of sleeping to see that nothing starts.
        self.passes = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._backoff = Backoff(
            round(config.restart_backoff_s * 1000), round(config.restart_backoff_max_s * 1000)
        )
        #: Told (tenant, instance) after a process exit was recorded (tracing the end).
        self.on_ended: Callable[[str, str], Awaitable[None]] | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._main(), name="scheduler")

    async def stop(self) -> None:
        """Stop claiming; leave processes running (the next server adopts them)."""
        self._stopping = True
        self._nudge.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for runner in self.runners.values():
            runner.close()

    def nudge(self) -> None:
        """Look for due work now (an instance was started or resumed on this server)."""
        self._nudge.set()

    # -- the loop ---------------------------------------------------------------------

    async def _main(self) -> None:
        for work in await self.store.arun(scheduling.owned_work, self.owner):
            self._spawn(work)  # leases of this server id's former life
        next_renew = next_watch = 0.0
        while not self._stopping:
            try:
                now = time.monotonic()
                if now >= next_renew and (self.live or self._starting):
                    await self._renew()
                    next_renew = now + self.config.lease_s / 3
                if now >= next_watch and self.live:
                    await self._watch()
                    next_watch = now + WATCH_EVERY_S
                pause = await self._claim()
                self.passes += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the store may be briefly unavailable: keep going
                log.exception("scheduler tick failed")
                pause = self.config.poll_s
            self._nudge.clear()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._nudge.wait(), pause)

    async def _claim(self) -> float:
        """Claim what is due; answers how long to wait before looking again."""
        room = self.config.max_processes - len(self.live) - len(self._starting)
        if room <= 0:
            return self.config.poll_s
        due_in = await self.store.arun(scheduling.due_in_ms)
        if due_in is None or due_in > 0:
            return self.config.poll_s if due_in is None else min(self.config.poll_s, due_in / 1000)
        claimed = await self.store.arun(
            scheduling.claim_due,
            self.owner,
            lease_ms=round(self.config.lease_s * 1000),
            limit=min(room, CLAIM_BATCH),
        )
        for work in claimed:
            self._spawn(work)
        return 0.0 if len(claimed) == min(room, CLAIM_BATCH) else self.config.poll_s

    def _spawn(self, work: Work) -> None:
        if work.key in self.live or work.key in self._starting:
            return
        self._starting.add(work.key)
        task = asyncio.get_running_loop().create_task(self._run(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renew(self) -> None:
        held = await self.store.arun(
            scheduling.renew_leases, self.owner, lease_ms=round(self.config.lease_s * 1000)
        )
        for key, live in list(self.live.items()):
            if key not in held and live.task is not None:
                log.warning("lease of %s/%s taken over by another server; letting go", *key)
                live.task.cancel()

    async def _watch(self) -> None:
        """Kill what overran its timeout, fell silent, or ignores a stop."""
        now, wall = time.monotonic(), now_ms()
        silent_ms = self.config.heartbeat_timeout_s * 1000
        grace = self.config.cancel_grace_s
        for seen in await self.store.arun(scheduling.liveness, self.owner):
            live = self.live.get((seen.tenant_id, seen.id))
            if live is None or not live.handle.is_running():
                continue
            if live.kill_reason is not None:
                continue
            if live.deadline is not None and now >= live.deadline:
                await self._kill(live, "timeout", f"timed out after {live.timeout_s:g} s")
            elif (
                seen.status in (Status.running, Status.pending)
                and seen.last_seen_at is not None
                and wall - seen.last_seen_at > silent_ms
            ):
                silence = (wall - seen.last_seen_at) / 1000
                await self._kill(live, "heartbeat", f"no heartbeat for {silence:.0f} s")
            elif seen.pending_signal == "cancel" or seen.status not in (
                Status.running,
                Status.pending,
            ):
                # asked to stop (or already ended / asleep): it should exit by itself
                if live.stop_asked_at is None:
                    live.stop_asked_at = now
                elif now - live.stop_asked_at >= grace + KILL_AFTER_TERM_S:
                    await self._kill(live, "cancel", f"still running {grace:g} s after a stop")
                elif now - live.stop_asked_at >= grace:
                    await live.handle.terminate()

    async def _kill(self, live: Live, reason: str, message: str) -> None:
        live.kill_reason, live.kill_message = reason, message
        log.info("killing %s/%s: %s", live.work.tenant_id, live.work.id, message)
        await live.handle.kill()

    # -- one instance -----------------------------------------------------------------

    async def _run(self, work: Work) -> None:
        try:
            handle = await self._start(work)
        except Exception as exc:
            # Counted like a crash, so it is retried after a backoff and fails for good
            # after max_attempts, rather than claimed again at once, forever.
            log.exception("starting %s/%s failed", *work.key)
            with contextlib.suppress(Exception):
                await self.store.arun(
                    scheduling.record_exit,
                    self.owner,
                    *work.key,
                    ProcessExit(None, f"launch failed: {type(exc).__name__}: {exc}", "launch"),
                    backoff=self._backoff,
                )
            return
        finally:
            self._starting.discard(work.key)
        if handle is None:
            return
        live, limits = handle
        live.task = asyncio.current_task()
        self.live[work.key] = live
        try:
            exited = await self._follow(live)
            await self._finish(live, exited, limits)
        finally:
            self.live.pop(work.key, None)
            self._nudge.set()

    async def _start(self, work: Work) -> tuple[Live, Limits] | None:
        """Launch (or adopt) the process of claimed work; None when none is needed."""
        store = self.store
        if await store.arun(scheduling.settle_without_process, self.owner, work) is not None:
            return None
        if await store.arun(scheduling.release_unless_due, self.owner, *work.key):
            return None  # e.g. it ended while its former server was going down
        found = await self._image_and_runner(work)
        if found is None:
            return None
        image, runner = found
        limits = Limits.from_dict(image.metadata.get("limits"))

        def track(handle: Launched, running_for_s: float = 0.0) -> tuple[Live, Limits]:
            """``running_for_s``: how long an adopted process has run already."""
            started = time.monotonic() - running_for_s
            deadline = None
            if limits.timeout_s is not None:
                deadline = started + max(0.0, limits.timeout_s - work.active_ms / 1000)
            return Live(work, handle, started, deadline, limits.timeout_s), limits

        if work.process_ref and work.process_host == self.host:
            adopted = await runner.adopt(work.process_ref, self._spec(image, work, {}))
            if adopted is not None:
                log.info("adopted the live process of %s/%s", *work.key)
                return track(adopted, max(0, now_ms() - (work.launched_at or now_ms())) / 1000)
        if work.process_ref and work.status in (Status.running, Status.pending):
            # it was launched, nobody watched it end, and it did not report: a crash
            await store.arun(
                scheduling.record_exit,
                self.owner,
                *work.key,
                ProcessExit(None, "the process ended while no server watched it", "lost"),
                backoff=self._backoff,
            )
            return None
        launched = await self._launch(work, image, runner)
        return None if launched is None else track(launched)

    async def _image_and_runner(self, work: Work) -> tuple[images.Image, Runner] | None:
        """The image to run and its runner; a missing one fails the instance."""
        try:
            assert work.image_id is not None
            image = await self.store.arun(images.get_image, work.tenant_id, work.image_id)
        except NotFound:
            problem = f"image {work.image_id!r} no longer exists"
        else:
            runner = self.runners.get(image.runner)
            if runner is not None:
                return image, runner
            problem = (
                f"image {image.label} needs the {image.runner!r} runner, which this server lacks"
            )
        await self.store.arun(scheduling.fail_launch, self.owner, *work.key, problem)
        return None

    def _spec(self, image: images.Image, work: Work, environment: dict[str, str]) -> LaunchSpec:
        return launch_spec(
            image,
            tenant_id=work.tenant_id,
            instance_id=work.id,
            environment=environment,
            data_dir=self.data_dir,
            server_id=self.owner,
        )

    async def _launch(self, work: Work, image: images.Image, runner: Runner) -> Launched | None:
        """A new process with a fresh token (the previous one stops working)."""
        store = self.store
        instance = await store.arun(instances.get_instance, *work.key)
        token = await store.arun(
            scheduling.begin_launch, self.owner, *work.key, host=self.host, runner=runner.name
        )
        environment = instance_environment(
            self.config.instance_environment(),
            url=self.instance_url,
            tenant_id=work.tenant_id,
            instance_id=work.id,
            token=token,
            input=instance.input,
        )
        try:
            handle = await runner.launch(self._spec(image, work, environment))
        except LaunchError as exc:
            await store.arun(scheduling.fail_launch, self.owner, *work.key, str(exc))
            return None
        await store.arun(
            scheduling.record_process, self.owner, *work.key, handle.ref, handle.applied
        )
        return handle

    async def _follow(self, live: Live) -> Exited:
        """Move output to the store until the process ends."""
        waiter = asyncio.ensure_future(live.handle.wait())
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=LOGS_EVERY_S)
                await self._store_logs(live)
                if done:
                    return waiter.result()
        finally:
            waiter.cancel()

    async def _store_logs(self, live: Live) -> None:
        lines = live.handle.drain_logs()
        if not lines:
            return
        live.stderr_tail.extend(line for stream, line in lines if stream == "stderr")
        del live.stderr_tail[:-STDERR_TAIL_LINES]
        cap = self.config.max_log_lines
        room = cap - live.stored_lines
        if room <= 0:  # a runaway printer: keep reading (the files), stop storing
            lines = []
        elif len(lines) > room:
            lines = [
                *lines[:room],
                ("stderr", f"[runtara: output cut after {cap} lines]"),
            ]
        live.stored_lines += len(lines)
        try:
            await self.store.arun(
                scheduling.record_output, self.owner, *live.work.key, lines, live.handle.ref
            )
        except Exception:  # an instance deleted meanwhile; its output has nowhere to go
            log.debug("dropping %d log lines of %s/%s", len(lines), *live.work.key)

    async def _finish(self, live: Live, exited: Exited, limits: Limits) -> None:
        await self._store_logs(live)
        message = exited.describe()
        if live.kill_message:
            message = f"{live.kill_message}; {message}"
        exit = ProcessExit(
            exit_code=exited.exit_code,
            message=message,
            reason=live.kill_reason,
            ran_ms=round((time.monotonic() - live.started) * 1000),
            peak_memory_bytes=exited.peak_memory_bytes,
            cpu_time_ms=exited.cpu_time_ms,
            stderr_tail="\n".join(live.stderr_tail),
        )
        status = await self.store.arun(
            scheduling.record_exit,
            self.owner,
            *live.work.key,
            exit,
            backoff=self._backoff,
            timeout_s=limits.timeout_s,
        )
        log.info("%s/%s: %s -> %s", *live.work.key, message, status)
        if self.on_ended is not None and status in TERMINAL:
            await self.on_ended(*live.work.key)
        # Its output is stored and its end recorded; removing its files is disk work,
        # kept off the event loop (a burst of exits stalled every launch behind it).
        await asyncio.to_thread(live.handle.discard)
