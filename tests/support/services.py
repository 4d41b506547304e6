"""Skipping for a missing service in one shape, so the run's summary line
(tests/conftest.py) can count it and name the command that provides it."""

from __future__ import annotations

from typing import NoReturn

import pytest

#: Every skip reason for a missing service starts with this.
MISSING = "missing service: "
#: The one command that installs and starts every service the suite talks to.
PROVIDER = "bash .ci/services.sh"


def skip_missing(service: str, why: str) -> NoReturn:
    """Skip this test: ``service`` (as the summary names it) is unusable, because ``why``."""
    pytest.skip(f"{MISSING}{service}: {why}")
