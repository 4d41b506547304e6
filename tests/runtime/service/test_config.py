"""Scheduler settings: bad values stop `runtara server` with one line naming them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtara.runtime.scheduler import SchedulerConfig


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RUNTARA_LEASE_SECONDS", "soon", "RUNTARA_LEASE_SECONDS='soon': expected a number"),
        ("RUNTARA_POLL_SECONDS", "0", "RUNTARA_POLL_SECONDS=0.0: expected a positive number"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    name: str, value: str, message: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtara",
            "server",
            "--port",
            "0",
            "--database-url",
            f"sqlite:///{tmp_path / 'db.sqlite'}",
        ],
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTARA_SERVER_ID", "replica-1")
    monkeypatch.setenv("RUNTARA_SCHEDULER", "off")
    monkeypatch.setenv("RUNTARA_CANCEL_GRACE_SECONDS", "2.5")
    config = SchedulerConfig.from_env()
    assert (config.server_id, config.enabled, config.cancel_grace_s) == ("replica-1", False, 2.5)
    assert config.with_data_dir(Path("/srv/runtara/db.sqlite")).data_dir == Path("/srv/runtara")
