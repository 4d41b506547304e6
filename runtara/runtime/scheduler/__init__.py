"""The scheduler: runs instances of images inside the server (see ``supervisor``)."""

from __future__ import annotations

from pathlib import Path

from runtara.runtime.runners.base import Runner
from runtara.runtime.runners.docker import DockerRunner
from runtara.runtime.runners.process import ProcessRunner
from runtara.runtime.scheduler.config import SchedulerConfig
from runtara.runtime.scheduler.supervisor import Scheduler
from runtara.runtime.store import Store

__all__ = ["Scheduler", "SchedulerConfig", "default_runners", "start_scheduler"]


def default_runners(config: SchedulerConfig) -> dict[str, Runner]:
    runners: list[Runner] = [
        ProcessRunner(Path(config.data_dir or ".data") / "instances"),
        DockerRunner(network=config.docker_network),
    ]
    return {runner.name: runner for runner in runners}


def start_scheduler(
    store: Store, instance_url: str, config: SchedulerConfig | None = None
) -> Scheduler | None:
    """Start the scheduler on the running event loop (None when it is turned off).

    ``config`` defaults to the environment's; read it early (``SchedulerConfig.from_env``)
    to report a bad setting before the server starts.
    """
    config = config or SchedulerConfig.from_env()
    if not config.enabled:
        return None
    database_file = getattr(store.db, "path", None)
    config = config.with_data_dir(Path(database_file) if database_file else None)
    config = config.with_server_id(config.instance_url or instance_url)
    scheduler = Scheduler(store, config, default_runners(config), instance_url)
    scheduler.start()
    return scheduler
