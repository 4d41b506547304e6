"""Checkpoint round trip: Runtara vs DBOS steps vs a bare INSERT + COMMIT, on SQLite and PostgreSQL.

    python benchmarks/checkpoint.py [--seconds 3] [--clients 32] [--skip-postgres]

Each system saves small JSON states durably (fsync at every commit: SQLite WAL with
synchronous=FULL for all three, PostgreSQL with synchronous_commit=on):

* runtara  -- `runtara.sdk.Runtara.checkpoint` over HTTP to a `runtara server` process
              (keep-alive connection per client; group commit on SQLite);
* dbos     -- a DBOS 3.x workflow running one `@DBOS.step` per checkpoint, in-process;
* raw      -- the floor: one INSERT + COMMIT per checkpoint on a direct connection.

"1 client" runs checkpoints one after another; "N clients" runs N at once (threads
spread over 4 processes for Runtara, threads in one process for DBOS and raw).
Latency is per call; throughput is completed calls per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.databases import postgres_schema_url
from tests.support.servers import Server

STATE = {"index": 0, "order": "order-000000", "amount_cents": 12345, "note": "x" * 40}
CLIENT_PROCESSES = 4


@dataclass
class Result:
    system: str
    database: str
    clients: int
    latencies: list[float]
    elapsed: float

    @property
    def row(self) -> tuple[str, ...]:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = len(ordered) / self.elapsed
        return (
            self.system,
            self.database,
            str(self.clients),
            f"{p50:.3f}",
            f"{p99:.3f}",
            f"{rate:,.0f}",
        )


# -- shared driver: run `op` in `clients` threads for `seconds` (or `count` calls) -------------


def drive(
    op_factory: Callable[[int], Callable[[int], None]],
    clients: int,
    seconds: float,
    count: int | None = None,
) -> tuple[list[float], float]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(n: int) -> None:
        op = op_factory(n)
        own = latencies[n]
        barrier.wait()
        i = 0
        while (count is None and time.perf_counter() < stop_at[0]) or (
            count is not None and i < count
        ):
            began = time.perf_counter()
            op(i)
            own.append(time.perf_counter() - began)
            i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    return [x for own in latencies for x in own], time.perf_counter() - began


# -- runtara ----------------------------------------------------------------------------------


def _runtara_op(url: str, prefix: str) -> Callable[[int], Callable[[int], None]]:
    def factory(n: int) -> Callable[[int], None]:
        from runtara.sdk import Runtara

        rt = Runtara(f"{prefix}-{n}", "bench", url=url).register()
        state = dict(STATE)

        def op(i: int) -> None:
            state["index"] = i
            rt.checkpoint(f"step-{i}", state)

        return op

    return factory


def _runtara_clients(
    url: str, prefix: str, threads: int, seconds: float
) -> tuple[list[float], float]:
    return drive(_runtara_op(url, prefix), threads, seconds)


@contextmanager
def runtara_server(database_url: str, workdir: Path) -> Iterator[str]:
    server = Server(database_url, workdir / "data", server_id="bench", fast=False, cwd=workdir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def bench_runtara(
    database: str, database_url: str, workdir: Path, clients: int, seconds: float, count: int
) -> list[Result]:
    with runtara_server(database_url, workdir) as url:
        drive(_runtara_op(url, "warmup"), 1, 0, 300)
        lat, elapsed = drive(_runtara_op(url, "single"), 1, 0, count)
        results = [Result("runtara", database, 1, lat, elapsed)]
        per_process = max(1, clients // CLIENT_PROCESSES)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(CLIENT_PROCESSES) as pool:
            runs = pool.starmap(
                _runtara_clients,
                [(url, f"many{p}", per_process, seconds) for p in range(CLIENT_PROCESSES)],
            )
        results.append(
            Result(
                "runtara",
                database,
                per_process * CLIENT_PROCESSES,
                [x for lat, _ in runs for x in lat],
                max(e for _, e in runs),
            )
        )
        return results


# -- DBOS ------------------------------------------------------------------------------------


def _dbos_run(system_url: str, clients: int, seconds: float, count: int) -> dict[str, object]:
    """In a fresh process: DBOS is a process-wide singleton."""
    import logging

    from dbos import DBOS, DBOSConfig

    logging.getLogger("dbos").setLevel(logging.WARNING)
    config: DBOSConfig = {
        "name": "checkpoint-bench",
        "system_database_url": system_url,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    out: dict[str, list[float]] = {}

    @DBOS.step()
    def save(state: dict[str, object]) -> dict[str, object]:
        return state

    @DBOS.workflow()
    def loop(name: str, deadline: float, limit: int) -> None:
        own = out.setdefault(name, [])
        state = dict(STATE)
        i = 0
        while (limit and i < limit) or (not limit and time.perf_counter() < deadline):
            state["index"] = i
            began = time.perf_counter()
            save(state)
            own.append(time.perf_counter() - began)
            i += 1

    DBOS.launch()
    loop("warmup", 0, 200)
    began = time.perf_counter()
    loop("single", 0, count)
    single_elapsed = time.perf_counter() - began
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=loop, args=(f"many-{n}", deadline, 0)) for n in range(clients)
    ]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    many_elapsed = time.perf_counter() - began
    DBOS.destroy()
    many = [x for n in range(clients) for x in out[f"many-{n}"]]
    return {
        "single": out["single"],
        "single_elapsed": single_elapsed,
        "many": many,
        "many_elapsed": many_elapsed,
    }


def bench_dbos(
    database: str, system_url: str, clients: int, seconds: float, count: int
) -> list[Result]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        data = pool.apply(_dbos_run, (system_url, clients, seconds, count))
    return [
        Result("dbos", database, 1, data["single"], data["single_elapsed"]),  # type: ignore[arg-type]
        Result("dbos", database, clients, data["many"], data["many_elapsed"]),  # type: ignore[arg-type]
    ]


# -- raw floor ------------------------------------------------------------------------------


def bench_raw_sqlite(path: Path, clients: int, seconds: float, count: int) -> list[Result]:
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS floor (k TEXT PRIMARY KEY, v BLOB)")
    setup.close()
    body = json.dumps(STATE).encode()

    def factory(n: int) -> Callable[[int], None]:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute("PRAGMA synchronous=FULL")
        tag = uuid.uuid4().hex

        def op(i: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO floor VALUES (?, ?)", (f"{tag}-{i}", body))
            conn.execute("COMMIT")

        return op

    drive(factory, 1, 0, 300)
    lat1, e1 = drive(factory, 1, 0, count)
    latn, en = drive(factory, clients, seconds)
    return [Result("raw", "sqlite", 1, lat1, e1), Result("raw", "sqlite", clients, latn, en)]


def bench_raw_postgres(url: str, clients: int, seconds: float, count: int) -> list[Result]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS floor (k TEXT PRIMARY KEY, v BYTEA)")
    body = json.dumps(STATE).encode()

    def factory(n: int) -> Callable[[int], None]:
        conn = psycopg.connect(url)
        tag = uuid.uuid4().hex

        def op(i: int) -> None:
            conn.execute("INSERT INTO floor VALUES (%s, %s)", (f"{tag}-{i}", body))
            conn.commit()

        return op

    drive(factory, 1, 0, 300)
    lat1, e1 = drive(factory, 1, 0, count)
    latn, en = drive(factory, clients, seconds)
    return [
        Result("raw", "postgresql", 1, lat1, e1),
        Result("raw", "postgresql", clients, latn, en),
    ]


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def postgres_schema(name: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one system's run (``name`` only labels the call)."""
    with postgres_schema_url() as url:
        yield url


