"""Schemathesis against the service's own OpenAPI: no input makes an endpoint fail with 5xx,
and documented answers match their schemas (instance protocol and management API)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from runtara.runtime.embedded import EmbeddedRuntime

MINE = (
    r"^/(health|metrics|v1/instance/|v1/tenants|v1/connections"
    r"|v1/instances/\{instance_id\}(/(pause|resume|cancel|signals|events|checkpoints|output))?$"
    r"|v1/instances/\{instance_id\}/checkpoints/)"
)


@pytest.fixture
def api_schema(db_url: str) -> Iterator[schemathesis.schemas.BaseSchema]:
    with EmbeddedRuntime(db_url, secret_key="fuzz") as runtime:
        yield schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=MINE)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_service(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
