"""How long the README's main job takes: ``runtara run examples/hello.json``.

    python benchmarks/run.py [--rounds 7]

Each round is a fresh process in a fresh directory (so the embedded runtime creates its
SQLite database, as on a first run), timed from start to exit: wall time, and CPU time
(user + system) of the command and its children (the instance process). Baselines:
an empty Python process and ``runtara --version`` (the CLI's own start-up). On a busy
machine wall time is mostly waiting for a core; the CPU column is the steadier one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "examples" / "hello.json"


def timed(command: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``command``, once per round, each in a new temp dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTARA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    walls, cpus = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as cwd:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    python = [sys.executable]
    cases = [
        ("python -c pass", [*python, "-c", "pass"]),
        ("runtara --version", [*python, "-m", "runtara", "--version"]),
        (
            "runtara run hello.json",
            [
                *python,
                "-m",
                "runtara",
                "run",
                str(HELLO),
                "--input",
                '{"name": "ada", "language": "fr"}',
            ],
        ),
    ]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {rounds} rounds")
    print(f"  {'':<26}{'wall min':>10}{'median':>9}{'cpu min':>10}{'median':>9}")
    for name, command in cases:
        walls, cpus = timed(command, rounds)
        print(
            f"  {name:<26}{min(walls):>9.2f}s{statistics.median(walls):>8.2f}s"
            f"{min(cpus):>9.2f}s{statistics.median(cpus):>8.2f}s"
        )


if __name__ == "__main__":
    main()