def fsync_p50(folder: Path, samples: int = 200) -> float:
    """Median fdatasync of a 4 KiB overwrite, in ms: the disk's durability floor right now."""
    path = folder / "fsync.probe"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"\0" * 4096 * 16)
        os.fsync(fd)
        times = []
        for i in range(samples):
            os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
            began = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - began)
    finally:
        os.close(fd)
    return statistics.median(times) * 1000


def again(results: list[Result]) -> list[Result]:
    """Label a repeated measurement."""
    for result in results:
        result.system += " (again)"
    return results


def wal_sqlite(path: Path) -> Path:
    """A SQLite file already in WAL mode (persistent), so DBOS runs WAL + FULL like the others."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each N-client run")
    parser.add_argument("--count", type=int, default=2000, help="checkpoints of each 1-client run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-dbos", action="store_true")
    args = parser.parse_args()

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="runtara-bench-") as tmp:
        work = Path(tmp)
        disk_before = fsync_p50(work)
        print("sqlite ...", file=sys.stderr)
        # The raw floor runs before and after the others: this VM's fsync cost drifts by
        # an order of magnitude within minutes, and a floor measured once can mislead.
        results += bench_raw_sqlite(work / "raw.db", args.clients, args.seconds, args.count)
        results += bench_runtara(
            "sqlite",
            f"sqlite:///{work / 'runtara.db'}",
            work,
            args.clients,
            args.seconds,
            args.count,
        )
        if not args.skip_dbos:
            dbos_db = wal_sqlite(work / "dbos.db")
            results += bench_dbos(
                "sqlite", f"sqlite:///{dbos_db}", args.clients, args.seconds, args.count
            )
        results += again(bench_raw_sqlite(work / "raw2.db", args.clients, args.seconds, args.count))
        if not args.skip_postgres:
            print("postgresql ...", file=sys.stderr)
            with postgres_schema("raw") as url:
                results += bench_raw_postgres(url, args.clients, args.seconds, args.count)
            with postgres_schema("runtara") as url:
                results += bench_runtara(
                    "postgresql", url, work, args.clients, args.seconds, args.count
                )
            if not args.skip_dbos:
                with postgres_schema("dbos") as url:
                    results += bench_dbos("postgresql", url, args.clients, args.seconds, args.count)
            with postgres_schema("raw") as url:
                results += again(bench_raw_postgres(url, args.clients, args.seconds, args.count))
        disk_after = fsync_p50(work)

    header = ("system", "database", "clients", "p50 ms", "p99 ms", "checkpoints/s")
    rows = [header] + [
        r.row for r in sorted(results, key=lambda r: (r.database != "sqlite", r.clients))
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"checkpoint round trip on {os.cpu_count()} CPUs (durable: fsync per commit)")
    print(
        f"disk fdatasync p50: {disk_before:.3f} ms before, {disk_after:.3f} ms after; "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews every row)"
    )
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.rjust(w) if i >= 2 else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
