"""The scheduler: runs instances of images inside the server (see ``supervisor``)."""

from __future__ import annotations

import os
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
        ProcessRunner(Path(config.data_dir) / "instances"),
        DockerRunner(network=config.docker_network),
    ]
    return {runner.name: runner for runner in runners}


def start_scheduler(
    store: Store, instance_url: str, config: SchedulerConfig | None = None
) -> Scheduler | None:
    """Start the scheduler on the running event loop (None when it is turned off)."""
    if config is None:
        # Beside an SQLite database unless told otherwise: one directory holds a server.
        database_file = getattr(store.db, "path", None)
        default_dir = Path(database_file).parent if database_file else None
        config = SchedulerConfig.from_env(
            data_dir=None if os.environ.get("RUNTARA_DATA_DIR") else default_dir
        )
    if not config.enabled:
        return None
    scheduler = Scheduler(store, config, default_runners(config), instance_url)
    scheduler.start()
    return scheduler
