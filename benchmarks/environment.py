"""The environment's costs: start latency per runner, wake precision, memory of sleepers.

* start latency: ``POST /v1/instances`` -> the instance's first checkpoint is stored,
  for the process runner and the docker runner (container), beside the floor of
  starting the same Python program directly (``subprocess`` to its first line);
* wake precision: how late a durable sleep's process is started again after its
  wake time (``launched`` event - ``wake_at``);
* server memory: RSS of a real ``runtara server`` idle, and with 10,000 sleeping
  instances in its database (and how long one scheduler claim query takes then).

Run: ``python benchmarks/environment.py`` (``--no-docker`` without a Docker engine).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtara.client import Client  # noqa: E402
from runtara.runtime.store import open_store, scheduling  # noqa: E402
from runtara.runtime.store.database import now_ms  # noqa: E402
from tests.support.polling import wait_for  # noqa: E402
from tests.support.servers import Server  # noqa: E402

WORKER = ROOT / "tests" / "support" / "programs" / "worker.py"


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


@contextlib.contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[tuple[str, int]]:
    """A real ``runtara server --dev``; yields its URL and pid."""
    running = Server(
        database_url,
        data_dir,
        server_id="bench",
        fast=False,
        env={"RUNTARA_POLL_SECONDS": "0.1"},
    ).start()
    assert running.process is not None
    try:
        yield running.url, running.process.pid
    finally:
        running.stop()


def _wait(client: Client, instance_id: str, statuses: tuple[str, ...], timeout: float = 60) -> None:
    wait_for(
        lambda: client.get_instance(instance_id)["status"] in statuses,
        timeout,
        interval=0.02,
        what=f"{instance_id} to reach {statuses}",
    )


def start_latency(client: Client, image: str, runs: int, prefix: str) -> list[float]:
    found = []
    for n in range(runs):
        instance_id = f"{prefix}-{n}-{time.time_ns()}"
        started = time.time() * 1000
        client.start_instance(
            image, {"items": 1, "effects": "/tmp/runtara-bench-effects"}, instance_id=instance_id
        )
        _wait(client, instance_id, ("completed", "failed"))
        first = client.list_checkpoints(instance_id, limit=1)[0]
        found.append(_ms(first["created_at"]) - started)
    return found


def direct_start(runs: int) -> list[float]:
    """The floor: the same interpreter started directly, to its first line of output."""
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import runtara.sdk; print('x')"],
            capture_output=True,
            check=True,
        )
        found.append((time.perf_counter() - started) * 1000)
    return found


def docker_direct(image: str, runs: int) -> list[float]:
    """The floor for containers: ``docker run`` of the same image to its exit."""
    import docker

    engine = docker.from_env()
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.containers.run(
            image,
            ["python3", "-c", "import runtara.sdk; print('x')"],
            network_mode="host",
            remove=True,
        )
        found.append((time.perf_counter() - started) * 1000)
    return found


def wake_precision(client: Client, image: str, count: int, *, together: bool) -> list[float]:
    """Lateness of the relaunch after a 1 s sleep: one sleeper at a time, or ``count`` at once."""
    batches = [[f"wake-{n}-{time.time_ns()}" for n in range(count)]]
    if not together:
        batches = [[instance_id] for instance_id in batches[0]]
    lateness = []
    for ids in batches:
        for instance_id in ids:
            client.start_instance(
                image,
                {"items": 2, "effects": "/tmp/runtara-bench-effects", "sleep_at": 1, "sleep_s": 1},
                instance_id=instance_id,
            )
        for instance_id in ids:
            _wait(client, instance_id, ("completed", "failed"))
            sleeping = client.list_events(instance_id, event_type="sleeping")[0]
            woke = client.list_events(instance_id, event_type="launched")[1]
            lateness.append(_ms(woke["created_at"]) - sleeping["payload"]["wake_at"])
    return lateness


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def sleepers(database_url: str, count: int) -> float:
    """Insert ``count`` sleeping instances; answers one claim query's time (ms) among them."""
    with open_store(database_url) as store:

        def insert(tx: object) -> None:
            from runtara.runtime.store import images

            image = images.create_image(tx, "bench", "sleepy", "process", "true")  # type: ignore[arg-type]
            wake = now_ms() + 3_600_000
            for n in range(count):
                tx.execute(  # type: ignore[attr-defined]
                    "INSERT INTO instances (tenant_id, id, image_id, runner, status, input,"
                    " created_at, updated_at, wake_at) VALUES (?, ?, ?, 'process', 'sleeping',"
                    " '{}', ?, ?, ?)",
                    ("bench", f"sleeper-{n}", image.id, wake, wake, wake),
                )

        store.db.write(insert)  # type: ignore[arg-type]
        started = time.perf_counter()
        store.run(scheduling.claim_due, "bench", lease_ms=1000, limit=64)
        return (time.perf_counter() - started) * 1000


def row(name: str, values: list[float], unit: str = "ms") -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (
        f"{name:<42} {statistics.median(values):>9.1f} {p99:>9.1f} {max(values):>9.1f}"
        f"  {unit}  (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sleepers", type=int, default=10_000)
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        with server(db, Path(tmp) / "data") as (url, pid), Client(url, tenant="bench") as client:
            client.register_image("worker", command=[sys.executable, str(WORKER)])
            lines.append(
                row(
                    "start -> first checkpoint, process runner",
                    start_latency(client, "worker", args.runs, "p"),
                )
            )
            if not args.no_docker:
                from tests.support.docker_image import build_test_image

                base_image = build_test_image()
                client.register_image(
                    "cworker", command="python3 /app/worker.py", base_image=base_image
                )
                lines.append(
                    row(
                        "start -> first checkpoint, docker runner",
                        start_latency(client, "cworker", args.runs, "d"),
                    )
                )
            lines.append(row("baseline: python + SDK import, direct", direct_start(args.runs)))
            if not args.no_docker:
                lines.append(
                    row(
                        "baseline: docker run of the image, direct",
                        docker_direct(base_image, args.runs),
                    )
                )
            alone = wake_precision(client, "worker", 10, together=False)
            lines.append(row("wake lateness, one sleeper at a time", alone))
            together = wake_precision(client, "worker", 20, together=True)
            lines.append(row("wake lateness, 20 sleepers due together", together))
            idle_rss = rss_bytes(pid)
        claim_ms = sleepers(db, args.sleepers)
        with server(db, Path(tmp) / "data") as (url, pid):
            time.sleep(2)  # a few scheduler ticks over the sleepers
            loaded_rss = rss_bytes(pid)
    print(f"{'':<42} {'p50':>9} {'p99':>9} {'max':>9}")
    for line in lines:
        print(line)
    print(f"{'server RSS, idle (after the runs above)':<42} {idle_rss / 2**20:>9.1f} MiB")
    print(
        f"{f'server RSS, {args.sleepers:,} sleeping instances':<42} {loaded_rss / 2**20:>9.1f} MiB"
    )
    print(f"{f'claim query among {args.sleepers:,} sleepers':<42} {claim_ms:>9.2f} ms")


if __name__ == "__main__":
    main()
