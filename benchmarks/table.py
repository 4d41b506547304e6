"""Issue 20's table in one run: every row, Runtara beside DBOS and the floor, with ratios.

    python benchmarks/table.py            # small sizes, a few minutes
    python benchmarks/table.py --full     # the issue's sizes (long)
    python benchmarks/table.py --skip-dbos --skip-postgres

Rows, in the issue's order:

* ``runtara run`` of an N-step chain (one do-nothing Agent per step), end to end as a
  user runs it; DBOS: a fresh process running one workflow of N ``@DBOS.step`` calls on
  SQLite; floor: a fresh process doing N bare SQLite INSERT+COMMIT with fsync.
* Splits, PostgreSQL checkpoints/s and recovery: ``benchmarks/durability.py``'s
  ``rows()`` (issue 20 items 3-6), when that file is present.
* codegen of a LARGE-step workflow: validate + generate + compile to bytecode (the
  ``runtara run`` path); floor: ``json.loads`` of the document + compiling LARGE
  one-line functions.
* ``runtara run examples/hello.json``: median wall time of fresh processes; floor
  ``python -c pass``.
* starts through the API, the due-time query among sleepers, sleepers due together:
  ``benchmarks/scale.py``.

A number is seconds unless its row has ``unit`` ``/s`` (a rate: higher is better) or
``ms``. Everything runs on this machine at once with whatever else runs on it: compare
within one run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale  # noqa: E402

from benchmarks._printing import Row, print_table  # noqa: E402

_FLOOR_PROGRAM = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("CREATE TABLE floor (k INTEGER PRIMARY KEY, v BLOB)")
for i in range(int(sys.argv[2])):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO floor VALUES (?, ?)", (i, b'{"value":0}'))
    conn.execute("COMMIT")
"""

_DBOS_PROGRAM = """
import logging, sys
from dbos import DBOS
logging.getLogger("dbos").setLevel(logging.WARNING)
DBOS(config={"name": "table-chain", "system_database_url": sys.argv[1], "log_level": "WARNING"})

@DBOS.step()
def work(i: int) -> int:
    return i

@DBOS.workflow()
def chain(n: int) -> int:
    return sum(work(i) for i in range(n))

DBOS.launch()
chain(int(sys.argv[2]))
DBOS.destroy()
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _wall(command: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
    return elapsed


def _chain_document(steps: int) -> dict[str, Any]:
    return {
        "name": "chain",
        "entryPoint": "s0",
        "steps": {
            f"s{i}": {
                "stepType": "Agent",
                "id": f"s{i}",
                "agentId": "utils",
                "capabilityId": "do-nothing",
            }
            for i in range(steps)
        },
        "executionPlan": [{"fromStep": f"s{i}", "toStep": f"s{i + 1}"} for i in range(steps - 1)],
    }


def chain_row(steps: int, dbos: bool) -> Row:
    with tempfile.TemporaryDirectory(prefix="runtara-table-") as tmp:
        work = Path(tmp)
        (work / "chain.json").write_text(json.dumps(_chain_document(steps)))
        runtara = _wall([sys.executable, "-m", "runtara", "run", "chain.json"], work)
        (work / "floor.py").write_text(_FLOOR_PROGRAM)
        floor = _wall([sys.executable, "floor.py", str(work / "floor.db"), str(steps)], work)
        dbos_seconds = None
        if dbos:
            (work / "dbos_chain.py").write_text(_DBOS_PROGRAM)
            url = f"sqlite:///{work / 'dbos.db'}"
            dbos_seconds = _wall([sys.executable, "dbos_chain.py", url, str(steps)], work)
    return {
        "work": f"`runtara run`, {steps:,}-step chain (each a fresh process)",
        "runtara": runtara,
        "dbos": dbos_seconds,
        "floor": floor,
    }


def codegen_row(steps: int) -> Row:
    """validate + generate + compile (``runtara run``'s path) of a mixed workflow."""
    from codegen import mixed_workflow

    from runtara.compiler.codegen import generate
    from runtara.dsl.validation import validate

    document = mixed_workflow(steps)
    text = json.dumps(document)
    baseline_source = "".join(
        f"def f{i}(run, sc):\n    return g(run, sc, {i})\n" for i in range(steps)
    )
    with tempfile.TemporaryDirectory(prefix="runtara-table-") as tmp:
        path = Path(tmp) / "large.json"
        path.write_text(text)

        def ours() -> None:
            result = validate(path)
            assert result.workflow is not None and result.ok
            compile(generate(result.workflow), "<workflow>", "exec")

        def floor() -> None:
            json.loads(text)
            compile(baseline_source, "<baseline>", "exec")

        return {
            "work": f"validate + codegen + compile of a {steps:,}-step workflow",
            "runtara": _best(ours, 2),
            "dbos": None,
            "floor": _best(floor, 2),
        }


def _best(action: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return min(times)


def hello_row(rounds: int) -> Row:
    hello = ROOT / "examples" / "hello.json"
    ours, floor = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="runtara-table-") as tmp:
            ours.append(_wall([sys.executable, "-m", "runtara", "run", str(hello)], Path(tmp)))
            floor.append(_wall([sys.executable, "-c", "pass"], Path(tmp)))
    return {
        "work": f"`runtara run examples/hello.json` (median of {rounds})",
        "runtara": statistics.median(ours),
        "dbos": None,
        "floor": statistics.median(floor),
    }


def durability_rows(full: bool, dbos: bool, postgres: bool) -> list[Row]:
    """``benchmarks/durability.py``'s rows, when that file is present."""
    try:
        import durability
    except ImportError:
        return [
            {
                "work": f"{name} (benchmarks/durability.py not present)",
                "runtara": None,
                "dbos": None,
                "floor": None,
            }
            for name in ("Splits", "checkpoints/s, PostgreSQL", "recovery after kill -9")
        ]
    produce = durability.rows
    accepted = inspect.signature(produce).parameters
    options: dict[str, Any] = {"dbos": dbos, "postgres": postgres}
    if not full:
        options.update(items=200, seconds=1.0)
    options = {k: v for k, v in options.items() if k in accepted}
    found: list[Row] = []
    if full and "items" in accepted and hasattr(durability, "split_rows"):
        for items in (1_000, 10_000, 100_000):
            found += durability.split_rows(items, dbos)
        if postgres and hasattr(durability, "postgres_rates"):
            found.insert(0, durability.postgres_rates(32, 3.0, dbos))
        if hasattr(durability, "recovery_rows"):
            found += durability.recovery_rows(dbos=dbos)
        return found
    return list(produce(**options))


def scale_rows(full: bool) -> list[Row]:
    return scale.rows(full)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes")
    parser.add_argument("--skip-dbos", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    dbos, postgres = not args.skip_dbos, not args.skip_postgres
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    table: list[Row] = [chain_row(1_000 if args.full else 200, dbos)]
    table += durability_rows(args.full, dbos, postgres)
    table.append(codegen_row(10_000 if args.full else 2_500))
    table.append(hello_row(5))
    table += scale_rows(args.full)
    print_table(table)


if __name__ == "__main__":
    main()
