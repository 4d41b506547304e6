"""Suite-wide rules: real services, opt-outs on a laptop, and no silent skips in CI."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.support.fixtures"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: marker -> environment variable that opts it out on a laptop (never in CI).
OPT_OUTS = {
    "postgres": "RUNTARA_SKIP_POSTGRES",
    "docker": "RUNTARA_SKIP_DOCKER",
    "native": "RUNTARA_SKIP_NATIVE",
    "sshd": "RUNTARA_SKIP_SSHD",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, env in OPT_OUTS.items():
            if item.get_closest_marker(marker) and os.environ.get(env) and not IN_CI:
                item.add_marker(pytest.mark.skip(reason=f"opted out with {env}=1"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skipped test is a failure: CI provides every service."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI=true (CI must provide everything): {reason}"
