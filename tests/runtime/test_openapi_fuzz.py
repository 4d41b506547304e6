"""Schemathesis against the service's own OpenAPI: no input makes an endpoint fail with 5xx,
and every answer is documented (status, content type, schema): the instance protocol, the
management API and the environment's endpoints (images, start, logs, process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from runtara.runtime.embedded import EmbeddedRuntime

MINE = (
    r"^/(health|metrics|v1/instance/|v1/tenants|v1/connections"
    r"|v1/instances/\{instance_id\}(/(pause|resume|cancel|signals|events|checkpoints|output))?$"
    r"|v1/instances/\{instance_id\}/checkpoints/"
    r"|v1/(images|instances$|instances/\{instance_id\}/(logs|process)$))"
)


@pytest.fixture
def api_schema(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[schemathesis.schemas.BaseSchema]:
    # Fuzzed images are registered, never run: random programs stay unlaunched.
    monkeypatch.setenv("RUNTARA_SCHEDULER", "off")
    with EmbeddedRuntime(db_url, secret_key="fuzz") as runtime:
        yield schemathesis.openapi.from_url(f"{runtime.url}/openapi.json")


#: No 5xx; every status and content type an answer has is documented for its operation
#: (errors are ``application/problem+json``).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=MINE)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_service(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_every_operation_documents_its_problem_answers(db_url: str) -> None:
    import httpx

    with EmbeddedRuntime(db_url, secret_key="fuzz") as runtime:
        document = httpx.get(f"{runtime.url}/openapi.json", timeout=120).json()
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "404", "422"):
                answer = operation["responses"].get(status)
                assert answer, f"{method.upper()} {path} does not document {status}"
                assert list(answer["content"]) == ["application/problem+json"]
