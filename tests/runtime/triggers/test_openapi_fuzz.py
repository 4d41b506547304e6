"""Schemathesis against ``/v1/schedules`` and ``/v1/hooks``: no input makes them fail
with a 5xx, and documented answers match their schemas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from runtara.client import Client
from runtara.runtime.embedded import EmbeddedRuntime

MINE = r"^/v1/(schedules|hooks)"


@pytest.fixture
def api_schema(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[schemathesis.schemas.BaseSchema]:
    monkeypatch.setenv("RUNTARA_SCHEDULER", "off")
    with EmbeddedRuntime(db_url, secret_key="fuzz") as runtime:
        with Client(runtime.url) as client:  # something for the fuzzer to find
            client.register_image("job", command="true")
            client.create_schedule("s", "job", every="1h")
            client.create_hook("h", "job")
        yield schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=MINE)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_trigger_endpoints(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
