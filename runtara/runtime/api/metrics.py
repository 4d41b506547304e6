"""``GET /metrics``: Prometheus text exposition of the runtime's own numbers.

Aggregates only (no tenant or instance labels): checkpoint saves by outcome, and
instances by status, counted in the store at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from runtara.runtime.status import Status
from runtara.runtime.store import Store
from runtara.runtime.store.database import Tx, read_op

router = APIRouter(tags=["service"])


@read_op
def count_by_status(tx: Tx) -> dict[str, int]:
    rows = tx.all("SELECT status, COUNT(*) AS n FROM instances GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


class _InstancesByStatus(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("runtara_instances", "Instances by status.", labels=["status"])
        counts = self._store.run(count_by_status)
        for status in Status:
            gauge.add_metric([status.value], counts.get(status.value, 0))
        yield gauge


class Metrics:
    """One registry per app, so several apps (tests, embedded) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.checkpoints = Counter(
            "runtara_checkpoints",
            "Checkpoint save calls, by outcome (saved: new state; found: returned the stored one).",
            ["outcome"],
            registry=self.registry,
        )

    def watch_store(self, store: Store) -> None:
        self.registry.register(_InstancesByStatus(store))

    def watch_scheduler(self, passes: Callable[[], int | None]) -> None:
        """Export ``runtara_scheduler_passes_total`` (absent while no scheduler runs)."""
        self.registry.register(_SchedulerPasses(passes))


class _SchedulerPasses(Collector):
    def __init__(self, passes: Callable[[], int | None]) -> None:
        self._passes = passes

    def collect(self) -> Iterator[CounterMetricFamily]:
        value = self._passes()
        if value is not None:
            yield CounterMetricFamily(
                "runtara_scheduler_passes", "Scheduler claim passes completed.", value=value
            )


@router.get(
    "/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
def metrics(request: Request) -> Response:
    """Prometheus metrics (text format)."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
