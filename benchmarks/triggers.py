"""Fire lateness: 1,000 schedules due in the same second, beside bare instance starts.

* schedule fires: 1,000 schedules all due at the same instant T; the server's real
  ticker loop (its clock, its sleeps, its batched ``fire_due`` transactions) fires
  them. Lateness of a fire = its instance's ``created_at`` - T (the nominal time).
* baseline, measured in the same run: the same 1,000 instances started with no
  schedule logic at all, ``create_instance`` in batches of the same size from a loop
  that wakes at T2. Lateness = ``created_at`` - T2.

The difference is what the trigger machinery adds (due query, timing, overlap check,
schedule update) over the inserts themselves. Launching the processes is not counted:
that is the instance scheduler's start latency (``benchmarks/environment.py``).

Run: ``python benchmarks/triggers.py [--schedules 1000] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtara.runtime.store import Store, images, instances, open_store  # noqa: E402
from runtara.runtime.store.database import Tx, now_ms  # noqa: E402
from runtara.runtime.triggers import schedules  # noqa: E402
from runtara.runtime.triggers.firing import Overlap  # noqa: E402
from runtara.runtime.triggers.ticker import BATCH, Ticker  # noqa: E402
from runtara.runtime.triggers.timing import Timing  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
LEAD_MS = 10_000  # schedules are created, then all fall due this long after


@contextlib.contextmanager
def database(dialect: str) -> Iterator[str]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _percentiles(values: list[int]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


def _created_at(store: Store, tenant: str, ids: list[str]) -> list[int]:
    def read(tx: Tx) -> list[int]:
        rows = tx.all("SELECT id, created_at FROM instances WHERE tenant_id = ?", (tenant,))
        wanted = set(ids)
        return [int(r["created_at"]) for r in rows if r["id"] in wanted]

    return store.db.read(read)


async def _sleep_until(moment_ms: int) -> None:
    await asyncio.sleep(max(0.0, (moment_ms - now_ms()) / 1000))


async def fires(store: Store, count: int) -> list[int]:
    """Lateness (ms) of ``count`` schedules due at the same instant, fired by a Ticker."""
    store.run(images.create_image, "bench", "job", "process", "true")
    due = (now_ms() // 1000 + 1) * 1000 + LEAD_MS
    timing = Timing(every_ms=3_600_000, start_ms=due)  # one fire at `due` in the run

    def create(tx: Tx, names: list[str]) -> None:
        for name in names:
            schedules.create_schedule(
                tx, "bench", name, "job", timing, now=now_ms(), overlap=Overlap.allow
            )

    names = [f"s{n:04d}" for n in range(count)]
    for start in range(0, count, BATCH):
        store.db.write(lambda tx, chunk=names[start : start + BATCH]: create(tx, chunk))
    if now_ms() > due - 1000:
        raise SystemExit("creating the schedules took longer than the lead time; raise LEAD_MS")
    await _sleep_until(due - 1000)  # created ahead; the ticker then idles until due
    ticker = Ticker(store, poll_s=0.2, grace_s=10)
    ticker.start()
    ids = [schedules.fire_id(name, due) for name in names]
    try:
        while len(created := _created_at(store, "bench", ids)) < count:
            await asyncio.sleep(0.05)
    finally:
        await ticker.stop()
    return [c - due for c in created]


async def bare_starts(store: Store, count: int) -> list[int]:
    """Lateness (ms) of ``count`` plain instance starts wanted at one instant."""
    store.run(images.create_image, "base", "job", "process", "true")
    image = store.run(images.resolve_image, "base", "job")
    wanted = (now_ms() // 1000 + 1) * 1000 + 1000
    ids = [f"b{n:04d}" for n in range(count)]
    await _sleep_until(wanted)

    def batch(tx: Tx, chunk: list[str]) -> None:
        for instance_id in chunk:
            instances.create_instance(
                tx, "base", instance_id, image_id=image.id, runner=image.runner
            )

    for start in range(0, count, BATCH):
        chunk = ids[start : start + BATCH]
        await store.db.awrite(lambda tx, chunk=chunk: batch(tx, chunk))
    return [c - wanted for c in _created_at(store, "base", ids)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    dialects = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    rows = []
    for dialect in dialects:
        with database(dialect) as url, open_store(url, secret_key="bench") as store:
            started = time.perf_counter()
            fired = asyncio.run(fires(store, args.schedules))
            rows.append((dialect, f"{args.schedules} schedule fires due at T", fired))
            base = asyncio.run(bare_starts(store, args.schedules))
            rows.append((dialect, f"{args.schedules} bare instance starts (baseline)", base))
            print(f"{dialect}: measured in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(f"{'store':<11} {'what':<42} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for dialect, what, lateness in rows:
        p50, p99, worst = _percentiles(lateness)
        print(f"{dialect:<11} {what:<42} {p50:>8.0f} {p99:>8.0f} {worst:>8.0f}")


if __name__ == "__main__":
    main()
