"""Suite-wide rules: real services, a skip with one line when one is missing on a laptop,
one summary line naming what was skipped and what provides it, no skips in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from functools import cache

import pytest

from tests.support.services import MISSING, PROVIDER

pytest_plugins = ["tests.support.fixtures"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: marker -> environment variable that opts it out on a laptop (never in CI).
OPT_OUTS = {
    "postgres": "RUNTARA_SKIP_POSTGRES",
    "docker": "RUNTARA_SKIP_DOCKER",
    "native": "RUNTARA_SKIP_NATIVE",
    "sshd": "RUNTARA_SKIP_SSHD",
}
#: marker -> the service's name in skip reasons and the summary.
SERVICES = {
    "postgres": "PostgreSQL",
    "docker": "Docker",
    "native": "native toolchain",
    "sshd": "sshd",
}


def _postgres() -> str | None:
    import psycopg

    from tests.support.databases import POSTGRES_URL

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL at {POSTGRES_URL} ({first})"
    return None


def _docker() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info did not answer ({exc})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return f"no Docker engine answers ({last})"
    return None


def _sshd() -> str | None:
    from tests.support.sshd import SSHD

    return None if os.access(SSHD, os.X_OK) else f"no {SSHD}"


def _native() -> str | None:
    from runtara.compiler.native.toolchain import MissingToolError, find_toolchain

    try:
        find_toolchain()
    except MissingToolError as exc:
        return str(exc)
    return None


PROBES: dict[str, Callable[[], str | None]] = {
    "postgres": _postgres,
    "docker": _docker,
    "native": _native,
    "sshd": _sshd,
}


@cache
def missing(marker: str) -> str | None:
    """Why the service behind ``marker`` is unusable here, or None (probed once)."""
    return PROBES[marker]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, env in OPT_OUTS.items():
            if not item.get_closest_marker(marker):
                continue
            if os.environ.get(env) and not IN_CI:
                item.add_marker(pytest.mark.skip(reason=f"opted out with {env}=1"))
            elif (why := missing(marker)) is not None:
                item.add_marker(pytest.mark.skip(reason=f"{MISSING}{SERVICES[marker]}: {why}"))
                break


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skipped test is a failure: CI provides every service."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (CI must provide everything): {_reason(report)}"


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line: how many tests were skipped for which missing service, and the fix."""
    counts: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = _reason(report)
        if reason.startswith(MISSING):
            counts[reason.removeprefix(MISSING).split(":", 1)[0]] += 1
    if counts:
        named = ", ".join(f"{service} ({n})" for service, n in counts.most_common())
        terminalreporter.write_line(
            f"skipped {sum(counts.values())} test(s) for missing services: {named}; "
            f"`{PROVIDER}` provides them"
        )
