"""Starts and wake-ups at scale (issue 20 item 7), each beside its floor, in one run.

* starts/s through the API: ``POST /v1/instances`` from several client threads against a
  real ``runtara server --dev`` on SQLite that only answers the API
  (``RUNTARA_SCHEDULER=off``), so what is measured is the start itself. Floor: bare
  SQLite INSERT+COMMIT (WAL, ``synchronous=FULL``) in a loop, one row per commit.
* the due-time query among N sleeping instances (``scheduling.due_in_ms`` and one
  ``claim_due`` pass that finds nothing due), beside a primary-key lookup.
* wake-ups: M sleepers of a real image due in the same second, on a real server with
  the process runner; lateness of each ``launched`` event after the wake time, with
  the default settings and with the fork server (``RUNTARA_FORK_SERVER=on``) and room
  for M processes at once.

    python benchmarks/scale.py [--full]

Small sizes by default; ``--full`` uses the issue's (10,000 starts, 100,000 sleepers,
1,000 due together).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtara.client import Client  # noqa: E402
from runtara.runtime.store import images, open_store, scheduling  # noqa: E402
from runtara.runtime.store.database import Tx, now_ms  # noqa: E402
from tests.support.polling import wait_for  # noqa: E402
from tests.support.servers import Server  # noqa: E402

WORKER = ROOT / "tests" / "support" / "programs" / "worker.py"


@contextlib.contextmanager
def server(database_url: str, data_dir: Path, **env: str) -> Iterator[Server]:
    running = Server(database_url, data_dir, server_id="scale", fast=False, env=env).start()
    try:
        yield running
    finally:
        running.stop()


def rss_and_children(pid: int) -> tuple[float, int]:
    """(resident MiB, child processes) of ``pid``."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    children = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    children += 1
    return rss, children


def api_starts(count: int, clients: int) -> float:
    """Instance starts per second through the API (scheduler off: the starts alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/starts.db"
        with server(db, Path(tmp) / "data", RUNTARA_SCHEDULER="off") as running:
            url = running.url
            with Client(url, tenant="bench") as client:
                client.register_image("worker", command=[sys.executable, str(WORKER)])
            per_client = count // clients
            barrier = threading.Barrier(clients + 1)

            def run(n: int) -> None:
                with Client(url, tenant="bench") as client:
                    client.start_instance("worker", {"n": 0}, instance_id=f"warm-{n}")
                    barrier.wait()
                    for i in range(per_client):
                        client.start_instance("worker", {"n": i}, instance_id=f"s-{n}-{i}")

            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                futures = [pool.submit(run, n) for n in range(clients)]
                barrier.wait()
                started = time.perf_counter()
                for future in futures:
                    future.result()
                elapsed = time.perf_counter() - started
    return per_client * clients / elapsed


def sqlite_floor(count: int) -> float:
    """Bare INSERT+COMMIT per second (WAL, synchronous=FULL): the fsync floor."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        started = time.perf_counter()
        for i in range(count):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return count / elapsed


def _insert_sleepers(store: Any, count: int, wake: int, image_id: str | None = None) -> list[str]:
    """``count`` sleeping instances of ``image_id`` (a new inert image when None)."""
    from runtara.runtime.store import tenants

    def insert(tx: Tx) -> list[str]:
        tenants.ensure(tx, "bench")
        found = image_id or images.create_image(tx, "bench", "sleepy", "process", "true").id
        ids = [f"sleeper-{wake}-{n}" for n in range(count)]
        for instance_id in ids:
            tx.execute(
                "INSERT INTO instances (tenant_id, id, image_id, runner, status, input,"
                " created_at, updated_at, wake_at) VALUES (?, ?, ?, 'process', 'sleeping',"
                " ?, ?, ?, ?)",
                (
                    "bench",
                    instance_id,
                    found,
                    '{"items": 1, "effects": "/dev/null"}',
                    wake,
                    wake,
                    wake,
                ),
            )
        return ids

    return store.db.write(insert)


