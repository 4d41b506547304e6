"""The checkpoint path, measured beside DBOS and the physical floor in the same run.

    python benchmarks/durability.py [--items 1000] [--clients 32] [--seconds 3]
                                    [--skip-dbos] [--skip-postgres]

Rows (``rows()`` returns them as dicts ``{work, runtara, dbos, floor}``, seconds unless
the row says otherwise, so ``benchmarks/`` can print one combined table):

* **checkpoints/s, N clients, PostgreSQL** -- N concurrent instances each saving small
  states through ``runtara server`` (group commit on PostgreSQL), against DBOS doing
  one ``@DBOS.step`` per checkpoint and the floor: N threads each doing a bare
  ``INSERT`` + ``COMMIT`` on their own connection (a rate: higher is better).
* **Split of cheap items, parallelism 1 / 8** -- a generated workflow whose Split runs
  one step without side effects per item (buffered checkpoints), as a process against
  ``runtara server`` on SQLite (interpreter start-up included); DBOS runs the same as one
  workflow with one ``@DBOS.step`` per item (start-up not included); the floor is one
  bare SQLite ``INSERT`` + ``COMMIT`` with fsync per item.
* **Split of HTTP calls of 20 ms, parallelism 1 / 8** -- each item one HTTP request to a
  local server that answers after 20 ms; the floor is the ideal ``items * 20 ms / p``.
* **recovery at order k** -- a 1,000-item sequential Split (one HTTP call per item) is
  killed with SIGKILL when item k is called; the rerun's time from process start to
  the call of item k (its first new step), best of 3; the floor is the same at order 0. DBOS: a 1,000-step workflow killed at step k,
  then a new process launching DBOS, which recovers it; time to step k running again.

Everything is durable (SQLite WAL with synchronous=FULL; PostgreSQL synchronous_commit
on). The machine is shared: compare figures within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._printing import Row, print_table  # noqa: E402
from benchmarks.checkpoint import (  # noqa: E402
    CLIENT_PROCESSES,
    _dbos_run,
    _runtara_clients,
    bench_raw_postgres,
    runtara_server,
    wal_sqlite,
)
from tests.support.databases import postgres_schema_url  # noqa: E402
from tests.support.servers import environment  # noqa: E402

# -- checkpoints/s on PostgreSQL ---------------------------------------------------------


def postgres_rates(clients: int = 32, seconds: float = 3.0, dbos: bool = True) -> Row:
    """Checkpoints per second, ``clients`` at once, on PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="runtara-durability-") as tmp:
        work = Path(tmp)
        with postgres_schema_url() as url:
            raw = bench_raw_postgres(url, clients, seconds, 200)[1]
        with postgres_schema_url() as url, runtara_server(url, work) as server:
            per_process = max(1, clients // CLIENT_PROCESSES)
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(CLIENT_PROCESSES) as pool:
                warm = [(server, f"warm{p}", 1, 0.5) for p in range(CLIENT_PROCESSES)]
                pool.starmap(_runtara_clients, warm)
                runs = pool.starmap(
                    _runtara_clients,
                    [(server, f"many{p}", per_process, seconds) for p in range(CLIENT_PROCESSES)],
                )
            runtara_rate = sum(len(lat) for lat, _ in runs) / max(e for _, e in runs)
        dbos_rate = None
        if dbos:
            with postgres_schema_url() as url, ctx.Pool(1) as pool:
                data = pool.apply(_dbos_run, (url, clients, seconds, 200))
            many: list[float] = data["many"]  # type: ignore[assignment]
            elapsed: float = data["many_elapsed"]  # type: ignore[assignment]
            dbos_rate = len(many) / elapsed
    return {
        "work": f"checkpoints/s, {clients} clients, PostgreSQL (higher is better)",
        "runtara": runtara_rate,
        "dbos": dbos_rate,
        "floor": len(raw.latencies) / raw.elapsed,
        "unit": "/s",
    }


# -- workflows as processes against `runtara server` -----------------------------------------


def _agent(step_id: str, agent: str, capability: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "stepType": "Agent",
        "id": step_id,
        "agentId": agent,
        "capabilityId": capability,
        "inputMapping": inputs,
    }


def _split_workflow(item_step: dict[str, Any], parallelism: int) -> dict[str, Any]:
    finish = {
        "stepType": "Finish",
        "id": "item_done",
        "inputMapping": {"v": {"valueType": "reference", "value": "steps.work.outputs"}},
    }
    split = {
        "stepType": "Split",
        "id": "items",
        "config": {
            "value": {"valueType": "reference", "value": "data.items"},
            "parallelism": parallelism,
            "sequential": parallelism == 1,
            "variables": {"base": {"valueType": "reference", "value": "data.base"}},
        },
        "subgraph": {
            "entryPoint": "work",
            "steps": {"work": item_step, "item_done": finish},
            "executionPlan": [{"fromStep": "work", "toStep": "item_done"}],
        },
    }
    done = {
        "stepType": "Finish",
        "id": "done",
        "inputMapping": {"n": {"valueType": "reference", "value": "steps.items.outputs"}},
    }
    return {
        "name": "durability-bench",
        "entryPoint": "items",
        "steps": {"items": split, "done": done},
        "executionPlan": [{"fromStep": "items", "toStep": "done"}],
    }


CHEAP_ITEM = _agent(
    "work", "utils", "return-input", {"value": {"valueType": "reference", "value": "data"}}
)
HTTP_ITEM = {
    **_agent(
        "work",
        "http",
        "http-request",
        {
            "method": {"valueType": "immediate", "value": "POST"},
            "url": {"valueType": "template", "value": "{{ variables.base }}/work/{{ data }}"},
            "max_retries": {"valueType": "immediate", "value": 0},
        },
    ),
    "maxRetries": 0,
}


def _module(workflow: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wf.json").write_text(json.dumps(workflow))
    subprocess.run(
        [sys.executable, "-m", "runtara", "codegen", "wf.json", "-o", "wf.py"],
        cwd=folder,
        env=environment(),
        check=True,
        capture_output=True,
    )
    return folder / "wf.py"


def _start(module: Path, url: str, instance: str, data: Any) -> subprocess.Popen[bytes]:
    env = {
        **environment(),
        "RUNTARA_URL": url,
        "RUNTARA_INSTANCE_ID": instance,
        "RUNTARA_TENANT_ID": "bench",
        "RUNTARA_INPUT": json.dumps(data),
    }
    return subprocess.Popen(
        [sys.executable, str(module)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(process: subprocess.Popen[bytes]) -> None:
    _, err = process.communicate(timeout=3600)
    if process.returncode != 0:
        raise RuntimeError(f"workflow failed: {err.decode()[-2000:]}")


class _Work(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    delay = 0.0
    calls: dict[int, float] = {}
    block_at: int | None = None
    reached = threading.Event()

    def do_POST(self) -> None:
        item = int(self.path.rsplit("/", 1)[1])
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        cls = type(self)
        cls.calls.setdefault(item, time.perf_counter())
        if cls.block_at is not None and item >= cls.block_at:
            cls.reached.set()
            time.sleep(3600)  # the instance is killed meanwhile
        if cls.delay:
            time.sleep(cls.delay)
        body = json.dumps({"n": item}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    """The recovery rows kill instances mid-request: a reset connection is expected."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def work_server(delay: float = 0.0) -> Iterator[tuple[str, type[_Work]]]:
    handler = type("Work", (_Work,), {"delay": delay, "calls": {}, "reached": threading.Event()})
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _timed_split(module: Path, server: str, instance: str, items: int, base: str) -> float:
    began = time.perf_counter()
    _finish(_start(module, server, instance, {"items": list(range(items)), "base": base}))
    return time.perf_counter() - began


# -- Split of cheap items ----------------------------------------------------------------------


def sqlite_floor(path: Path, commits: int) -> float:
    """Seconds for ``commits`` bare INSERT + COMMIT (WAL, synchronous=FULL) in one process."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE floor (k INTEGER PRIMARY KEY, v BLOB)")
    began = time.perf_counter()
    for i in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO floor VALUES (?, ?)", (i, b'{"value":0}'))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def _dbos_items(system_url: str, items: int) -> float:
    """In a fresh process: one DBOS workflow, one ``@DBOS.step`` per item."""
    import logging

    from dbos import DBOS, DBOSConfig

    logging.getLogger("dbos").setLevel(logging.WARNING)
    config: DBOSConfig = {
        "name": "durability-bench",
        "system_database_url": system_url,
        "log_level": "WARNING",
    }
    DBOS(config=config)

    @DBOS.step()
    def work(value: int) -> int:
        return value

    @DBOS.workflow()
    def split(count: int) -> list[int]:
        return [work(i) for i in range(count)]

    DBOS.launch()
    began = time.perf_counter()
    split(items)
    elapsed = time.perf_counter() - began
    DBOS.destroy()
    return elapsed


def split_rows(items: int = 1000, dbos: bool = True, http: bool = True) -> list[Row]:
    """Split of ``items`` cheap items at parallelism 1 and 8; with ``http``, also the
    Split of HTTP items of 20 ms (``http_rows``), on the first call in this process."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="runtara-durability-") as tmp:
        work = Path(tmp)
        floor = sqlite_floor(work / "floor.db", items)
        dbos_seconds = None
        if dbos:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(1) as pool:
                url = f"sqlite:///{wal_sqlite(work / 'dbos.db')}"
                dbos_seconds = pool.apply(_dbos_items, (url, items))
        with runtara_server(f"sqlite:///{work / 'runtara.db'}", work) as server:
            for parallelism in (1, 8):
                module = _module(
                    _split_workflow(CHEAP_ITEM, parallelism), work / f"cheap{parallelism}"
                )
                seconds = _timed_split(module, server, f"cheap-{parallelism}", items, "")
                rows.append(
                    {
                        "work": f"Split, {items:,} cheap items, parallelism {parallelism}",
                        "runtara": seconds,
                        "dbos": dbos_seconds if parallelism == 1 else None,
                        "floor": floor,
                    }
                )
    if http and not _HTTP_ROWS:  # once per table, whatever the number of items
        rows += http_rows()
    return rows


_HTTP_ROWS: list[Row] = []


def http_rows(http_items: int = 200) -> list[Row]:
    """Split of ``http_items`` HTTP calls of 20 ms at parallelism 1 and 8 (measured on
    the first call in this process; later calls answer the same rows)."""
    if _HTTP_ROWS:
        return list(_HTTP_ROWS)
    with tempfile.TemporaryDirectory(prefix="runtara-durability-") as tmp:
        work = Path(tmp)
        with (
            runtara_server(f"sqlite:///{work / 'runtara.db'}", work) as server,
            work_server(delay=0.020) as (base, _),
        ):
            for parallelism in (1, 8):
                module = _module(
                    _split_workflow(HTTP_ITEM, parallelism), work / f"http{parallelism}"
                )
                seconds = _timed_split(module, server, f"http-{parallelism}", http_items, base)
                _HTTP_ROWS.append(
                    {
                        "work": f"Split, {http_items} HTTP calls of 20 ms, "
                        f"parallelism {parallelism} (floor: ideal)",
                        "runtara": seconds,
                        "dbos": None,
                        "floor": http_items * 0.020 / parallelism,
                    }
                )
    return list(_HTTP_ROWS)


# -- recovery ----------------------------------------------------------------------------------


def _runtara_recovery(server: str, module: Path, order: int, items: int, attempt: int = 0) -> float:
    data_base: dict[str, Any] = {"items": list(range(items))}
    name = f"recover-{order}-{attempt}"
    with work_server() as (base, handler):
        handler.block_at = order
        first = _start(module, server, name, {**data_base, "base": base})
        if not handler.reached.wait(600):
            first.kill()
            raise RuntimeError(f"the run never reached item {order}")
        first.send_signal(signal.SIGKILL)
        first.wait()
        handler.block_at = None
        handler.calls.pop(order, None)
        began = time.perf_counter()
        rerun = _start(module, server, name, {**data_base, "base": base})
        while order not in handler.calls:
            if rerun.poll() is not None:
                raise RuntimeError(f"rerun ended early: {rerun.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.001)
        elapsed = handler.calls[order] - began
        rerun.kill()  # the rest of the run is not measured
        rerun.wait()
    return elapsed


_DBOS_PROGRAM = """
import logging, sys, time
from dbos import DBOS
logging.getLogger("dbos").setLevel(logging.WARNING)
url, ledger, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
DBOS(config={"name": "durability-recovery", "system_database_url": url, "log_level": "WARNING"})

@DBOS.step()
def work(i: int) -> int:
    with open(ledger, "a") as f:
        f.write(f"{i} {time.time()}\\n")
    return i

@DBOS.workflow()
def chain(n: int) -> int:
    return sum(work(i) for i in range(n))

DBOS.launch()
if sys.argv[4] == "start":
    chain(count)
else:
    while True:  # recovery runs the pending workflow on its own threads
        time.sleep(0.01)
"""


def _ledger(path: Path) -> list[tuple[int, float]]:
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines()]
    return [(int(a), float(b)) for a, b in (line for line in lines if len(line) == 2)]


def _dbos_recovery(work: Path, order: int, items: int, attempt: int = 0) -> float:
    program = work / "dbos_recovery.py"
    program.write_text(_DBOS_PROGRAM)
    ledger = work / f"dbos-ledger-{order}-{attempt}.txt"
    url = f"sqlite:///{wal_sqlite(work / f'dbos-recovery-{order}-{attempt}.db')}"
    command = [sys.executable, str(program), url, str(ledger), str(items)]
    first = subprocess.Popen([*command, "start"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while len(_ledger(ledger)) < order:
        if first.poll() is not None:
            raise RuntimeError(f"DBOS run ended: {first.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.001)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = {i for i, _ in _ledger(ledger)}
    began_wall = time.time()
    rerun = subprocess.Popen(
        [*command, "recover"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while True:
            new = [t for i, t in _ledger(ledger) if i not in done]
            if new:
                return min(new) - began_wall
            if rerun.poll() is not None:
                raise RuntimeError(f"DBOS rerun ended: {rerun.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.001)
    finally:
        rerun.kill()
        rerun.wait()


def recovery_rows(
    orders: tuple[int, ...] = (100, 500, 900),
    items: int = 1000,
    dbos: bool = True,
    repeats: int = 3,
) -> list[Row]:
    """Time from a rerun's start to its first new step, best of ``repeats`` (start-up
    of a process on a shared machine varies by more than what is measured)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="runtara-durability-") as tmp:
        work = Path(tmp)
        with runtara_server(f"sqlite:///{work / 'runtara.db'}", work) as server:
            module = _module(_split_workflow(HTTP_ITEM, 1), work / "recovery")
            fresh = min(_runtara_recovery(server, module, 0, items, n) for n in range(repeats))
            for order in orders:
                runtara = min(
                    _runtara_recovery(server, module, order, items, n) for n in range(repeats)
                )
                other = (
                    min(_dbos_recovery(work, order, items, n) for n in range(repeats))
                    if dbos
                    else None
                )
                rows.append(
                    {
                        "work": f"recovery, kill -9 at order {order} of {items:,} -> first new "
                        f"step, best of {repeats} (floor: the same at order 0)",
                        "runtara": runtara,
                        "dbos": other,
                        "floor": fresh,
                    }
                )
    return rows


# -- all of it ---------------------------------------------------------------------------------


def rows(
    *,
    items: int = 1000,
    clients: int = 32,
    seconds: float = 3.0,
    dbos: bool = True,
    postgres: bool = True,
) -> list[Row]:
    """Every row of this file, as ``{work, runtara, dbos, floor}`` (seconds, or a rate
    when ``unit`` is ``/s``); None where a system has no figure."""
    out: list[Row] = []
    if postgres:
        out.append(postgres_rates(clients, seconds, dbos))
    out += split_rows(items, dbos)
    out += recovery_rows(dbos=dbos)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="items of the cheap Split")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--skip-dbos", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--only", choices=("postgres", "split", "recovery"), help="one group of rows"
    )
    args = parser.parse_args()
    dbos = not args.skip_dbos
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    selected: dict[str, Callable[[], list[Row]]] = {
        "postgres": lambda: [postgres_rates(args.clients, args.seconds, dbos)],
        "split": lambda: split_rows(args.items, dbos),
        "recovery": lambda: recovery_rows(dbos=dbos),
    }
    if args.only:
        table = selected[args.only]()
    else:
        table = rows(
            items=args.items,
            clients=args.clients,
            seconds=args.seconds,
            dbos=dbos,
            postgres=not args.skip_postgres,
        )
    print_table(table)


if __name__ == "__main__":
    main()
