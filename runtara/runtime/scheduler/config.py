"""Scheduler settings: ``RUNTARA_*`` environment variables, then defaults."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runtara.runtime.runners import environment


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a number") from None


@dataclass(frozen=True)
class SchedulerConfig:
    """How this server runs instances. Times are in seconds."""

    #: Off: this server only answers the API (``RUNTARA_SCHEDULER=off``).
    enabled: bool = True
    #: Names this server's leases (``RUNTARA_SERVER_ID``); default: host name and port.
    #: Stable across restarts of one server, which then takes back its own leases (and
    #: adopts their live processes) at once rather than after they expire.
    server_id: str | None = None
    #: Work directories of instances (their output files) live under here; None:
    #: beside an SQLite database, else ``.data`` (``RUNTARA_DATA_DIR``).
    data_dir: Path | None = None
    #: The runtime URL given to instances; default: where this server listens.
    instance_url: str | None = None
    lease_s: float = 15.0
    poll_s: float = 0.2
    #: A running instance silent this long (no checkpoint, heartbeat) is killed and restarted.
    heartbeat_timeout_s: float = 120.0
    #: A cancelled instance still running after this long is stopped.
    cancel_grace_s: float = 10.0
    restart_backoff_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    #: At most this many instance processes at once on this server.
    max_processes: int = 256
    #: Output lines stored per launch; the rest is cut (a runaway print must not fill
    #: the store).
    max_log_lines: int = 100_000
    #: Docker network of containers; ``host`` reaches a runtime on 127.0.0.1.
    docker_network: str = "host"
    #: A schedule's fire this much older than now was missed (no server ran then) and
    #: follows its ``--catchup``; a younger one is merely late and starts.
    schedule_grace_s: float = 10.0

    def __post_init__(self) -> None:
        if self.data_dir is not None and not self.data_dir.is_absolute():
            # Resolved once, here: an instance's working folder is not the server's.
            object.__setattr__(self, "data_dir", self.data_dir.absolute())
        positive = {
            "RUNTARA_LEASE_SECONDS": self.lease_s,
            "RUNTARA_POLL_SECONDS": self.poll_s,
            "RUNTARA_HEARTBEAT_TIMEOUT_SECONDS": self.heartbeat_timeout_s,
            "RUNTARA_RESTART_BACKOFF_SECONDS": self.restart_backoff_s,
            "RUNTARA_RESTART_BACKOFF_MAX_SECONDS": self.restart_backoff_max_s,
            "RUNTARA_MAX_PROCESSES": self.max_processes,
            "RUNTARA_MAX_LOG_LINES": self.max_log_lines,
            "RUNTARA_SCHEDULE_GRACE_SECONDS": self.schedule_grace_s,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name}={value}: expected a positive number")
        if self.cancel_grace_s < 0:
            raise ValueError(f"RUNTARA_CANCEL_GRACE_SECONDS={self.cancel_grace_s}: expected >= 0")

    @classmethod
    def from_env(cls, **overrides: Any) -> SchedulerConfig:
        env = os.environ
        defaults = cls()
        config = cls(
            enabled=env.get("RUNTARA_SCHEDULER", "on").lower() not in ("0", "off", "false", "no"),
            server_id=env.get("RUNTARA_SERVER_ID") or None,
            data_dir=Path(env["RUNTARA_DATA_DIR"]) if env.get("RUNTARA_DATA_DIR") else None,
            instance_url=env.get("RUNTARA_INSTANCE_URL") or None,
            lease_s=_float("RUNTARA_LEASE_SECONDS", defaults.lease_s),
            poll_s=_float("RUNTARA_POLL_SECONDS", defaults.poll_s),
            heartbeat_timeout_s=_float(
                "RUNTARA_HEARTBEAT_TIMEOUT_SECONDS", defaults.heartbeat_timeout_s
            ),
            cancel_grace_s=_float("RUNTARA_CANCEL_GRACE_SECONDS", defaults.cancel_grace_s),
            restart_backoff_s=_float("RUNTARA_RESTART_BACKOFF_SECONDS", defaults.restart_backoff_s),
            restart_backoff_max_s=_float(
                "RUNTARA_RESTART_BACKOFF_MAX_SECONDS", defaults.restart_backoff_max_s
            ),
            max_processes=int(_float("RUNTARA_MAX_PROCESSES", defaults.max_processes)),
            max_log_lines=int(_float("RUNTARA_MAX_LOG_LINES", defaults.max_log_lines)),
            docker_network=env.get("RUNTARA_DOCKER_NETWORK") or defaults.docker_network,
            schedule_grace_s=_float("RUNTARA_SCHEDULE_GRACE_SECONDS", defaults.schedule_grace_s),
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})

    def with_server_id(self, instance_url: str) -> SchedulerConfig:
        """The server id made definite: this host and the port it serves on."""
        if self.server_id:
            return self
        port = urlsplit(instance_url).port
        return replace(self, server_id=f"{socket.gethostname()}:{port}")

    def with_data_dir(self, database_file: Path | None) -> SchedulerConfig:
        """The data directory made definite (one directory holds a SQLite server)."""
        if self.data_dir is not None:
            return self
        return replace(
            self, data_dir=(database_file.parent if database_file else Path(".data")).absolute()
        )

    def instance_environment(self) -> dict[str, str]:
        """What an instance inherits from this server's environment (an allow-list)."""
        return environment.from_server()