def best_ms(action: Any, rounds: int = 20) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def due_query(sleepers: int) -> dict[str, float]:
    """ms of the due-time query and of an empty claim among ``sleepers`` sleepers."""
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/due.db") as store:
        _insert_sleepers(store, sleepers, now_ms() + 3_600_000)
        first = f"sleeper-{now_ms()}-0"  # any id: the lookup finds nothing or one row
        return {
            "due_in_ms": best_ms(lambda: store.run(scheduling.due_in_ms)),
            "claim_due (none due)": best_ms(
                lambda: store.run(scheduling.claim_due, "b", lease_ms=1000, limit=64)
            ),
            "floor: one primary-key lookup": best_ms(
                lambda: store.db.read(
                    lambda tx: tx.one(
                        "SELECT status FROM instances WHERE tenant_id = ? AND id = ?",
                        ("bench", first),
                    )
                )
            ),
        }


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def wake_lateness(due: int, sleeping: int, **env: str) -> tuple[list[float], float, int]:
    """Lateness (ms) of each ``launched`` event after the shared wake time, when ``due``
    sleepers of a real image fall due together among ``sleeping`` others; and the
    server's RSS (MiB) and child processes with only the ``sleeping`` ones left."""
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/wake.db"
        with (
            server(db, Path(tmp) / "data", RUNTARA_POLL_SECONDS="0.2") as running,
            Client(running.url, tenant="bench") as client,
        ):
            image = client.register_image("worker", command=[sys.executable, str(WORKER)])
            with open_store(db) as store:
                _insert_sleepers(store, sleeping, now_ms() + 3_600_000, image["id"])
                wake = now_ms() + 3_000
                ids = _insert_sleepers(store, due, wake, image["id"])
            wait_for(
                lambda: all(
                    client.get_instance(i)["status"] in ("completed", "failed") for i in ids
                ),
                max(60.0, due * 0.5),
                interval=0.5,
                what="every due sleeper to run",
            )
            lateness = [
                _ms(client.list_events(i, event_type="launched")[0]["created_at"]) - wake
                for i in ids
            ]
            time.sleep(1)  # a few scheduler passes over the sleepers
            assert running.process is not None
            rss, children = rss_and_children(running.process.pid)
            return lateness, rss, children


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def rows(full: bool = False) -> list[dict[str, Any]]:
    """Rows ``{work, runtara, dbos, floor, unit}`` for ``benchmarks/table.py``."""
    starts, clients = (10_000, 8) if full else (1_000, 8)
    sleepers = 100_000 if full else 10_000
    due, sleeping = (1_000, 100_000) if full else (100, 10_000)
    rate = api_starts(starts, clients)
    floor = sqlite_floor(min(starts, 2_000))
    query = due_query(sleepers)
    lateness, rss, children = wake_lateness(due, sleeping)
    warm, _, _ = wake_lateness(
        due, sleeping, RUNTARA_FORK_SERVER="on", RUNTARA_MAX_PROCESSES=str(max(256, due))
    )
    return [
        {
            "work": f"starting instances through the API ({starts:,} by {clients} clients;"
            " floor: bare INSERT+COMMIT)",
            "runtara": rate,
            "dbos": None,
            "floor": floor,
            "unit": "/s",
        },
        {
            "work": f"due-time query among {sleepers:,} sleepers (floor: a primary-key read)",
            "runtara": query["due_in_ms"],
            "dbos": None,
            "floor": query["floor: one primary-key lookup"],
            "unit": "ms",
        },
        {
            "work": f"a claim pass finding nothing due among {sleepers:,} sleepers",
            "runtara": query["claim_due (none due)"],
            "dbos": None,
            "floor": query["floor: one primary-key lookup"],
            "unit": "ms",
        },
        {
            "work": f"{due:,} sleepers due together among {sleeping:,}: launch lateness p50",
            "runtara": statistics.median(lateness) / 1000,
            "dbos": None,
            "floor": None,
        },
        {
            "work": f"{due:,} sleepers due together among {sleeping:,}: launch lateness p99",
            "runtara": percentile(lateness, 0.99) / 1000,
            "dbos": None,
            "floor": None,
        },
        {
            "work": f"the same, fork server on (RUNTARA_FORK_SERVER=on, max processes"
            f" {max(256, due)}): p50",
            "runtara": statistics.median(warm) / 1000,
            "dbos": None,
            "floor": None,
        },
        {
            "work": f"the same, fork server on (RUNTARA_FORK_SERVER=on, max processes"
            f" {max(256, due)}): p99",
            "runtara": percentile(warm, 0.99) / 1000,
            "dbos": None,
            "floor": None,
        },
        {
            "work": f"{sleeping:,} sleeping instances: server RSS and its processes",
            "runtara": f"{rss:.0f} MiB, {children} processes",
            "dbos": None,
            "floor": None,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes")
    args = parser.parse_args()
    from table import print_table

    print_table(rows(args.full))


if __name__ == "__main__":
    main()
