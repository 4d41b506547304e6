"""Connection types: the kinds of stored credentials a secure agent can receive.

A connection reaches a capability as ``_connection``:
``{"integration_id": "http_bearer", "parameters": {...}, "connection_subtype": ...}``.
Parameters flagged ``secret`` are encrypted at rest by the runtime service and masked by
``runtara.agents.redaction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtara.agents.errors import InputError
from runtara.agents.framework import InputSpec, connection_type

HTTP_AGENTS = ("http",)
BASE_URL = InputSpec("base_url", "string", description="Prefix for relative request URLs.")

http_bearer = connection_type(
    "http_bearer",
    name="HTTP bearer token",
    description="Sends `Authorization: Bearer <token>`.",
    agents=HTTP_AGENTS,
    parameters=(
        InputSpec("token", "string", required=True, secret=True, description="The bearer token."),
        BASE_URL,
    ),
)

http_api_key = connection_type(
    "http_api_key",
    name="HTTP API key",
    description="Sends the key in a request header (`X-API-Key` unless named otherwise).",
    agents=HTTP_AGENTS,
    parameters=(
        InputSpec("api_key", "string", required=True, secret=True, description="The API key."),
        InputSpec(
            "header_name",
            "string",
            default="X-API-Key",
            description="Header that carries the key.",
        ),
        BASE_URL,
    ),
)

http_basic = connection_type(
    "http_basic",
    name="HTTP basic auth",
    description="Sends `Authorization: Basic base64(username:password)`.",
    agents=HTTP_AGENTS,
    parameters=(
        InputSpec("username", "string", required=True, description="User name."),
        InputSpec("password", "string", required=True, secret=True, description="Password."),
        BASE_URL,
    ),
)

#: The connection type whose ``agents`` is empty: credentials for the runtime service
#: itself, never handed to an instance.
OCI_REGISTRY = "oci_registry"

oci_registry = connection_type(
    OCI_REGISTRY,
    name="OCI registry login",
    description=(
        "Credentials the runtime service uses to pull an image registered by reference "
        "(`images register --oci host/name:tag`) from that registry; never given to an instance."
    ),
    agents=(),
    parameters=(
        InputSpec(
            "registry",
            "string",
            required=True,
            description="Registry host (and port) as in image references, e.g. `registry.example.com:5000`.",
        ),
        InputSpec("username", "string", required=True, description="Registry user name."),
        InputSpec(
            "password", "string", required=True, secret=True, description="Password or token."
        ),
    ),
)

sftp = connection_type(
    "sftp",
    name="SFTP server",
    description="Password or private-key login; the server's host key is checked when given.",
    agents=("sftp",),
    parameters=(
        InputSpec("host", "string", required=True, description="Server host name or address."),
        InputSpec("port", "integer", default=22, description="Server port."),
        InputSpec("username", "string", required=True, description="Login name."),
        InputSpec("password", "string", secret=True, description="Password (if no key)."),
        InputSpec(
            "private_key",
            "string",
            secret=True,
            description="Private key in PEM/OpenSSH format; preferred over the password.",
        ),
        InputSpec("passphrase", "string", secret=True, description="Passphrase of the key."),
        InputSpec(
            "host_key",
            "string",
            description=(
                "Expected server host key, as a known_hosts line, `<type> <base64>`, or a "
                "`SHA256:` fingerprint. Without it any host key is accepted."
            ),
        ),
    ),
)


def connection_parameters(
    connection: Mapping[str, Any] | None, *, expected: tuple[str, ...], capability: str
) -> tuple[str, dict[str, Any]]:
    """Return ``(integration_id, parameters)`` of a connection, checking its type.

    Error messages name the integration and missing parameter, never a value.
    """
    if connection is None:
        raise InputError(f"{capability}: this capability needs a connection", field="_connection")
    if not isinstance(connection, Mapping):
        raise InputError(f"{capability}: _connection must be an object", field="_connection")
    integration = connection.get("integration_id") or connection.get("integrationId")
    params = connection.get("parameters")
    if not isinstance(params, Mapping):
        raise InputError(
            f"{capability}: _connection has no 'parameters' object", field="_connection"
        )
    if integration not in expected:
        raise InputError(
            f"{capability}: connection of type {integration!r} cannot be used here; "
            f"expected one of {', '.join(expected)}",
            field="_connection",
        )
    return str(integration), dict(params)
